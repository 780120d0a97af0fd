"""The ledger's pure core: accounts, transfers, result codes, and the rules that decide them.

No I/O here. `decide` applies a batch of transfers, in order, to the state the database locked
for it, and predicts every result and every timestamp; the database then inserts the accepted
transfers and enforces the same invariants again (migrations/0001_ledger.sql), so a bug here
fails a batch rather than corrupting money.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from onebudget.shared.money import PENCE_MAX

# A single transfer may not exceed £10bn: a million of them still fit a bigint balance. The one
# bound of every amount, in every API too (shared/money.py, checked by shared.validation).
AMOUNT_MAX = PENCE_MAX
BALANCE_MAX = 2**63 - 1
TIMEOUT_S_MAX = 366 * 24 * 3600
US_PER_S = 1_000_000
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")
_KIND = re.compile(r"^[a-z][a-z_]{0,39}\Z")


@functools.lru_cache(maxsize=1024)
def _code_valid(code: str) -> bool:
    """Reason codes come from a small vocabulary; the cache spares a regex per transfer."""
    return _CODE.match(code) is not None


class FundingStream(enum.StrEnum):
    """The colour of money, fixed for an account's life."""

    NHS = "NHS"
    COUNCIL = "COUNCIL"
    CLIENT = "CLIENT"


# Invariant 7: the only (debit kind, stream) -> (credit kind, stream) routes a `funding`
# transfer may take. Mirrors ledger.funding_routes, which the database enforces.
FUNDING_ROUTES: frozenset[tuple[str, FundingStream, str, FundingStream]] = frozenset(
    {
        ("allocation", FundingStream.NHS, "ring_fence", FundingStream.NHS),
        ("ring_fence", FundingStream.NHS, "allocation", FundingStream.NHS),
        ("ring_fence", FundingStream.NHS, "budget", FundingStream.NHS),
        ("budget", FundingStream.NHS, "ring_fence", FundingStream.NHS),
        # The PHB target is a floor (issue 13): past the ring-fences, the general NHS allocation
        # funds budgets and takes its money back (ledger migration 0010).
        ("allocation", FundingStream.NHS, "budget", FundingStream.NHS),
        ("budget", FundingStream.NHS, "allocation", FundingStream.NHS),
        ("allocation", FundingStream.COUNCIL, "budget", FundingStream.COUNCIL),
        ("budget", FundingStream.COUNCIL, "allocation", FundingStream.COUNCIL),
        ("contribution", FundingStream.CLIENT, "budget", FundingStream.CLIENT),
        ("budget", FundingStream.CLIENT, "contribution", FundingStream.CLIENT),
        ("allocation", FundingStream.NHS, "pooled_fund", FundingStream.COUNCIL),
        ("pooled_fund", FundingStream.COUNCIL, "allocation", FundingStream.NHS),
    }
)


# Kinds whose money moves only along funding routes: a ring-fence funds PHB budgets and takes
# reclaims back, and nothing else may drain it (issue 5). Mirrors ledger.funding_only_kinds.
FUNDING_ONLY_KINDS: frozenset[str] = frozenset({"ring_fence"})


class CreateAccountResult(enum.StrEnum):
    OK = "ok"
    EXISTS = "exists"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    KIND_INVALID = "kind_invalid"
    OWNER_INVALID = "owner_invalid"
    FINANCIAL_YEAR_INVALID = "financial_year_invalid"


