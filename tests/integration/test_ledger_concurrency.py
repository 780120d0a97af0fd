"""Many callers, in this process and in another one, draw on one account whose funds allow only
some of them: the account never goes below zero, exactly the affordable number succeed, and the
books balance afterwards. No deadlock, whichever path the transfers take."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from onebudget import ledger
from onebudget.ledger import Account, FundingStream, Transfer
from onebudget.ledger import CreateTransferResult as R
from tests.conftest import FreshDatabase

AMOUNT = 100
AFFORDABLE = 60
IN_PROCESS = 100
OTHER_PROCESS = 50

SOURCE = uuid.UUID(int=1)
WALLET = uuid.UUID(int=2)
SINK = uuid.UUID(int=3)

_OTHER_PROCESS = """
import asyncio, sys, uuid
import asyncpg
from onebudget import ledger
from onebudget.ledger import Transfer

async def main(url, count):
    pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
    print("ready", flush=True)
    sys.stdin.readline()
    async def one(i):
        t = Transfer(uuid.uuid4(), uuid.UUID(int=2), uuid.UUID(int=3), 100, "payment")
        async with pool.acquire() as conn:
            return (await ledger.create_transfers(conn, [t]))[0]
    results = await asyncio.gather(*(one(i) for i in range(count)))
    print(sum(r is ledger.CreateTransferResult.OK for r in results), flush=True)
    await pool.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def _ledger_with_wallet(url: str) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(url, min_size=4, max_size=20)
    await ledger.apply_ledger_migrations(pool)
    async with pool.acquire() as conn:
        created = await ledger.create_accounts(
            conn,
            [
                Account(SOURCE, "allocation", "E38000001", FundingStream.NHS),
                Account(
                    WALLET,
                    "budget",
                    "person-1",
                    FundingStream.NHS,
                    debits_must_not_exceed_credits=True,
                ),
                Account(SINK, "payee", "provider-1", FundingStream.NHS),
            ],
        )
        assert created == [ledger.CreateAccountResult.OK] * 3
        funded = await ledger.create_transfers(
            conn, [Transfer(uuid.uuid4(), SOURCE, WALLET, AMOUNT * AFFORDABLE, "funding")]
        )
        assert funded == [R.OK]
    return pool


async def _race(url: str, draw: Callable[[Transfer], Awaitable[R]]) -> tuple[int, int]:
    """Start the other process, wait until it is connected, then race both sides."""
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _OTHER_PROCESS,
        url,
        str(OTHER_PROCESS),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert other.stdout is not None
    assert other.stdin is not None
    assert (await asyncio.wait_for(other.stdout.readline(), 30)).strip() == b"ready"
    other.stdin.write(b"go\n")
    await other.stdin.drain()
    transfers = [Transfer(uuid.uuid4(), WALLET, SINK, AMOUNT, "payment") for _ in range(IN_PROCESS)]
    results = await asyncio.wait_for(asyncio.gather(*(draw(t) for t in transfers)), 60)
    out, _ = await asyncio.wait_for(other.communicate(), 60)
    assert other.returncode == 0
    assert set(results) <= {R.OK, R.EXCEEDS_AVAILABLE_BALANCE}
    return sum(r is R.OK for r in results), int(out.strip())


async def _assert_books(pool: asyncpg.Pool, successes: int) -> None:
    async with pool.acquire() as conn:
        assert successes == AFFORDABLE
        (wallet,) = await ledger.lookup_accounts(conn, [WALLET])
        assert wallet.balance.available == 0
        assert wallet.balance.debits_posted == AMOUNT * AFFORDABLE
        totals = await conn.fetchrow(
            "SELECT sum(debits_posted) AS d, sum(credits_posted) AS c FROM ledger.accounts"
        )
        assert totals["d"] == totals["c"]
        paid = await conn.fetchval(
            "SELECT count(*) FROM ledger.transfers WHERE debit_account_id = $1", WALLET
        )
        assert paid == AFFORDABLE
        assert await ledger.verify(conn) == []


@pytest.mark.slow
async def test_group_committer_and_another_process(fresh_database: FreshDatabase) -> None:
    url = await fresh_database()
    pool = await _ledger_with_wallet(url)
    try:
        config = ledger.GroupCommitConfig(batch_size_max=32, wait_ms_max=2.0)
        async with ledger.GroupCommitter(pool, config) as committer:

            async def draw(t: Transfer) -> R:
                return (await committer.create_transfers([t]))[0]

            here, there = await _race(url, draw)
        assert here > 0 or there > 0
        await _assert_books(pool, here + there)
    finally:
        await pool.close()


@pytest.mark.slow
async def test_direct_calls_from_many_connections(fresh_database: FreshDatabase) -> None:
    url = await fresh_database()
    pool = await _ledger_with_wallet(url)
    try:

        async def draw(t: Transfer) -> R:
            async with pool.acquire() as conn:
                return (await ledger.create_transfers(conn, [t]))[0]

        here, there = await _race(url, draw)
        await _assert_books(pool, here + there)
    finally:
        await pool.close()


async def test_caller_transaction_rolls_back_its_transfers(fresh_database: FreshDatabase) -> None:
    """Inside a caller's transaction nothing is final until it commits: a rollback moves
    nothing, and the caller's own rows go with it."""
    url = await fresh_database()
    pool = await _ledger_with_wallet(url)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE payments (id uuid PRIMARY KEY)")
            payment = uuid.uuid4()
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("INSERT INTO payments VALUES ($1)", payment)
            t = Transfer(uuid.uuid4(), WALLET, SINK, AMOUNT, "payment")
            assert await ledger.create_transfers(conn, [t]) == [R.OK]
            await transaction.rollback()  # the service refuses the command after all
            assert await conn.fetchval("SELECT count(*) FROM payments") == 0
            (wallet,) = await ledger.lookup_accounts(conn, [WALLET])
            assert wallet.balance.debits_posted == 0
            assert await ledger.lookup_transfers(conn, [t.id]) == []
    finally:
        await pool.close()
