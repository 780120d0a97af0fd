"""The ledger on a real PostgreSQL: tampering is refused or detected, point-in-time balances,
two-phase details, expiry, paging, and the verify command."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from onebudget import ledger
from onebudget.ledger import Account, Balance, FundingStream, Transfer
from onebudget.ledger import CreateTransferResult as R
from tests.conftest import FreshDatabase

NHS_ALLOCATION = uuid.UUID(int=1)
NHS_BUDGET = uuid.UUID(int=2)
PROVIDER = uuid.UUID(int=3)
COUNCIL_POOL = uuid.UUID(int=4)
RING_FENCE = uuid.UUID(int=5)
HOUR_US = 3600 * 1_000_000


@pytest.fixture
async def db_url(fresh_database: FreshDatabase) -> str:
    return await fresh_database()


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    url = db_url
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    await ledger.apply_ledger_migrations(pool)
    await pool.close()
    connection = await asyncpg.connect(url)
    created = await ledger.create_accounts(
        connection,
        [
            Account(NHS_ALLOCATION, "allocation", "E38000001", FundingStream.NHS, 2025),
            Account(
                NHS_BUDGET,
                "budget",
                "person-1",
                FundingStream.NHS,
                2025,
                debits_must_not_exceed_credits=True,
            ),
            Account(PROVIDER, "payee", "provider-1", FundingStream.NHS),
            Account(COUNCIL_POOL, "pooled_fund", "E09000001", FundingStream.COUNCIL, 2025),
            Account(RING_FENCE, "ring_fence", "E38000001", FundingStream.NHS, 2025),
        ],
    )
    assert set(created) == {ledger.CreateAccountResult.OK}
    try:
        yield connection
    finally:
        await connection.close()


def t(debit: uuid.UUID | None, credit: uuid.UUID | None, amount: int, **kw: object) -> Transfer:
    return Transfer(uuid.uuid4(), debit, credit, amount, str(kw.pop("reason", "payment")), **kw)  # type: ignore[arg-type]


async def balance(conn: asyncpg.Connection, account: uuid.UUID) -> Balance:
    (record,) = await ledger.lookup_accounts(conn, [account])
    return record.balance


async def test_update_and_delete_of_entries_and_transfers_are_refused(
    conn: asyncpg.Connection,
) -> None:
    assert await ledger.create_transfers(conn, [t(NHS_ALLOCATION, NHS_BUDGET, 500)]) == [R.OK]
    for statement in [
        "UPDATE ledger.entries SET credits_posted = credits_posted + 1",
        "DELETE FROM ledger.entries",
        "UPDATE ledger.transfers SET amount = 1",
        "DELETE FROM ledger.transfers",
        "TRUNCATE ledger.entries",
        "UPDATE ledger.accounts SET credits_posted = 1000000",
        "UPDATE ledger.accounts SET funding_stream = 'COUNCIL'",
        "DELETE FROM ledger.accounts",
        "INSERT INTO ledger.entries VALUES ('00000000-0000-0000-0000-000000000002', 1,"
        " '00000000-0000-0000-0000-000000000002', 0, 99, 0, 0)",
        "UPDATE ledger.chain_head SET last_hash = '\\x01'",
    ]:
        with pytest.raises(asyncpg.PostgresError):
            await conn.execute(statement)
    assert await balance(conn, NHS_BUDGET) == Balance(credits_posted=500)
    assert await ledger.verify(conn) == []


async def test_hand_written_inserts_cannot_break_the_invariants(conn: asyncpg.Connection) -> None:
    insert = (
        "INSERT INTO ledger.transfers (id, debit_account_id, credit_account_id, amount, reason,"
        " funding, ts, prev_hash, hash) VALUES ($1, $2, $3, $4, 'manual', $5, 0, '', '')"
    )
    # Colour change off a funding route, and overdrawing a limited account: refused.
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(insert, uuid.uuid4(), NHS_BUDGET, COUNCIL_POOL, 1, False)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(insert, uuid.uuid4(), NHS_BUDGET, PROVIDER, 1, False)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(insert, uuid.uuid4(), uuid.uuid4(), PROVIDER, 1, False)
    # A valid hand-written insert is stamped, chained and posted like any other.
    await conn.execute(insert, uuid.uuid4(), NHS_ALLOCATION, COUNCIL_POOL, 70, True)
    assert await balance(conn, COUNCIL_POOL) == Balance(credits_posted=70)
    assert await ledger.verify(conn) == []


async def test_forged_rows_make_verify_fail(conn: asyncpg.Connection) -> None:
    first = t(NHS_ALLOCATION, NHS_BUDGET, 500)
    assert await ledger.create_transfers(conn, [first, t(NHS_BUDGET, PROVIDER, 200)]) == [R.OK] * 2
    assert await ledger.verify(conn) == []
    # As superuser with triggers off: a transfer with no entries, made-up hash, and a balance
    # nudged directly. Each must show up.
    await conn.execute("SET session_replication_role = replica")
    await conn.execute(
        "INSERT INTO ledger.transfers (id, debit_account_id, credit_account_id, amount, reason,"
        " ts, prev_hash, hash) VALUES ($1, $2, $3, 999, 'forged', $4, '\\x00', '\\x00')",
        uuid.uuid4(),
        NHS_BUDGET,
        PROVIDER,
        2**62,
    )
    await conn.execute("UPDATE ledger.accounts SET credits_posted = 1 WHERE id = $1", PROVIDER)
    await conn.execute("SET session_replication_role = origin")
    problems = await ledger.verify(conn)
    assert any("hash chain" in p for p in problems)
    assert any("chain head" in p for p in problems)
    # The forged transfer debits NHS_BUDGET without its balance moving: invariant 2 (balances
    # equal the sums of the account's transfers) no longer holds there.
    assert any(str(NHS_BUDGET) in p and "balances" in p for p in problems)
    assert any(str(PROVIDER) in p and "balances" in p for p in problems)


async def test_a_transfer_removed_without_its_effect_is_seen_in_the_balances(
    conn: asyncpg.Connection,
) -> None:
    """No entry rows are stored (migration 0170): a transfer deleted with triggers off, the
    chain head put back to its predecessor, leaves balances that its remaining transfers do not
    sum to, and verify names both accounts."""
    first, second = t(NHS_ALLOCATION, NHS_BUDGET, 500), t(NHS_BUDGET, PROVIDER, 200)
    assert await ledger.create_transfers(conn, [first, second]) == [R.OK] * 2
    assert await ledger.verify(conn) == []
    last = await conn.fetchrow(
        "SELECT id, prev_hash, ts FROM ledger.transfers ORDER BY ts DESC LIMIT 1"
    )
    assert last is not None
    assert last["id"] == second.id
    await conn.execute("SET session_replication_role = replica")
    await conn.execute("DELETE FROM ledger.transfers WHERE id = $1", second.id)
    await conn.execute("UPDATE ledger.chain_head SET last_hash = $1", last["prev_hash"])
    await conn.execute("SET session_replication_role = origin")
    problems = await ledger.verify(conn)
    assert sorted(problems) == sorted(
        f"account {account} balances differ from the sums of its transfers"
        for account in (NHS_BUDGET, PROVIDER)
    )


async def test_an_edited_balance_is_seen_whichever_column(conn: asyncpg.Connection) -> None:
    """Each of the four balance columns is checked against the account's transfers."""
    pending = t(NHS_BUDGET, PROVIDER, 40, pending=True, timeout_s=60)
    transfers = [t(NHS_ALLOCATION, NHS_BUDGET, 500), pending]
    assert await ledger.create_transfers(conn, transfers) == [R.OK] * 2
    assert await ledger.verify(conn) == []
    for column in ("debits_posted", "credits_posted", "debits_pending", "credits_pending"):
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            f"UPDATE ledger.accounts SET {column} = {column} + 1 WHERE id = $1", PROVIDER
        )
        await conn.execute("SET session_replication_role = origin")
        problems = await ledger.verify(conn)
        assert f"account {PROVIDER} balances differ from the sums of its transfers" in problems
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            f"UPDATE ledger.accounts SET {column} = {column} - 1 WHERE id = $1", PROVIDER
        )
        await conn.execute("SET session_replication_role = origin")
        assert await ledger.verify(conn) == []