class CreateTransferResult(enum.StrEnum):
    """One value per reason a transfer is refused; values are stable and never renamed."""

    OK = "ok"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    EXISTS = "exists"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    TIMEOUT_MUST_NOT_BE_NEGATIVE = "timeout_must_not_be_negative"
    TIMEOUT_EXCEEDS_MAXIMUM = "timeout_exceeds_maximum"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    REASON_INVALID = "reason_invalid"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    AMOUNT_EXCEEDS_MAXIMUM = "amount_exceeds_maximum"
    PENDING_ID_MUST_NOT_BE_SET = "pending_id_must_not_be_set"
    PENDING_ID_REQUIRED = "pending_id_required"
    ACCOUNT_NOT_FOUND = "account_not_found"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    FUNDING_STREAMS_MUST_MATCH = "funding_streams_must_match"
    FUNDING_ROUTE_NOT_ALLOWED = "funding_route_not_allowed"
    FUNDING_ONLY_ACCOUNT = "funding_only_account"
    REVERSED_TRANSFER_NOT_FOUND = "reversed_transfer_not_found"
    REVERSED_TRANSFER_NOT_POSTED = "reversed_transfer_not_posted"
    REVERSAL_ACCOUNTS_MUST_BE_SWAPPED = "reversal_accounts_must_be_swapped"
    REVERSAL_EXCEEDS_ORIGINAL = "reversal_exceeds_original"
    EXCEEDS_AVAILABLE_BALANCE = "exceeds_available_balance"
    EXCEEDS_DEBITS = "exceeds_debits"
    OVERFLOWS_BALANCE = "overflows_balance"
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS = "pending_transfer_has_different_accounts"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    POST_EXCEEDS_PENDING_AMOUNT = "post_exceeds_pending_amount"
    VOID_AMOUNT_MUST_MATCH_PENDING = "void_amount_must_match_pending"


R = CreateTransferResult


@dataclass(frozen=True, slots=True)
class Account:
    id: UUID
    kind: str
    owner: str
    funding_stream: FundingStream
    financial_year: int | None = None
    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False


@dataclass(frozen=True, slots=True)
class Balance:
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def available(self) -> int:
        """What a debit may still draw: pending debits already count against it."""
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(frozen=True, slots=True)
class AccountRecord:
    account: Account
    balance: Balance


@dataclass(frozen=True, slots=True)
class Transfer:
    """A request. For post/void, accounts may be None (taken from the pending transfer) and
    amount 0 means the full pending amount."""

    id: UUID
    debit_account_id: UUID | None
    credit_account_id: UUID | None
    amount: int
    reason: str
    budget_ref: str | None = None
    plan_line_ref: str | None = None
    payment_ref: str | None = None
    pending: bool = False
    post_pending: bool = False
    void_pending: bool = False
    linked: bool = False
    funding: bool = False
    pending_id: UUID | None = None
    reverses_id: UUID | None = None
    timeout_s: int = 0
    # Who makes it (shared/audit.actor_label); "" for the actor of the call or task in progress.
    # Kept beside the transfer (ledger.transfer_actors), outside its hash (ledger migration 0090).
    actor: str = ""

    @property
    def resolves(self) -> bool:
        return self.post_pending or self.void_pending


@dataclass(frozen=True, slots=True)
class StoredTransfer:
    """A transfer as the ledger holds it: accounts and amount resolved, timestamp assigned."""

    id: UUID
    debit_account_id: UUID
    credit_account_id: UUID
    amount: int
    reason: str
    budget_ref: str | None
    plan_line_ref: str | None
    payment_ref: str | None
    pending: bool
    post_pending: bool
    void_pending: bool
    expire_pending: bool
    linked: bool
    funding: bool
    pending_id: UUID | None
    reverses_id: UUID | None
    timeout_s: int
    expires_at: int | None
    ts: int


def validate_account(account: Account) -> CreateAccountResult:
    if account.debits_must_not_exceed_credits and account.credits_must_not_exceed_debits:
        return CreateAccountResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    if not _KIND.match(account.kind):
        return CreateAccountResult.KIND_INVALID
    if not 1 <= len(account.owner) <= 100:
        return CreateAccountResult.OWNER_INVALID
    if account.financial_year is not None and not 2000 <= account.financial_year <= 2100:
        return CreateAccountResult.FINANCIAL_YEAR_INVALID
    return CreateAccountResult.OK


def same_request(request: Transfer, stored: StoredTransfer) -> bool:
    """Does a retry carry the fields of the transfer already stored under its id?"""
    if request.debit_account_id not in (None, stored.debit_account_id) and request.resolves:
        return False
    if not request.resolves and (
        request.debit_account_id != stored.debit_account_id
        or request.credit_account_id != stored.credit_account_id
    ):
        return False
    if request.credit_account_id not in (None, stored.credit_account_id):
        return False
    if request.amount != stored.amount and not (request.resolves and request.amount == 0):
        return False
    return (
        request.reason,
        request.budget_ref,
        request.plan_line_ref,
        request.payment_ref,
        request.pending,
        request.post_pending,
        request.void_pending,
        request.linked,
        request.funding,
        request.pending_id,
        request.reverses_id,
        request.timeout_s,
    ) == (
        stored.reason,
        stored.budget_ref,
        stored.plan_line_ref,
        stored.payment_ref,
        stored.pending,
        stored.post_pending,
        stored.void_pending,
        stored.linked,
        stored.funding,
        stored.pending_id,
        stored.reverses_id,
        stored.timeout_s,
    )


