"""The ledger without entry rows (ledger migration 0170, ADR 22): the migration keeps every
account's history and balances, refuses stored entries that differ from their transfers, and
every per-account read finds its rows through the indexes on each side of a transfer."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from onebudget import ledger
from onebudget.ledger import Account, FundingStream, Transfer, growth, reads
from onebudget.ledger import CreateTransferResult as R
from onebudget.ledger.store import _ACCOUNT_HISTORY, _BALANCE_AT, MIGRATIONS_PACKAGE
from onebudget.shared import db
from tests.conftest import FreshDatabase

ALLOCATION = uuid.UUID(int=1)
BUDGET = uuid.UUID(int=2)
PROVIDER = uuid.UUID(int=3)
OTHER = uuid.UUID(int=4)
WITHOUT_ENTRIES = 170
_ENTRY_ROWS = (
    "SELECT account_id, ts, transfer_id, debits_posted, credits_posted, debits_pending,"
    " credits_pending FROM ledger.entries ORDER BY ts, account_id"
)


@pytest.fixture
async def url(fresh_database: FreshDatabase) -> str:
    return await fresh_database()


async def _migrate(url: str, *, below: int | None = None) -> None:
    migrations = db.load_migrations(MIGRATIONS_PACKAGE)
    if below is not None:
        migrations = [m for m in migrations if m.version < below]
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    try:
        await db.apply_migration_list(pool, "ledger", migrations)
    finally:
        await pool.close()


@pytest.fixture
async def before(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A ledger as the previous release left it (entry rows stored), with every kind of
    movement: funding, payments, a reservation posted in part, one voided, a reversal."""
    await _migrate(url, below=WITHOUT_ENTRIES)
    conn = await asyncpg.connect(url)
    accounts = [
        Account(ALLOCATION, "allocation", "E38000001", FundingStream.NHS, 2025),
        Account(BUDGET, "budget", "person-1", FundingStream.NHS, 2025, True),
        Account(PROVIDER, "payee", "provider-1", FundingStream.NHS),
        Account(OTHER, "payee", "provider-2", FundingStream.NHS),
    ]
    assert set(await ledger.create_accounts(conn, accounts)) == {ledger.CreateAccountResult.OK}
    fund = Transfer(uuid.uuid4(), ALLOCATION, BUDGET, 10_000, "funding", funding=True)
    pay = Transfer(uuid.uuid4(), BUDGET, PROVIDER, 1_500, "payment", plan_line_ref="line-1")
    held = Transfer(uuid.uuid4(), BUDGET, OTHER, 700, "payment", pending=True)
    dropped = Transfer(uuid.uuid4(), BUDGET, PROVIDER, 300, "payment", pending=True)
    assert await ledger.create_transfers(conn, [fund, pay, held, dropped]) == [R.OK] * 4
    moves = [
        Transfer(uuid.uuid4(), None, None, 500, "payment", post_pending=True, pending_id=held.id),
        Transfer(
            uuid.uuid4(), None, None, 300, "payment", void_pending=True, pending_id=dropped.id
        ),
        Transfer(uuid.uuid4(), PROVIDER, BUDGET, 200, "correction", reverses_id=pay.id),
    ]
    assert await ledger.create_transfers(conn, moves) == [R.OK] * 3
    try:
        yield conn
    finally:
        await conn.close()


async def test_the_migration_keeps_every_entry_as_a_view_of_the_transfers(
    url: str, before: asyncpg.Connection
) -> None:
    stored = [dict(r) for r in await before.fetch(_ENTRY_ROWS)]
    balances = [dict(r) for r in await before.fetch("SELECT * FROM ledger.accounts ORDER BY id")]
    assert len(stored) == 2 * 7
    await _migrate(url)
    kind = await before.fetchval(
        "SELECT relkind FROM pg_class WHERE oid = 'ledger.entries'::regclass"
    )
    assert kind == b"v"  # a view: no entry row is stored any more
    assert [dict(r) for r in await before.fetch(_ENTRY_ROWS)] == stored
    assert [
        dict(r) for r in await before.fetch("SELECT * FROM ledger.accounts ORDER BY id")
    ] == balances
    assert await ledger.verify(before) == []
    # A new transfer shows in the derived entries and moves the balances by its legs.
    more = Transfer(uuid.uuid4(), BUDGET, PROVIDER, 100, "payment")
    assert await ledger.create_transfers(before, [more]) == [R.OK]
    assert len(await before.fetch(_ENTRY_ROWS)) == 2 * 8
    assert await ledger.verify(before) == []
    page = await ledger.list_transfers(before, PROVIDER, page_size=2)
    assert [t.reason for t in page.transfers] == ["payment", "payment"]
    assert page.next_page_token is not None


