"""The ledger against a tiny in-memory model (TigerBeetle's auditor, Hypothesis stateful).

Every step sends real transfers to a real PostgreSQL; the model predicts every result code and
every balance. After every step: balances equal the model and the sums of each account's
transfers (no entry rows are stored: ADR 22), each account's history is exactly the transfers
naming it, total debits equal total credits, and `verify` finds nothing (hash chain, balances,
colour, resolutions).
"""

from __future__ import annotations

import asyncio
import copy
import re
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import asyncpg
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from onebudget import ledger
from onebudget.ledger import (
    Account,
    CreateAccountResult,
    FundingStream,
    Transfer,
)
from onebudget.ledger import CreateTransferResult as R
from onebudget.ledger.domain import AMOUNT_MAX, FUNDING_ROUTES

T = TypeVar("T")

HOUR_US = 3600 * 1_000_000
KINDS = ["allocation", "ring_fence", "budget", "pooled_fund", "payee", "contribution"]
STREAMS = list(FundingStream)
_REASON = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TEMPLATE = "ledger_sm_template"


# -- the model -------------------------------------------------------------------------------


@dataclass
class MTransfer:
    request: Transfer
    debit: uuid.UUID
    credit: uuid.UUID
    amount: int
    expires_at: int | None = None


@dataclass
class Model:
    accounts: dict[uuid.UUID, Account] = field(default_factory=dict)
    balances: dict[uuid.UUID, list[int]] = field(default_factory=dict)  # dpo, cpo, dpe, cpe
    transfers: dict[uuid.UUID, MTransfer] = field(default_factory=dict)
    resolutions: dict[uuid.UUID, str] = field(default_factory=dict)
    reversed: dict[uuid.UUID, int] = field(default_factory=dict)

    def shape_error(self, t: Transfer) -> R | None:
        phases = int(t.pending) + int(t.post_pending) + int(t.void_pending)
        resolves = t.post_pending or t.void_pending
        if phases > 1 or (t.funding and resolves) or (t.reverses_id and phases):
            return R.FLAGS_ARE_MUTUALLY_EXCLUSIVE
        if t.timeout_s < 0:
            return R.TIMEOUT_MUST_NOT_BE_NEGATIVE
        if t.timeout_s > 0 and not t.pending:
            return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
        if not _REASON.match(t.reason):
            return R.REASON_INVALID
        if t.amount < 0 or (t.amount == 0 and not resolves):
            return R.AMOUNT_MUST_BE_POSITIVE
        if t.amount > AMOUNT_MAX:
            return R.AMOUNT_EXCEEDS_MAXIMUM
        if resolves and t.pending_id is None:
            return R.PENDING_ID_REQUIRED
        if not resolves and t.pending_id is not None:
            return R.PENDING_ID_MUST_NOT_BE_SET
        return None

    def resolve(self, t: Transfer) -> R:
        assert t.pending_id is not None
        p = self.transfers.get(t.pending_id)
        if p is None:
            return R.PENDING_TRANSFER_NOT_FOUND
        if not p.request.pending:
            return R.PENDING_TRANSFER_NOT_PENDING
        if (t.debit_account_id or p.debit) != p.debit or (
            t.credit_account_id or p.credit
        ) != p.credit:
            return R.PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS
        done = self.resolutions.get(p.request.id)
        if done is not None:
            return {
                "post": R.PENDING_TRANSFER_ALREADY_POSTED,
                "void": R.PENDING_TRANSFER_ALREADY_VOIDED,
                "expire": R.PENDING_TRANSFER_EXPIRED,
            }[done]
        amount = t.amount or p.amount
        if t.post_pending and amount > p.amount:
            return R.POST_EXCEEDS_PENDING_AMOUNT
        if t.void_pending and amount != p.amount:
            return R.VOID_AMOUNT_MUST_MATCH_PENDING
        posted = amount if t.post_pending else 0
        self.balances[p.debit][0] += posted
        self.balances[p.debit][2] -= p.amount
        self.balances[p.credit][1] += posted
        self.balances[p.credit][3] -= p.amount
        self.resolutions[p.request.id] = "post" if t.post_pending else "void"
        self.transfers[t.id] = MTransfer(t, p.debit, p.credit, amount)
        return R.OK

    def move(self, t: Transfer) -> R:
        d, c = t.debit_account_id, t.credit_account_id
        if d is None or c is None:
            return R.ACCOUNT_NOT_FOUND
        if d == c:
            return R.ACCOUNTS_MUST_BE_DIFFERENT
        if d not in self.accounts or c not in self.accounts:
            return R.ACCOUNT_NOT_FOUND
        da, ca = self.accounts[d], self.accounts[c]
        if not t.funding and da.funding_stream != ca.funding_stream:
            return R.FUNDING_STREAMS_MUST_MATCH
        if not t.funding and "ring_fence" in (da.kind, ca.kind):
            return R.FUNDING_ONLY_ACCOUNT  # a ring-fence moves money only on funding routes
        route = (da.kind, da.funding_stream, ca.kind, ca.funding_stream)
        if t.funding and route not in FUNDING_ROUTES:
            return R.FUNDING_ROUTE_NOT_ALLOWED
        if t.reverses_id is not None:
            o = self.transfers.get(t.reverses_id)
            if o is None:
                return R.REVERSED_TRANSFER_NOT_FOUND
            if o.request.pending or o.request.void_pending or o.request.id in self.expired_ids():
                return R.REVERSED_TRANSFER_NOT_POSTED
            if (o.debit, o.credit) != (c, d):
                return R.REVERSAL_ACCOUNTS_MUST_BE_SWAPPED
            if t.amount > o.amount - self.reversed.get(o.request.id, 0):
                return R.REVERSAL_EXCEEDS_ORIGINAL
        db, cb = self.balances[d], self.balances[c]
        if da.debits_must_not_exceed_credits and db[0] + db[2] + t.amount > db[1]:
            return R.EXCEEDS_AVAILABLE_BALANCE
        if ca.credits_must_not_exceed_debits and cb[1] + cb[3] + t.amount > cb[0]:
            return R.EXCEEDS_DEBITS
        column = 2 if t.pending else 0
        db[column] += t.amount
        cb[column + 1] += t.amount
        if t.reverses_id is not None:
            self.reversed[t.reverses_id] = self.reversed.get(t.reverses_id, 0) + t.amount
        self.transfers[t.id] = MTransfer(t, d, c, t.amount)
        return R.OK

    def expired_ids(self) -> set[uuid.UUID]:
        return set()  # expiry records are system transfers; the model never reverses them

    def apply(self, t: Transfer) -> R:
        if t.id in self.transfers:
            same = self.transfers[t.id].request == t
            return R.EXISTS if same else R.EXISTS_WITH_DIFFERENT_FIELDS
        error = self.shape_error(t)
        if error is not None:
            return error
        return self.resolve(t) if (t.post_pending or t.void_pending) else self.move(t)

    def apply_batch(self, transfers: list[Transfer]) -> list[R]:
        results: list[R] = []
        start = 0
        for i, t in enumerate(transfers):
            if t.linked and i < len(transfers) - 1:
                continue
            results += self.apply_chain(transfers[start : i + 1])
            start = i + 1
        return results

    def apply_chain(self, chain: list[Transfer]) -> list[R]:
        if chain[-1].linked:
            return [R.LINKED_EVENT_CHAIN_OPEN] * len(chain)
        if len(chain) == 1:
            return [self.apply(chain[0])]
        saved = copy.deepcopy(self.__dict__)
        results: list[R] = []
        for t in chain:
            results.append(self.apply(t))
            if results[-1] not in (R.OK, R.EXISTS):
                break
        if all(r is R.OK for r in results):
            return results
        self.__dict__.update(saved)
        if len(results) == len(chain) and all(r is R.EXISTS for r in results):
            return results
        failed = next(k for k, r in enumerate(results) if r is not R.OK)
        return [
            results[failed] if k == failed else R.LINKED_EVENT_FAILED for k in range(len(chain))
        ]

    def expire(self, at: int) -> int:
        count = 0
        for tid, t in self.transfers.items():
            if t.expires_at is not None and t.expires_at <= at and tid not in self.resolutions:
                self.resolutions[tid] = "expire"
                self.balances[t.debit][2] -= t.amount
                self.balances[t.credit][3] -= t.amount
                count += 1
        return count


