"""The scale bench's seeding (ledger/growth.py, issue 17): what it appends verifies, and the
indexes it drops for a bulk load come back exactly as the migrations made them, also when the
load fails."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from onebudget import ledger
from onebudget.ledger import Account, FundingStream, growth
from tests.conftest import FreshDatabase

_INDEXES = (
    "SELECT indexname, indexdef FROM pg_indexes"
    " WHERE schemaname = 'ledger' AND tablename = 'transfers' ORDER BY indexname"
)


@pytest.fixture
async def conn(fresh_database: FreshDatabase) -> AsyncIterator[asyncpg.Connection]:
    url = await fresh_database()
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    await ledger.apply_ledger_migrations(pool)
    await pool.close()
    connection = await asyncpg.connect(url)
    yield connection
    await connection.close()


async def _accounts(conn: asyncpg.Connection) -> tuple[list[uuid.UUID], uuid.UUID]:
    payees, hot = [uuid.uuid4() for _ in range(20)], uuid.uuid4()
    opened = await ledger.create_accounts(
        conn,
        [Account(p, "payee", f"payee-{i}", FundingStream.NHS) for i, p in enumerate(payees)]
        + [Account(hot, "payee", "hot", FundingStream.NHS)],
    )
    assert set(opened) == {ledger.CreateAccountResult.OK}
    return payees, hot


async def test_a_seed_without_secondary_indexes_verifies_and_gets_them_back(
    conn: asyncpg.Connection,
) -> None:
    payees, hot = await _accounts(conn)
    before = await conn.fetch(_INDEXES)
    assert len(before) >= 5  # the primary key, unique ts, each account side, the partial ones
    async with growth.secondary_indexes_rebuilt(conn):
        assert [r["indexname"] for r in await conn.fetch(_INDEXES)] == ["transfers_pkey"]
        for first in (0, 3_000):  # two statements: the second extends the first's chain
            await growth.seed_transfers(conn, 3_000, payees, hot, first)
    assert await conn.fetch(_INDEXES) == before
    assert await growth.transfer_count(conn) == 6_000
    assert await ledger.verify(conn) == []
    (record,) = await ledger.lookup_accounts(conn, [hot])
    assert record.balance.credits_posted == 600  # every tenth transfer, 1p each


async def test_the_indexes_come_back_when_the_load_fails(conn: asyncpg.Connection) -> None:
    payees, hot = await _accounts(conn)
    before = await conn.fetch(_INDEXES)
    unknown = [*payees[:-1], uuid.uuid4()]  # an account the ledger does not hold

    async def load() -> None:
        async with growth.secondary_indexes_rebuilt(conn):
            await growth.seed_transfers(conn, 100, payees, hot, 0)
            await growth.seed_transfers(conn, 100, unknown, hot, 100)

    with pytest.raises(asyncpg.CheckViolationError):
        await load()
    assert await conn.fetch(_INDEXES) == before
    assert await growth.transfer_count(conn) == 100  # the refused statement wrote nothing
    assert await ledger.verify(conn) == []