async def test_the_migration_refuses_entries_that_differ_from_their_transfers(
    url: str, before: asyncpg.Connection
) -> None:
    await before.execute("SET session_replication_role = replica")
    await before.execute(
        "UPDATE ledger.entries SET credits_posted = credits_posted + 1"
        " WHERE account_id = $1 AND credits_posted > 0",
        PROVIDER,
    )
    await before.execute("SET session_replication_role = origin")
    with pytest.raises(asyncpg.CheckViolationError, match="stored entries differ"):
        await _migrate(url)
    # Nothing of the migration stayed: the stored entries are still there to look at.
    kind = await before.fetchval(
        "SELECT relkind FROM pg_class WHERE oid = 'ledger.entries'::regclass"
    )
    assert kind == b"r"


async def test_a_stored_entry_missing_is_refused_too(url: str, before: asyncpg.Connection) -> None:
    await before.execute("SET session_replication_role = replica")
    await before.execute("DELETE FROM ledger.entries WHERE account_id = $1", OTHER)
    await before.execute("SET session_replication_role = origin")
    with pytest.raises(asyncpg.CheckViolationError, match="stored entries differ"):
        await _migrate(url)


# Every per-account read of the ledger, with its arguments.
def _per_account_reads(busy: uuid.UUID) -> list[tuple[str, tuple[object, ...]]]:
    accounts = [BUDGET, PROVIDER]
    return [
        (_ACCOUNT_HISTORY, (PROVIDER, -1, 101)),
        (_ACCOUNT_HISTORY, (busy, -1, 101)),
        (_BALANCE_AT, (PROVIDER, 2**62)),
        (_BALANCE_AT, (busy, 2**62)),
        (reads._PLAN_LINE_USE, (accounts, ["line-1"])),
        (reads._SPENT_BY_ACCOUNT, (accounts,)),
        (reads._RING_FENCE_FLOWS, (ALLOCATION,)),
        (reads._FLOWS, (accounts,)),
        (reads._BUDGET_FUNDING, (accounts,)),
        (
            "SELECT DISTINCT debit_account_id FROM ledger.transfers"
            " WHERE debit_account_id = ANY($1::uuid[]) AND reason = 'budget_ended'",
            (accounts,),
        ),
    ]


def _scans_of_transfers(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if node.get("Relation Name") == "transfers" else []
    for child in node.get("Plans", []):
        found += _scans_of_transfers(child)
    return found


async def test_per_account_reads_use_the_indexes_on_each_side(
    url: str, before: asyncpg.Connection
) -> None:
    """On a ledger of 20,000 transfers between 300 payees (seeded as the growth bench seeds, through
    the ledger's insert path), every per-account read finds the transfers
    through an index condition: no sequential scan, no whole-index scan, of ledger.transfers."""
    await _migrate(url)
    payees, busy = [uuid.uuid4() for _ in range(300)], uuid.uuid4()
    opened = await ledger.create_accounts(
        before,
        [Account(p, "payee", f"payee-{i}", FundingStream.NHS) for i, p in enumerate(payees)]
        + [Account(busy, "payee", "busy", FundingStream.NHS)],
    )
    assert set(opened) == {ledger.CreateAccountResult.OK}
    for start in range(0, 20_000, 5_000):
        await growth.seed_transfers(before, 5_000, payees, busy, start)
    await before.execute("ANALYZE")
    assert await ledger.verify(before) == []
    for sql, args in _per_account_reads(busy):
        (plan,) = json.loads(await before.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args))
        scans = _scans_of_transfers(plan["Plan"])
        assert scans, sql
        for scan in scans:
            kind = scan["Node Type"]
            assert kind in {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}, (sql, plan)
            assert "Index Cond" in scan or "Recheck Cond" in scan, (sql, plan)
