"""Optimistic batches against a real PostgreSQL: a plan decided on a view is written only while
its premises hold (the head it extends, every named account's balance, no existing id); else
nothing is written and the locked path decides again. The database still refuses a wrong
decision whose premises happen to hold."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from onebudget import ledger
from onebudget.ledger import Account, Balance, FundingStream, Transfer
from onebudget.ledger import CreateTransferResult as R
from onebudget.ledger.optimistic import (
    LedgerView,
    apply_plan,
    create_transfer_groups_viewed,
    plan_batch,
)
from tests.conftest import FreshDatabase

SOURCE = uuid.UUID(int=1)
WALLET = uuid.UUID(int=2)
SINK = uuid.UUID(int=3)
OTHER_SINK = uuid.UUID(int=4)
OTHER_WALLET = uuid.UUID(int=5)
FUNDS = 1_000


@pytest.fixture
async def pool(fresh_database: FreshDatabase) -> AsyncIterator[asyncpg.Pool]:
    url = await fresh_database()
    pool = await asyncpg.create_pool(url, min_size=2, max_size=6)
    await ledger.apply_ledger_migrations(pool)
    async with pool.acquire() as conn:
        created = await ledger.create_accounts(
            conn,
            [
                Account(SOURCE, "allocation", "E38000001", FundingStream.NHS),
                Account(WALLET, "budget", "person-1", FundingStream.NHS, None, True),
                Account(OTHER_WALLET, "budget", "person-2", FundingStream.NHS, None, True),
                Account(SINK, "payee", "provider-1", FundingStream.NHS),
                Account(OTHER_SINK, "payee", "provider-2", FundingStream.NHS),
            ],
        )
        assert set(created) == {ledger.CreateAccountResult.OK}
        funded = await ledger.create_transfers(
            conn,
            [
                Transfer(uuid.uuid4(), SOURCE, WALLET, FUNDS, "funding"),
                Transfer(uuid.uuid4(), SOURCE, OTHER_WALLET, FUNDS, "funding"),
            ],
        )
        assert funded == [R.OK, R.OK]
    yield pool
    await pool.close()


def pay(amount: int, debit: uuid.UUID = WALLET, credit: uuid.UUID = SINK) -> Transfer:
    return Transfer(uuid.uuid4(), debit, credit, amount, "payment")


async def viewed(conn: asyncpg.Connection, *groups: list[Transfer]) -> LedgerView:
    view = LedgerView()
    await view.load(conn, view.missing(groups))
    return view


async def balance(conn: asyncpg.Connection, account: uuid.UUID) -> Balance:
    (record,) = await ledger.lookup_accounts(conn, [account])
    return record.balance


async def test_a_plan_whose_premises_hold_is_written(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        first, second = [pay(600), pay(500)], [pay(400, credit=OTHER_SINK)]
        view = await viewed(conn, first, second)
        plan = plan_batch(view, [first, second])
        assert plan is not None
        assert plan.results == [[R.OK, R.EXCEEDS_AVAILABLE_BALANCE], [R.OK]]
        assert await apply_plan(conn, plan)
        assert await balance(conn, WALLET) == Balance(debits_posted=1_000, credits_posted=1_000)
        assert await balance(conn, SINK) == Balance(credits_posted=600)
        # The view moved past its own plan: the next one extends it without a read.
        again = plan_batch(view, [[pay(1)]])
        assert again is not None
        assert again.results == [[R.EXCEEDS_AVAILABLE_BALANCE]]
        assert await apply_plan(conn, again)
        assert await ledger.verify(conn) == []


async def test_a_balance_moved_elsewhere_refuses_the_plan(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, pool.acquire() as other:
        batch = [pay(700)]
        view = await viewed(conn, batch)
        plan = plan_batch(view, [batch])
        assert plan is not None
        assert plan.results == [[R.OK]]
        assert await ledger.create_transfers(other, [pay(400)]) == [R.OK]  # another writer
        assert not await apply_plan(conn, plan)
        assert await ledger.lookup_transfers(conn, [batch[0].id]) == []
        # The locked path decides again, on what is really there.
        assert await ledger.create_transfers(conn, batch) == [R.EXCEEDS_AVAILABLE_BALANCE]
        assert await ledger.verify(conn) == []


async def test_a_stale_balance_under_the_current_head_refuses_the_plan(
    pool: asyncpg.Pool,
) -> None:
    """The view may know the head after a write it did not see the balances of (it re-reads
    only the head and the accounts it lacks): the balances are premises of their own."""
    async with pool.acquire() as conn, pool.acquire() as other:
        batch = [pay(700)]
        view = await viewed(conn, batch)
        assert await ledger.create_transfers(other, [pay(400, credit=OTHER_SINK)]) == [R.OK]
        view.head = None
        await view.load(conn, [])  # the head only: the wallet's balance is stale
        plan = plan_batch(view, [batch])
        assert plan is not None
        assert plan.results == [[R.OK]]
        assert not await apply_plan(conn, plan)
        assert await balance(conn, WALLET) == Balance(debits_posted=400, credits_posted=FUNDS)


async def test_a_moved_head_refuses_the_plan(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, pool.acquire() as other:
        batch = [pay(100)]
        view = await viewed(conn, batch)
        # A write to accounts the plan does not name still moves the chain head; the plan,
        # decided after it, is stamped later than it, but extends the head the view saw.
        assert await ledger.create_transfers(other, [pay(5, OTHER_WALLET, OTHER_SINK)]) == [R.OK]
        plan = plan_batch(view, [batch])
        assert plan is not None
        assert plan.base > await ledger.ledger_clock(conn)
        assert not await apply_plan(conn, plan)
        assert await balance(conn, WALLET) == Balance(credits_posted=FUNDS)


async def test_an_existing_id_refuses_the_plan(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        done = pay(100)
        assert await ledger.create_transfers(conn, [done]) == [R.OK]
        view = await viewed(conn, [done])
        plan = plan_batch(view, [[done]])  # the view cannot know the id is taken
        assert plan is not None
        assert plan.results == [[R.OK]]
        assert not await apply_plan(conn, plan)
        assert await ledger.create_transfers(conn, [done]) == [R.EXISTS]
        assert await balance(conn, WALLET) == Balance(debits_posted=100, credits_posted=FUNDS)


async def test_every_named_account_must_be_a_premise(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        batch = [pay(100)]
        plan = plan_batch(await viewed(conn, batch), [batch])
        assert plan is not None
        unchecked = dataclasses.replace(
            plan, balances_before={WALLET: plan.balances_before[WALLET]}
        )
        assert not await apply_plan(conn, unchecked)
        assert await ledger.lookup_transfers(conn, [batch[0].id]) == []


async def test_a_wrong_decision_on_true_premises_is_refused(pool: asyncpg.Pool) -> None:
    """A bug in the view (here: a wallet it believes richer than it is) cannot overdraw: the
    premises sent are the true balances, and the database's own rules refuse the overdraft."""
    async with pool.acquire() as conn:
        batch = [pay(FUNDS + 1)]
        view = await viewed(conn, batch)
        account, true_balance = view.accounts[WALLET]
        view.accounts[WALLET] = (account, Balance(credits_posted=FUNDS * 2))
        plan = plan_batch(view, [batch])
        assert plan is not None
        assert plan.results == [[R.OK]]
        lying = dataclasses.replace(
            plan, balances_before={**plan.balances_before, WALLET: true_balance}
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await apply_plan(conn, lying)
        assert await balance(conn, WALLET) == Balance(credits_posted=FUNDS)


async def test_resolutions_reversals_and_unknown_accounts_are_not_planned(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        pending = dataclasses.replace(pay(100), pending=True)
        assert await ledger.create_transfers(conn, [pending]) == [R.OK]
        post = Transfer(
            uuid.uuid4(), None, None, 0, "payment", post_pending=True, pending_id=pending.id
        )
        view = await viewed(conn, [pay(1)])
        assert plan_batch(view, [[post]]) is None
        reversal = dataclasses.replace(pay(1, SINK, WALLET), reverses_id=pending.id)
        assert plan_batch(view, [[reversal]]) is None
        assert plan_batch(view, [[pay(1, WALLET, uuid.uuid4())]]) is None
        assert plan_batch(LedgerView(), [[pay(1)]]) is None  # no head seen yet


async def test_group_committer_falls_back_when_another_writer_moves_first(
    pool: asyncpg.Pool,
) -> None:
    async with ledger.GroupCommitter(pool) as committer, pool.acquire() as other:
        assert await committer.create_transfers([pay(100)]) == [R.OK]
        assert await committer.create_transfers([pay(100)]) == [R.OK]
        optimistic = committer.optimistic_batches
        assert optimistic >= 1  # the view knew the wallet after the first batch
        assert await ledger.create_transfers(other, [pay(750)]) == [R.OK]  # behind its back
        # The view still believes 800 is available: its plan is refused, the locked path
        # decides on the 50 really left.
        assert await committer.create_transfers([pay(100)]) == [R.EXCEEDS_AVAILABLE_BALANCE]
        assert await committer.create_transfers([pay(50)]) == [R.OK]
        assert committer.locked_batches >= 1
        async with pool.acquire() as conn:
            assert await balance(conn, WALLET) == Balance(debits_posted=FUNDS, credits_posted=FUNDS)
            assert await ledger.verify(conn) == []


async def test_group_committer_takes_the_locked_path_for_resolutions(
    pool: asyncpg.Pool,
) -> None:
    async with ledger.GroupCommitter(pool) as committer:
        pending = dataclasses.replace(pay(300), pending=True, timeout_s=60)
        assert await committer.create_transfers([pending]) == [R.OK]
        post = Transfer(
            uuid.uuid4(), None, None, 200, "payment", post_pending=True, pending_id=pending.id
        )
        assert await committer.create_transfers([post]) == [R.OK]
        assert await committer.create_transfers([post]) == [R.EXISTS]
        assert await committer.create_transfers([pay(800)]) == [R.OK]
        assert await committer.create_transfers([pay(1)]) == [R.EXCEEDS_AVAILABLE_BALANCE]
    async with pool.acquire() as conn:
        assert await balance(conn, WALLET) == Balance(debits_posted=1_000, credits_posted=FUNDS)
        assert await ledger.verify(conn) == []


_SCANS = (
    "SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables"
    " WHERE schemaname = 'ledger' AND relname IN ('accounts', 'transfers')"
)


async def _seq_scans(conn: asyncpg.Connection) -> int:
    await conn.execute("SELECT pg_stat_force_next_flush()")  # this backend's counts, now
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return int(await conn.fetchval(_SCANS))


async def test_batches_look_rows_up_by_key_never_by_scanning_tables(pool: asyncpg.Pool) -> None:
    """A batch names a few rows of tables that only grow (every account, every transfer): a
    whole-table scan per batch would make each batch slower than the last (migration 0004)."""
    async with pool.acquire() as conn:
        payees = [uuid.uuid4() for _ in range(300)]
        created = await ledger.create_accounts(
            conn, [Account(p, "payee", "provider", FundingStream.NHS) for p in payees]
        )
        assert set(created) == {ledger.CreateAccountResult.OK}
        before = await _seq_scans(conn)
        view = LedgerView()
        for round_ in range(15):  # 900p of the wallet's 1,000
            batch = [pay(1, credit=payees[(round_ * 30 + k) % 300]) for k in range(30)]
            assert await ledger.create_transfers(conn, batch) == [R.OK] * 30  # locked path
            batch = [pay(1, credit=payees[(round_ * 7 + k) % 300]) for k in range(30)]
            view.clear()  # the locked path just moved the head and the wallet
            await view.load(conn, view.missing([batch]))
            plan = plan_batch(view, [batch])
            assert plan is not None
            assert await apply_plan(conn, plan)  # optimistic path
        assert await _seq_scans(conn) == before


async def test_a_caller_transaction_decides_on_its_view_and_falls_back(
    pool: asyncpg.Pool,
) -> None:
    """A service commits its own rows with the transfers: the viewed call runs inside its
    transaction, on the view when the premises hold and on the locked path when not."""
    view = LedgerView()
    async with pool.acquire() as conn, pool.acquire() as other:
        await conn.execute("CREATE TABLE payments (id uuid PRIMARY KEY)")
        for amount in (300, 300):
            async with conn.transaction():
                await conn.execute("INSERT INTO payments VALUES ($1)", uuid.uuid4())
                results = await create_transfer_groups_viewed(conn, view, [[pay(amount)]])
                assert results == [[R.OK]]
        assert view.head is not None  # both were decided on the view
        assert await ledger.create_transfers(other, [pay(300)]) == [R.OK]  # behind its back
        async with conn.transaction():
            results = await create_transfer_groups_viewed(conn, view, [[pay(300)], [pay(100)]])
        assert results == [[R.EXCEEDS_AVAILABLE_BALANCE], [R.OK]]
        assert await conn.fetchval("SELECT count(*) FROM payments") == 2
        assert await balance(conn, WALLET) == Balance(debits_posted=1_000, credits_posted=FUNDS)
        assert await ledger.verify(conn) == []