async def test_edited_transfer_breaks_the_chain(conn: asyncpg.Connection) -> None:
    x = t(NHS_ALLOCATION, NHS_BUDGET, 500)
    assert await ledger.create_transfers(conn, [x, t(NHS_ALLOCATION, NHS_BUDGET, 5)]) == [R.OK] * 2
    await conn.execute("SET session_replication_role = replica")
    await conn.execute("UPDATE ledger.transfers SET reason = 'edited' WHERE id = $1", x.id)
    await conn.execute("SET session_replication_role = origin")
    assert await ledger.verify(conn) == [
        f"hash chain broken at transfer {x.id} "
        f"(ts {(await ledger.lookup_transfers(conn, [x.id]))[0].ts})"
    ]


_VERIFY = (
    "import argparse, sys\n"
    "from onebudget.ledger.cli import add_commands\n"
    "p = argparse.ArgumentParser(); add_commands(p.add_subparsers())\n"
    "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))\n"
)


def _run_verify(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _VERIFY, "ledger", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


async def test_verify_command_exit_codes(conn: asyncpg.Connection, db_url: str) -> None:
    assert await ledger.create_transfers(conn, [t(NHS_ALLOCATION, NHS_BUDGET, 5)]) == [R.OK]
    env = {**os.environ, "ONEBUDGET_DATABASE_URL": db_url}
    ok = await asyncio.to_thread(_run_verify, env)
    assert (ok.returncode, ok.stdout.strip()) == (0, "OK")
    await conn.execute("SET session_replication_role = replica")
    await conn.execute("UPDATE ledger.accounts SET credits_posted = 7 WHERE id = $1", PROVIDER)
    await conn.execute("SET session_replication_role = origin")
    bad = await asyncio.to_thread(_run_verify, env)
    assert bad.returncode == 1
    assert str(PROVIDER) in bad.stdout


async def test_point_in_time_balances(conn: asyncpg.Connection) -> None:
    model = Balance()
    checkpoints: list[tuple[int, Balance]] = []
    for amount in [100, 250, 40]:
        assert await ledger.create_transfers(conn, [t(NHS_ALLOCATION, NHS_BUDGET, amount)]) == [
            R.OK
        ]
        model = Balance(credits_posted=model.credits_posted + amount)
        checkpoints.append((await ledger.ledger_clock(conn), model))
    pending = t(NHS_BUDGET, PROVIDER, 90, pending=True)
    assert await ledger.create_transfers(conn, [pending]) == [R.OK]
    checkpoints.append(
        (await ledger.ledger_clock(conn), Balance(credits_posted=390, debits_pending=90))
    )
    post = t(None, None, 60, post_pending=True, pending_id=pending.id)
    assert await ledger.create_transfers(conn, [post]) == [R.OK]
    checkpoints.append(
        (await ledger.ledger_clock(conn), Balance(debits_posted=60, credits_posted=390))
    )
    for at, expected in checkpoints:
        assert await ledger.get_account_balance(conn, NHS_BUDGET, at=at) == expected
    first_ts = checkpoints[0][0]
    assert await ledger.get_account_balance(conn, NHS_BUDGET, at=first_ts - 1) == Balance()
    assert await ledger.get_account_balance(conn, NHS_BUDGET) == checkpoints[-1][1]
    assert await ledger.get_account_balance(conn, uuid.uuid4()) is None


async def test_two_phase_partial_post_releases_the_rest(conn: asyncpg.Connection) -> None:
    assert await ledger.create_transfers(conn, [t(NHS_ALLOCATION, NHS_BUDGET, 1000)]) == [R.OK]
    hold = t(NHS_BUDGET, PROVIDER, 800, pending=True)
    assert await ledger.create_transfers(conn, [hold]) == [R.OK]
    # Pending debits count against the available balance.
    assert await ledger.create_transfers(conn, [t(NHS_BUDGET, PROVIDER, 201)]) == [
        R.EXCEEDS_AVAILABLE_BALANCE
    ]
    post = t(None, None, 300, post_pending=True, pending_id=hold.id)
    assert await ledger.create_transfers(
        conn, [t(None, None, 801, post_pending=True, pending_id=hold.id), post]
    ) == [R.POST_EXCEEDS_PENDING_AMOUNT, R.OK]
    assert await balance(conn, NHS_BUDGET) == Balance(debits_posted=300, credits_posted=1000)
    again = [t(None, None, 0, void_pending=True, pending_id=hold.id), post]
    assert await ledger.create_transfers(conn, again) == [
        R.PENDING_TRANSFER_ALREADY_POSTED,
        R.EXISTS,
    ]
    assert await ledger.verify(conn) == []


async def test_expiry_releases_and_refuses_late_resolution(conn: asyncpg.Connection) -> None:
    assert await ledger.create_transfers(conn, [t(NHS_ALLOCATION, NHS_BUDGET, 1000)]) == [R.OK]
    hold = t(NHS_BUDGET, PROVIDER, 700, pending=True, timeout_s=3600)
    assert await ledger.create_transfers(conn, [hold]) == [R.OK]
    assert await ledger.expire_pending(conn) == 0  # not due yet
    # Past the timeout but before a sweep: resolving is refused all the same.
    late = t(None, None, 0, post_pending=True, pending_id=hold.id)
    head = await ledger.ledger_clock(conn)
    assert await ledger.create_transfers(conn, [late], clock=head + 2 * HOUR_US) == [
        R.PENDING_TRANSFER_EXPIRED
    ]
    assert await ledger.expire_pending(conn, at=head + 2 * HOUR_US) == 1
    assert await balance(conn, NHS_BUDGET) == Balance(credits_posted=1000)
    assert await ledger.create_transfers(conn, [late]) == [R.PENDING_TRANSFER_EXPIRED]
    assert await ledger.expire_pending(conn) == 0
    assert await ledger.verify(conn) == []


async def test_linked_chain_is_all_or_nothing(conn: asyncpg.Connection) -> None:
    chain = [
        t(NHS_ALLOCATION, RING_FENCE, 500, linked=True, funding=True, reason="ring_fence"),
        t(RING_FENCE, NHS_BUDGET, 400, linked=True, funding=True),
        t(NHS_BUDGET, PROVIDER, 401),  # more than the budget received
    ]
    assert await ledger.create_transfers(conn, chain) == [
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
        R.EXCEEDS_AVAILABLE_BALANCE,
    ]
    assert await balance(conn, RING_FENCE) == Balance()
    chain[2] = t(NHS_BUDGET, PROVIDER, 400)
    assert await ledger.create_transfers(conn, chain) == [R.OK] * 3
    assert await ledger.create_transfers(conn, chain) == [R.EXISTS] * 3
    assert await balance(conn, PROVIDER) == Balance(credits_posted=400)


async def test_colour_changes_only_on_funding_routes(conn: asyncpg.Connection) -> None:
    assert await ledger.create_transfers(
        conn,
        [
            t(NHS_ALLOCATION, COUNCIL_POOL, 10),
            t(PROVIDER, COUNCIL_POOL, 10, funding=True),
            t(NHS_ALLOCATION, COUNCIL_POOL, 10, funding=True),
        ],
    ) == [R.FUNDING_STREAMS_MUST_MATCH, R.FUNDING_ROUTE_NOT_ALLOWED, R.OK]


async def test_ring_fence_moves_money_only_on_funding_routes(conn: asyncpg.Connection) -> None:
    fund = t(NHS_ALLOCATION, RING_FENCE, 100, funding=True)
    assert await ledger.create_transfers(conn, [fund]) == [R.OK]
    assert await ledger.create_transfers(
        conn,
        [
            t(RING_FENCE, PROVIDER, 10),  # same colour, but a ring-fence is not for spending
            t(NHS_ALLOCATION, RING_FENCE, 10),  # nor fed other than by a funding transfer
            t(RING_FENCE, NHS_BUDGET, 10, funding=True),
        ],
    ) == [R.FUNDING_ONLY_ACCOUNT, R.FUNDING_ONLY_ACCOUNT, R.OK]


async def test_database_refuses_a_hand_written_ring_fence_drain(conn: asyncpg.Connection) -> None:
    assert await ledger.create_transfers(
        conn, [t(NHS_ALLOCATION, RING_FENCE, 100, funding=True)]
    ) == [R.OK]
    with pytest.raises(asyncpg.CheckViolationError, match="funding-only account"):
        await conn.execute(
            "INSERT INTO ledger.transfers (id, debit_account_id, credit_account_id, amount, reason)"
            " VALUES ($1, $2, $3, 10, 'payment')",
            uuid.uuid4(),
            RING_FENCE,
            PROVIDER,
        )
    assert await balance(conn, RING_FENCE) == Balance(credits_posted=100)


async def test_reversal_and_paging(conn: asyncpg.Connection) -> None:
    payments = [t(NHS_ALLOCATION, PROVIDER, 10 + i) for i in range(5)]
    assert await ledger.create_transfers(conn, payments) == [R.OK] * 5
    fix = t(PROVIDER, NHS_ALLOCATION, 12, reverses_id=payments[2].id, reason="correction")
    too_much = t(PROVIDER, NHS_ALLOCATION, 1, reverses_id=payments[2].id, reason="correction")
    assert await ledger.create_transfers(conn, [fix, too_much]) == [
        R.OK,
        R.REVERSAL_EXCEEDS_ORIGINAL,
    ]
    seen: list[uuid.UUID] = []
    token: str | None = None
    while True:
        page = await ledger.list_transfers(conn, PROVIDER, page_size=2, page_token=token)
        seen += [x.id for x in page.transfers]
        token = page.next_page_token
        if token is None:
            break
    assert seen == [x.id for x in payments] + [fix.id]
    assert await balance(conn, PROVIDER) == Balance(debits_posted=12, credits_posted=60)


async def test_python_digest_matches_the_database(conn: asyncpg.Connection) -> None:
    # Odd text on purpose: quotes, backslashes and non-ASCII quote differently in SQL.
    odd = t(NHS_ALLOCATION, NHS_BUDGET, 7, reason="payment")
    odd = Transfer(
        odd.id,
        NHS_ALLOCATION,
        NHS_BUDGET,
        7,
        "payment",
        budget_ref="it's \\ a £ test",
        plan_line_ref=None,
        payment_ref="x'y",
    )
    assert await ledger.create_transfers(conn, [odd, t(NHS_BUDGET, PROVIDER, 3)]) == [R.OK] * 2
    assert await ledger.verify(conn) == []
    rows = await conn.fetch(
        "SELECT t.hash, ledger.transfer_digest(t.prev_hash, t) AS digest FROM ledger.transfers t"
    )
    assert len(rows) == 2
    assert all(r["hash"] == r["digest"] for r in rows)


async def test_stamped_inserts_with_a_wrong_stamp_are_refused(conn: asyncpg.Connection) -> None:
    from onebudget.ledger.store import chain_hashes

    assert await ledger.create_transfers(conn, [t(NHS_ALLOCATION, NHS_BUDGET, 5)]) == [R.OK]
    head = await conn.fetchrow("SELECT last_ts, last_hash FROM ledger.chain_head")
    assert head is not None
    good = ledger.StoredTransfer(
        id=uuid.uuid4(),
        debit_account_id=NHS_ALLOCATION,
        credit_account_id=NHS_BUDGET,
        amount=1,
        reason="manual",
        budget_ref=None,
        plan_line_ref=None,
        payment_ref=None,
        pending=False,
        post_pending=False,
        void_pending=False,
        expire_pending=False,
        linked=False,
        funding=False,
        pending_id=None,
        reverses_id=None,
        timeout_s=0,
        expires_at=None,
        ts=head["last_ts"] + 1,
    )
    insert = (
        "INSERT INTO ledger.transfers (id, debit_account_id, credit_account_id, amount, reason,"
        " ts, prev_hash, hash) VALUES ($1, $2, $3, $4, 'manual', $5, $6, $7)"
    )

    async def attempt(row: ledger.StoredTransfer, prev: bytes, digest: bytes | None = None) -> None:
        (expected,) = chain_hashes(prev, [row])
        async with conn.transaction():
            await conn.execute("SELECT set_config('ledger.batch_clock', $1, true)", str(good.ts))
            await conn.execute(
                insert,
                row.id,
                row.debit_account_id,
                row.credit_account_id,
                row.amount,
                row.ts,
                prev,
                digest or expected,
            )

    for row, prev, digest in [
        (good, head["last_hash"], bytes(32)),  # a made-up hash
        (good, bytes(32), None),  # not chained to the head
        (
            dataclasses.replace(good, amount=2),
            head["last_hash"],
            chain_hashes(head["last_hash"], [good])[0],
        ),  # the hash of other content
        (dataclasses.replace(good, ts=good.ts + 5), head["last_hash"], None),  # not the clock's
    ]:
        with pytest.raises(asyncpg.CheckViolationError, match="timestamp, expiry or hash"):
            await attempt(row, prev, digest)
    await attempt(good, head["last_hash"])  # the ledger's own stamp is accepted
    assert await balance(conn, NHS_BUDGET) == Balance(credits_posted=6)
    assert await ledger.verify(conn) == []
