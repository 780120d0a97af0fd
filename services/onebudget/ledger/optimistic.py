"""Optimistic batches: decide from what this process last saw, let the database check it.

The locked path (`store.create_transfer_groups`) locks the chain head, reads the accounts,
decides in Python and inserts: the database idles while Python decides, and Python idles while
the database writes. A writer that keeps a `LedgerView` (the chain head and the balances it last
saw, updated by its own decisions) can decide a batch before it takes any lock, even while its
previous batch is still being written, and send it with its premises: the head it extends and
the balance of every account it names. `ledger.apply_batch` (migration 0005) compares them under
the locks and either applies the batch through the usual insert and triggers, or writes nothing
and answers False, and the caller decides again on the locked path. So a wrong view costs time,
never a wrong result: a transfer's result depends only on its accounts' balances and on whether
its id exists, and the database checks both.

    view = LedgerView()
    await view.load(conn, account_ids)        # unknown accounts and the head, without locks
    plan = plan_batch(view, groups)           # None: take the locked path
    if plan is not None and await apply_plan(conn, plan): results = plan.results
    else: view.forget(plan); results = await create_transfer_groups(conn, groups)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from onebudget.ledger.domain import (
    Account,
    Balance,
    CreateTransferResult,
    FundingStream,
    LedgerState,
    StoredTransfer,
    Transfer,
    decide,
)
from onebudget.ledger.store import chain_hashes, create_transfer_groups, transfer_actors
from onebudget.shared.metrics import note_ledger_transfers

ACCOUNT_COUNT_MAX = 100_000  # a view beyond this starts again empty (a bound on memory)
# After a refused plan the view declines to plan for a while (the locked path decides), four
# times longer with each refusal in a row: when another writer keeps moving the same accounts
# (a second replica), nearly every plan would be refused, and each refusal costs a wasted trip
# to the locks.
PAUSE_S_MIN = 0.1
PAUSE_S_MAX = 2.0

# Who made each transfer is recorded only when the batch applied (CASE evaluates lazily).
_APPLY = (
    "SELECT CASE WHEN ledger.apply_batch($1::bytea, $2::bigint, $3::uuid[], $4::bigint[],"
    " $5::bigint[], $6::bigint[], $7::bigint[], $8::uuid[], $9::uuid[], $10::uuid[],"
    " $11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bool[],"
    " $17::bool[], $18::bool[], $19::int[], $20::bytea[])"
    " THEN ledger.record_transfer_actors($8::uuid[], $21::text[]) ELSE false END"
)


def _now_us() -> int:
    return time.time_ns() // 1000


@dataclass
class LedgerView:
    """The chain head and account balances as this process last saw or made them."""

    accounts: dict[UUID, tuple[Account, Balance]] = field(default_factory=dict)
    head: tuple[int, bytes] | None = None  # (last ts, last hash)
    account_count_max: int = ACCOUNT_COUNT_MAX
    refused_in_a_row: int = 0
    paused_until: float = 0.0  # time.monotonic(); until then plan_batch declines

    def missing(self, groups: Sequence[Sequence[Transfer]]) -> list[UUID]:
        return [a for a in _named(groups) if a not in self.accounts]

    async def load(self, conn: asyncpg.Connection, account_ids: Iterable[UUID]) -> None:
        """Read the head (if unknown) and the accounts not yet seen, without locking."""
        ids = [a for a in account_ids if a not in self.accounts]
        if self.head is not None and not ids:
            return
        if len(self.accounts) + len(ids) > self.account_count_max:
            self.clear()
        rows = await conn.fetch("SELECT * FROM ledger.peek($1::uuid[])", ids)
        if self.head is None:
            self.head = (rows[0][0], bytes(rows[0][1]))
        for r in rows:
            if r[2] is not None:
                account = Account(r[2], r[3], "", FundingStream(r[4]), None, r[5], r[6])
                self.accounts[r[2]] = (account, Balance(r[7], r[8], r[9], r[10]))

    def forget(self, plan: Plan) -> None:
        """After a refused plan: drop the head and the plan's accounts, and pause planning."""
        self.forget_accounts(plan.balances_before)
        self.refused_in_a_row += 1
        pause = PAUSE_S_MIN * 4 ** min(self.refused_in_a_row - 1, 8)
        self.paused_until = time.monotonic() + min(pause, PAUSE_S_MAX)

    def paused(self) -> bool:
        """Declining to plan, after a refused plan (the locked path decides meanwhile)."""
        return time.monotonic() < self.paused_until

    def applied(self) -> None:
        """After a plan was written: its premises held, plan freely again."""
        self.refused_in_a_row = 0

    def forget_accounts(self, account_ids: Iterable[UUID]) -> None:
        """After these accounts moved elsewhere: drop them and the head."""
        self.head = None
        for account_id in account_ids:
            self.accounts.pop(account_id, None)

    def forget_groups(self, groups: Sequence[Sequence[Transfer]]) -> None:
        """After the locked path wrote these groups: drop the accounts they name and the head."""
        self.forget_accounts(_named(groups))

    def clear(self) -> None:
        self.head = None
        self.accounts.clear()