_MISSING: Any = object()
V = TypeVar("V")


@dataclass
class LedgerState:
    """What the database locked for one batch, updated in memory as the batch is decided."""

    base_ts: int
    accounts: dict[UUID, tuple[Account, Balance]]
    transfers: dict[UUID, StoredTransfer]
    resolutions: dict[UUID, str]  # pending id -> "post" | "void" | "expire"
    reversed_amounts: dict[UUID, int]
    next_ts: int = 0
    journal: bool = False  # keep undo steps (only a linked chain can need them)
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.next_ts = self.next_ts or self.base_ts

    def _set(self, table: dict[UUID, V], key: UUID, value: V) -> None:
        if not self.journal:
            table[key] = value
            return
        old = table.get(key, _MISSING)

        def undo() -> None:
            if old is _MISSING:
                del table[key]
            else:
                table[key] = old

        self._undo.append(undo)
        table[key] = value

    def mark(self) -> tuple[int, int]:
        self.journal = True
        return len(self._undo), self.next_ts

    def rollback(self, mark: tuple[int, int]) -> None:
        depth, next_ts = mark
        while len(self._undo) > depth:
            self._undo.pop()()
        self.next_ts = next_ts

    def commit(self) -> None:
        self._undo.clear()
        self.journal = False

    def move(
        self, account_id: UUID, dpo: int = 0, cpo: int = 0, dpe: int = 0, cpe: int = 0
    ) -> None:
        """Add to the account's debits/credits posted/pending (plain ints: the hot path)."""
        account, b = self.accounts[account_id]
        moved = Balance(
            b.debits_posted + dpo,
            b.credits_posted + cpo,
            b.debits_pending + dpe,
            b.credits_pending + cpe,
        )
        self._set(self.accounts, account_id, (account, moved))

    def set_account(self, account_id: UUID, record: tuple[Account, Balance]) -> None:
        self._set(self.accounts, account_id, record)

    def store(self, transfer: StoredTransfer) -> None:
        self._set(self.transfers, transfer.id, transfer)
        if transfer.pending_id is not None:
            kind = "post" if transfer.post_pending else "void"
            if transfer.expire_pending:
                kind = "expire"
            self._set(self.resolutions, transfer.pending_id, kind)
        if transfer.reverses_id is not None:
            total = self.reversed_amounts.get(transfer.reverses_id, 0) + transfer.amount
            self._set(self.reversed_amounts, transfer.reverses_id, total)
        self.next_ts += 1


def _check_shape(t: Transfer) -> R | None:
    phases = t.pending + t.post_pending + t.void_pending
    if phases > 1 or (t.funding and t.resolves) or (t.reverses_id is not None and phases > 0):
        return R.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    if t.timeout_s < 0:
        return R.TIMEOUT_MUST_NOT_BE_NEGATIVE
    if t.timeout_s > TIMEOUT_S_MAX:
        return R.TIMEOUT_EXCEEDS_MAXIMUM
    if t.timeout_s > 0 and not t.pending:
        return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
    if not _code_valid(t.reason):
        return R.REASON_INVALID
    if t.amount < 0 or (t.amount == 0 and not t.resolves):
        return R.AMOUNT_MUST_BE_POSITIVE
    if t.amount > AMOUNT_MAX:
        return R.AMOUNT_EXCEEDS_MAXIMUM
    if t.resolves and t.pending_id is None:
        return R.PENDING_ID_REQUIRED
    if not t.resolves and t.pending_id is not None:
        return R.PENDING_ID_MUST_NOT_BE_SET
    return None