# -- the machine -----------------------------------------------------------------------------

# Mostly valid amounts; now and then one the ledger must refuse.
amounts = st.tuples(st.integers(0, 24), st.integers(1, 20_000)).map(
    lambda p: {0: 0, 1: -1, 2: AMOUNT_MAX + 1}.get(p[0], p[1])
)
picks = st.integers(0, 10_000)
limits = st.sampled_from([0, 0, 0, 1, 1, 2])  # none, debits <= credits, credits <= debits


class LedgerMachine(RuleBasedStateMachine):
    pg_url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.model = Model()
        self.counter = 0
        self.sent: list[Transfer] = []
        self.history: list[tuple[int, dict[uuid.UUID, list[int]]]] = []
        self.db = f"sm_{uuid.uuid4().hex[:12]}"
        self.run(self._create_db())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    async def _create_db(self) -> None:
        admin = await asyncpg.connect(self.pg_url)
        try:
            await admin.execute(f'CREATE DATABASE "{self.db}" TEMPLATE {_TEMPLATE}')
        finally:
            await admin.close()
        base, _, _ = self.pg_url.rpartition("/")
        self.conn = await asyncpg.connect(f"{base}/{self.db}")

    async def _drop_db(self) -> None:
        await self.conn.close()
        admin = await asyncpg.connect(self.pg_url)
        try:
            await admin.execute(f'DROP DATABASE "{self.db}" WITH (FORCE)')
        finally:
            await admin.close()

    def teardown(self) -> None:
        try:
            self.run(self._drop_db())
        finally:
            self.loop.close()

    def new_id(self) -> uuid.UUID:
        self.counter += 1
        return uuid.UUID(int=self.counter)

    def account_at(self, pick: int) -> uuid.UUID:
        ids = list(self.model.accounts)
        if pick % 13 == 12 or not ids:
            return uuid.UUID(int=2**100 + pick)  # an account that does not exist
        return ids[pick % len(ids)]

    def submit(self, transfers: list[Transfer]) -> list[R]:
        expected = self.model.apply_batch(transfers)
        actual = self.run(ledger.create_transfers(self.conn, transfers))
        assert actual == expected, (transfers, actual, expected)
        self.sent += transfers
        self.learn_expiry(transfers, actual)
        return actual

    def learn_expiry(self, transfers: list[Transfer], results: list[R]) -> None:
        timed = [t.id for t, r in zip(transfers, results, strict=True) if r is R.OK and t.timeout_s]
        for stored in self.run(ledger.lookup_transfers(self.conn, timed)):
            self.model.transfers[stored.id].expires_at = stored.expires_at

    def transfer(self, d: int, c: int, amount: int, **flags: Any) -> Transfer:
        """Usually a credit account of the debit's colour (else most traffic is refused)."""
        debit = self.account_at(d)
        credit = self.account_at(c)
        if c % 5 != 0 and debit in self.model.accounts:
            stream = self.model.accounts[debit].funding_stream
            mates = [
                a.id
                for a in self.model.accounts.values()
                if a.funding_stream == stream and a.id != debit
            ]
            credit = mates[c % len(mates)] if mates else credit
        reason = flags.pop("reason", "payment")
        return Transfer(self.new_id(), debit, credit, amount, reason, **flags)

    @initialize(
        specs=st.lists(
            st.tuples(st.sampled_from(KINDS), st.sampled_from(STREAMS), limits),
            min_size=3,
            max_size=6,
        )
    )
    def create_accounts(self, specs: list[tuple[str, FundingStream, int]]) -> None:
        # An unlimited source per colour, so limited accounts can be funded.
        self.add_accounts([("allocation", stream, 0) for stream in STREAMS] + specs)

    def add_accounts(self, specs: list[tuple[str, FundingStream, int]]) -> None:
        accounts = [
            Account(
                self.new_id(),
                kind,
                f"owner-{kind}",
                stream,
                financial_year=2025 if kind == "budget" else None,
                debits_must_not_exceed_credits=limit == 1,
                credits_must_not_exceed_debits=limit == 2,
            )
            for kind, stream, limit in specs
        ]
        results = self.run(ledger.create_accounts(self.conn, accounts))
        assert results == [CreateAccountResult.OK] * len(accounts)
        for a in accounts:
            self.model.accounts[a.id] = a
            self.model.balances[a.id] = [0, 0, 0, 0]

    @rule(kind=st.sampled_from(KINDS), stream=st.sampled_from(STREAMS), limit=limits)
    def another_account(self, kind: str, stream: FundingStream, limit: int) -> None:
        self.add_accounts([(kind, stream, limit)])

    @rule(pick=picks, different=st.booleans())
    def account_retry(self, pick: int, different: bool) -> None:
        original = self.model.accounts[self.account_at(pick % 12)]
        retry = replace(original, owner="someone-else") if different else original
        results = self.run(ledger.create_accounts(self.conn, [retry]))
        expect = (
            CreateAccountResult.EXISTS_WITH_DIFFERENT_FIELDS
            if different
            else CreateAccountResult.EXISTS
        )
        assert results == [expect]

    @rule(
        d=picks,
        c=picks,
        amount=amounts,
        funding=st.sampled_from([False] * 5 + [True]),
        pending=st.booleans(),
        timeout_h=st.sampled_from([0, 0, 1, 2]),
        odd=st.sampled_from([""] * 12 + ["reason", "timeout", "flags", "same"]),
    )
    def single(
        self, d: int, c: int, amount: int, funding: bool, pending: bool, timeout_h: int, odd: str
    ) -> None:
        t = self.transfer(
            d,
            c,
            amount,
            funding=funding,
            pending=pending,
            timeout_s=timeout_h * 3600 if pending else 0,
        )
        if odd == "reason":
            t = replace(t, reason="Bad Reason")
        elif odd == "timeout":
            t = replace(t, timeout_s=60, pending=False)
        elif odd == "flags":
            t = replace(t, pending=True, void_pending=True)
        elif odd == "same":
            t = replace(t, credit_account_id=t.debit_account_id)
        self.submit([t])

    @rule(
        legs=st.lists(
            st.tuples(picks, picks, st.integers(1, 3_000), st.booleans()), min_size=2, max_size=4
        ),
        open_chain=st.sampled_from([False, False, False, True]),
    )
    def linked_chain(self, legs: list[tuple[int, int, int, bool]], open_chain: bool) -> None:
        chain = [self.transfer(d, c, a, pending=p, linked=True) for d, c, a, p in legs]
        if not open_chain:
            chain[-1] = replace(chain[-1], linked=False)
        self.submit(chain)

    def pendings(self) -> list[uuid.UUID]:
        return [tid for tid, t in self.model.transfers.items() if t.request.pending]

    @precondition(lambda self: self.pendings())
    @rule(
        pick=picks,
        post=st.booleans(),
        how=st.sampled_from(
            ["full", "zero", "partial", "over", "accounts", "missing", "wrong_accounts"]
        ),
        linked_with_bad=st.booleans(),
    )
    def resolve(self, pick: int, post: bool, how: str, linked_with_bad: bool) -> None:
        pending = self.model.transfers[self.pendings()[pick % len(self.pendings())]]
        amount = {
            "full": pending.amount,
            "zero": 0,
            "partial": max(1, pending.amount // 2),
            "over": pending.amount + 1,
        }.get(how, 0)
        t = Transfer(
            self.new_id(),
            None,
            None,
            amount,
            "settle",
            post_pending=post,
            void_pending=not post,
            pending_id=pending.request.id,
        )
        if how == "accounts":
            t = replace(t, debit_account_id=pending.debit, credit_account_id=pending.credit)
        elif how == "wrong_accounts":
            t = replace(t, debit_account_id=pending.credit)
        elif how == "missing":
            t = replace(t, pending_id=self.new_id())
        batch = [t]
        if linked_with_bad:
            batch = [replace(t, linked=True), self.transfer(0, 0, 1)]  # accounts must differ
        self.submit(batch)

    @precondition(lambda self: self.sent)
    @rule(pick=picks, different=st.booleans())
    def retry(self, pick: int, different: bool) -> None:
        original = self.sent[pick % len(self.sent)]
        self.submit([replace(original, reason="changed") if different else original])

    def posted(self) -> list[uuid.UUID]:
        return [
            tid
            for tid, t in self.model.transfers.items()
            if not t.request.pending and not t.request.void_pending
        ]

    @precondition(lambda self: self.posted())
    @rule(pick=picks, how=st.sampled_from(["part", "rest", "over", "unswapped"]))
    def reversal(self, pick: int, how: str) -> None:
        o = self.model.transfers[self.posted()[pick % len(self.posted())]]
        left = o.amount - self.model.reversed.get(o.request.id, 0)
        amount = {"part": max(1, left // 2), "rest": max(1, left), "over": left + 1}.get(how, 1)
        d, c = (o.credit, o.debit) if how != "unswapped" else (o.debit, o.credit)
        self.submit(
            [
                Transfer(
                    self.new_id(),
                    d,
                    c,
                    amount,
                    "correction",
                    funding=o.request.funding,
                    reverses_id=o.request.id,
                )
            ]
        )

    @rule(hours=st.integers(0, 2))
    def expire(self, hours: int) -> None:
        head = self.run(ledger.ledger_clock(self.conn))
        # Half-hour offsets keep every live expiry far from the sweep instant (see the model).
        at = head + hours * HOUR_US + HOUR_US // 2
        expected = self.model.expire(max(head + 1, at))
        assert self.run(ledger.expire_pending(self.conn, at=at)) == expected

    @precondition(lambda self: self.history)
    @rule(pick=picks)
    def point_in_time(self, pick: int) -> None:
        at, snapshot = self.history[pick % len(self.history)]
        for account_id, expected in snapshot.items():
            balance = self.run(ledger.get_account_balance(self.conn, account_id, at=at))
            assert balance is not None
            actual = [
                balance.debits_posted,
                balance.credits_posted,
                balance.debits_pending,
                balance.credits_pending,
            ]
            assert actual == expected, (account_id, at)

    @invariant()
    def ledger_matches_model(self) -> None:
        records = self.run(ledger.lookup_accounts(self.conn, list(self.model.accounts)))
        actual = {
            r.account.id: [
                r.balance.debits_posted,
                r.balance.credits_posted,
                r.balance.debits_pending,
                r.balance.credits_pending,
            ]
            for r in records
        }
        assert actual == self.model.balances
        head = self.run(ledger.ledger_clock(self.conn))
        self.history.append((head, copy.deepcopy(self.model.balances)))

    @invariant()
    def invariants_hold(self) -> None:
        sums = self.run(
            self.conn.fetchrow(
                "SELECT sum(debits_posted) AS dpo, sum(credits_posted) AS cpo,"
                " sum(debits_pending) AS dpe, sum(credits_pending) AS cpe FROM ledger.accounts"
            )
        )
        assert sums["dpo"] == sums["cpo"]
        assert sums["dpe"] == sums["cpe"]
        for account_id, (a, b) in {
            k: (self.model.accounts[k], v) for k, v in self.model.balances.items()
        }.items():
            if a.debits_must_not_exceed_credits:
                assert b[0] + b[2] <= b[1], account_id
            if a.credits_must_not_exceed_debits:
                assert b[1] + b[3] <= b[0], account_id
        assert self.run(ledger.verify(self.conn)) == []

    @invariant()
    def balances_are_the_sums_of_transfers(self) -> None:
        """Invariant 2 (ADR 22): no entry rows are stored; each account's balances equal the
        sums of the transfers that name it, computed here from the transfer rows alone, and its
        history (ledger.list_transfers, in pages) is exactly those transfers in ledger time."""
        rows = self.run(
            self.conn.fetch(
                "SELECT t.id, t.debit_account_id, t.credit_account_id, t.amount, t.pending,"
                " t.void_pending, t.expire_pending, p.amount AS reserved"
                " FROM ledger.transfers t LEFT JOIN ledger.transfers p ON p.id = t.pending_id"
                " ORDER BY t.ts"
            )
        )
        sums = {account_id: [0, 0, 0, 0] for account_id in self.model.accounts}
        naming: dict[uuid.UUID, list[uuid.UUID]] = {a: [] for a in self.model.accounts}
        for r in rows:
            posted = 0 if r["pending"] or r["void_pending"] or r["expire_pending"] else r["amount"]
            reserved = r["amount"] if r["pending"] else -(r["reserved"] or 0)
            for side, account_id in ((0, r["debit_account_id"]), (1, r["credit_account_id"])):
                sums[account_id][side] += posted
                sums[account_id][2 + side] += reserved
                naming[account_id].append(r["id"])
        assert sums == self.model.balances
        for account_id, expected in naming.items():
            seen: list[uuid.UUID] = []
            token: str | None = None
            while True:
                page = self.run(
                    ledger.list_transfers(self.conn, account_id, page_size=3, page_token=token)
                )
                seen += [x.id for x in page.transfers]
                token = page.next_page_token
                if token is None:
                    break
            assert seen == expected, account_id


async def _make_template(pg_url: str) -> None:
    admin = await asyncpg.connect(pg_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", _TEMPLATE)
        if exists:
            return
        await admin.execute(f"CREATE DATABASE {_TEMPLATE}")
    finally:
        await admin.close()
    base, _, _ = pg_url.rpartition("/")
    pool = await asyncpg.create_pool(f"{base}/{_TEMPLATE}", min_size=1, max_size=1)
    try:
        await ledger.apply_ledger_migrations(pool)
    finally:
        await pool.close()


def run_machine(machine: type[LedgerMachine], pg_url: str) -> None:
    """Run a ledger state machine (this one or a variant) on databases from the template."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_make_template(pg_url))
    finally:
        loop.close()
    machine.pg_url = pg_url
    run_state_machine_as_test(machine)


@pytest.mark.slow
def test_ledger_agrees_with_model(pg_url: str) -> None:
    run_machine(LedgerMachine, pg_url)