def _named(groups: Sequence[Sequence[Transfer]]) -> set[UUID]:
    """Every account the groups' transfers name (a resolution may name none)."""
    named = {a for g in groups for t in g for a in (t.debit_account_id, t.credit_account_id)}
    named.discard(None)
    return named  # type: ignore[return-value]


@dataclass(frozen=True)
class Plan:
    """A decided batch and the premises it was decided on."""

    results: list[list[CreateTransferResult]]
    accepted: list[StoredTransfer]
    hashes: list[bytes]
    expected_head: bytes
    base: int
    balances_before: dict[UUID, Balance]
    actors: list[str] = field(default_factory=list)  # who makes each accepted transfer


def _eligible(t: Transfer) -> bool:
    """Resolutions and reversals depend on other transfers' rows: the locked path decides."""
    return t.pending_id is None and t.reverses_id is None and not t.resolves


def plan_batch(view: LedgerView, groups: Sequence[Sequence[Transfer]]) -> Plan | None:
    """Decide `groups` on the view and move the view past them; None if the view cannot decide
    them (an account or the head it has not seen, a resolution or reversal, or a pause after a
    refused plan)."""
    head = view.head
    if head is None or view.paused():
        return None
    named: dict[UUID, tuple[Account, Balance]] = {}
    for group in groups:
        for t in group:
            if not _eligible(t) or t.debit_account_id is None or t.credit_account_id is None:
                return None
            for a in (t.debit_account_id, t.credit_account_id):
                known = view.accounts.get(a)
                if known is None:
                    return None
                named[a] = known
    base = max(head[0] + 1, _now_us())
    state = LedgerState(base, dict(named), {}, {}, {})
    results, accepted = decide(groups, state)
    before = {a: balance for a, (_, balance) in named.items()}
    view.accounts.update(state.accounts)
    hashes = chain_hashes(head[1], accepted)
    if accepted:
        view.head = (accepted[-1].ts, hashes[-1])
    flat = [t for group in groups for t in group]
    actors = transfer_actors(flat, accepted)
    return Plan(results, accepted, hashes, head[1], base, before, actors)


async def apply_plan(conn: asyncpg.Connection, plan: Plan) -> bool:
    """Write the plan if its premises hold (True); else write nothing (False). In the caller's
    transaction if it has one, else in one of its own."""
    accepted, hashes, before = plan.accepted, plan.hashes, plan.balances_before
    # Timestamps (consecutive from base: `decide` asserts it), expiries and prev_hash follow
    # from base and the hashes: the database derives them, and its trigger checks the hashes.
    applied = await conn.fetchval(
        _APPLY,
        plan.expected_head,
        plan.base,
        list(before),
        [b.debits_posted for b in before.values()],
        [b.credits_posted for b in before.values()],
        [b.debits_pending for b in before.values()],
        [b.credits_pending for b in before.values()],
        [t.id for t in accepted],
        [t.debit_account_id for t in accepted],
        [t.credit_account_id for t in accepted],
        [t.amount for t in accepted],
        [t.reason for t in accepted],
        [t.budget_ref for t in accepted],
        [t.plan_line_ref for t in accepted],
        [t.payment_ref for t in accepted],
        [t.pending for t in accepted],
        [t.linked for t in accepted],
        [t.funding for t in accepted],
        [t.timeout_s for t in accepted],
        hashes,
        plan.actors,
    )
    if applied:
        note_ledger_transfers(len(accepted))  # counted if and when the caller commits
    return bool(applied)


async def create_transfer_groups_viewed(
    conn: asyncpg.Connection, view: LedgerView, groups: Sequence[Sequence[Transfer]]
) -> list[list[CreateTransferResult]]:
    """`store.create_transfer_groups`, decided on `view` first: inside the caller's transaction
    the chain head is then locked only from this call to the caller's commit, not while Python
    decides. Falls back to the locked path (same transaction) when the view cannot decide or
    a premise fails. A caller that rolls back after this call must `view.clear()`: the view
    already holds the effects it planned."""
    missing = view.missing(groups)
    if missing or view.head is None:
        await view.load(conn, missing)
    plan = plan_batch(view, groups)
    if plan is not None:
        if await apply_plan(conn, plan):
            view.applied()
            return plan.results
        view.forget(plan)
    results = await create_transfer_groups(conn, groups)
    view.forget_groups(groups)
    return results