def _stored(
    t: Transfer, debit: UUID, credit: UUID, amount: int, state: LedgerState
) -> StoredTransfer:
    ts = state.next_ts
    return StoredTransfer(
        id=t.id,
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        reason=t.reason,
        budget_ref=t.budget_ref,
        plan_line_ref=t.plan_line_ref,
        payment_ref=t.payment_ref,
        pending=t.pending,
        post_pending=t.post_pending,
        void_pending=t.void_pending,
        expire_pending=False,
        linked=t.linked,
        funding=t.funding,
        pending_id=t.pending_id,
        reverses_id=t.reverses_id,
        timeout_s=t.timeout_s,
        expires_at=ts + t.timeout_s * US_PER_S if t.timeout_s > 0 else None,
        ts=ts,
    )


_RESOLVED = {
    "post": R.PENDING_TRANSFER_ALREADY_POSTED,
    "void": R.PENDING_TRANSFER_ALREADY_VOIDED,
    "expire": R.PENDING_TRANSFER_EXPIRED,
}


def _resolve(t: Transfer, state: LedgerState) -> R:
    assert t.pending_id is not None
    p = state.transfers.get(t.pending_id)
    if p is None:
        return R.PENDING_TRANSFER_NOT_FOUND
    if not p.pending:
        return R.PENDING_TRANSFER_NOT_PENDING
    if t.debit_account_id not in (None, p.debit_account_id) or t.credit_account_id not in (
        None,
        p.credit_account_id,
    ):
        return R.PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS
    resolved = state.resolutions.get(p.id)
    if resolved is not None:
        return _RESOLVED[resolved]
    if p.expires_at is not None and state.next_ts >= p.expires_at:
        return R.PENDING_TRANSFER_EXPIRED
    amount = t.amount or p.amount
    if t.post_pending and amount > p.amount:
        return R.POST_EXCEEDS_PENDING_AMOUNT
    if t.void_pending and amount != p.amount:
        return R.VOID_AMOUNT_MUST_MATCH_PENDING
    posted = amount if t.post_pending else 0
    state.move(p.debit_account_id, dpo=posted, dpe=-p.amount)
    state.move(p.credit_account_id, cpo=posted, cpe=-p.amount)
    state.store(_stored(t, p.debit_account_id, p.credit_account_id, amount, state))
    return R.OK


def _colour(t: Transfer, debit: Account, credit: Account) -> R | None:
    if not t.funding:
        if debit.funding_stream != credit.funding_stream:
            return R.FUNDING_STREAMS_MUST_MATCH
        if debit.kind in FUNDING_ONLY_KINDS or credit.kind in FUNDING_ONLY_KINDS:
            return R.FUNDING_ONLY_ACCOUNT
        return None
    route = (debit.kind, debit.funding_stream, credit.kind, credit.funding_stream)
    if route not in FUNDING_ROUTES:
        return R.FUNDING_ROUTE_NOT_ALLOWED
    return None


def _reversal(t: Transfer, state: LedgerState) -> R | None:
    if t.reverses_id is None:
        return None
    original = state.transfers.get(t.reverses_id)
    if original is None:
        return R.REVERSED_TRANSFER_NOT_FOUND
    if original.pending or original.void_pending or original.expire_pending:
        return R.REVERSED_TRANSFER_NOT_POSTED
    if (original.debit_account_id, original.credit_account_id) != (
        t.credit_account_id,
        t.debit_account_id,
    ):
        return R.REVERSAL_ACCOUNTS_MUST_BE_SWAPPED
    if t.amount > original.amount - state.reversed_amounts.get(original.id, 0):
        return R.REVERSAL_EXCEEDS_ORIGINAL
    return None


def _limits(
    t: Transfer, debit: tuple[Account, Balance], credit: tuple[Account, Balance]
) -> R | None:
    (d_acc, d_bal), (c_acc, c_bal) = debit, credit
    if d_acc.debits_must_not_exceed_credits and t.amount > d_bal.available:
        return R.EXCEEDS_AVAILABLE_BALANCE
    if c_acc.credits_must_not_exceed_debits and (
        c_bal.credits_posted + c_bal.credits_pending + t.amount > c_bal.debits_posted
    ):
        return R.EXCEEDS_DEBITS
    debits = d_bal.debits_posted + d_bal.debits_pending
    credits = c_bal.credits_posted + c_bal.credits_pending
    if max(debits, credits) > BALANCE_MAX - t.amount:
        return R.OVERFLOWS_BALANCE
    return None


def _move(t: Transfer, state: LedgerState) -> R:
    debit_id, credit_id = t.debit_account_id, t.credit_account_id
    if debit_id is None or credit_id is None:
        return R.ACCOUNT_NOT_FOUND
    if debit_id == credit_id:
        return R.ACCOUNTS_MUST_BE_DIFFERENT
    debit = state.accounts.get(debit_id)
    credit = state.accounts.get(credit_id)
    if debit is None or credit is None:
        return R.ACCOUNT_NOT_FOUND
    refused = _colour(t, debit[0], credit[0]) or _reversal(t, state) or _limits(t, debit, credit)
    if refused is not None:
        return refused
    # The balances move by the amount, pending or posted (spelled out: the hot path).
    (d_acc, d), (c_acc, c), amount = debit, credit, t.amount
    if t.pending:
        d = Balance(d.debits_posted, d.credits_posted, d.debits_pending + amount, d.credits_pending)
        c = Balance(c.debits_posted, c.credits_posted, c.debits_pending, c.credits_pending + amount)
    else:
        d = Balance(d.debits_posted + amount, d.credits_posted, d.debits_pending, d.credits_pending)
        c = Balance(c.debits_posted, c.credits_posted + amount, c.debits_pending, c.credits_pending)
    state.set_account(debit_id, (d_acc, d))
    state.set_account(credit_id, (c_acc, c))
    state.store(_stored(t, debit_id, credit_id, amount, state))
    return R.OK


def apply_one(t: Transfer, state: LedgerState) -> R:
    """Decide one transfer against `state`; on OK the state holds its effect."""
    existing = state.transfers.get(t.id)
    if existing is not None:
        return R.EXISTS if same_request(t, existing) else R.EXISTS_WITH_DIFFERENT_FIELDS
    refused = _check_shape(t)
    if refused is not None:
        return refused
    return _resolve(t, state) if t.resolves else _move(t, state)


def _chains(transfers: Sequence[Transfer]) -> list[range]:
    """Index ranges of the linked chains (a lone transfer is a chain of one)."""
    chains: list[range] = []
    start = 0
    for i, t in enumerate(transfers):
        if not t.linked:
            chains.append(range(start, i + 1))
            start = i + 1
    if start < len(transfers):
        chains.append(range(start, len(transfers)))
    return chains


def _decide_chain(group: Sequence[Transfer], chain: range, state: LedgerState) -> list[R]:
    if group[chain[-1]].linked:
        return [R.LINKED_EVENT_CHAIN_OPEN] * len(chain)
    if len(chain) == 1:
        # apply_one changes the state only once it has accepted: nothing to undo.
        return [apply_one(group[chain[0]], state)]
    mark = state.mark()
    results: list[R] = []
    for i in chain:
        results.append(apply_one(group[i], state))
        if results[-1] not in (R.OK, R.EXISTS):
            break
    if all(r is R.OK for r in results):
        state.commit()
        return results
    state.rollback(mark)
    state.commit()
    if len(results) == len(chain) and all(r is R.EXISTS for r in results):
        return results  # a retry of a whole chain that was applied: nothing moves
    failed = next(k for k, r in enumerate(results) if r is not R.OK)
    return [results[failed] if k == failed else R.LINKED_EVENT_FAILED for k in range(len(chain))]


def decide(
    groups: Sequence[Sequence[Transfer]], state: LedgerState
) -> tuple[list[list[R]], list[StoredTransfer]]:
    """Apply each group's transfers in order. A linked chain never spans two groups (two
    callers of the group committer). Returns the results and the transfers to insert, in
    timestamp order."""
    first_new_ts = state.next_ts
    results: list[list[R]] = []
    for group in groups:
        group_results: list[R] = []
        for chain in _chains(group):
            group_results += _decide_chain(group, chain, state)
        results.append(group_results)
    accepted = sorted(
        (t for t in state.transfers.values() if t.ts >= first_new_ts), key=lambda t: t.ts
    )
    assert [t.ts for t in accepted] == list(range(first_new_ts, state.next_ts))
    return results, accepted
