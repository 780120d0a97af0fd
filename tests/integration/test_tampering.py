"""Tampering is refused or seen (issue 15 item 9, ADR 13).

Each attack of the fault campaign, as the role that made it:
- as the services' database role, a transfer inserted straight into `ledger.transfers` (valid
  accounts, 12,345p), and every other write of a ledger table, is refused: only the ledger API's
  functions write the ledger;
- as a superuser, a transfer rewritten and every transfer after it re-hashed (a consistent chain)
  is seen by verify against the chain head anchored in JetStream;
- payment rows and stored idempotent answers cannot be changed in what they say.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from onebudget import ledger
from onebudget.ledger import Account, FundingStream, Transfer
from onebudget.ledger import CreateTransferResult as R
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.shared.roles import RUNTIME_ROLE, runtime_database_url
from tests.conftest import FreshDatabase, StartService

ALLOCATION = uuid.UUID(int=1)
BUDGET = uuid.UUID(int=2)
PROVIDER = uuid.UUID(int=3)

ACCOUNTS = [
    Account(ALLOCATION, "allocation", "E38000001", FundingStream.NHS, 2025),
    Account(BUDGET, "budget", "person-1", FundingStream.NHS, 2025),
    Account(PROVIDER, "payee", "provider-1", FundingStream.NHS),
]

DIRECT_INSERT = (
    "INSERT INTO ledger.transfers (id, debit_account_id, credit_account_id, amount, reason,"
    " ts, prev_hash, hash) VALUES ($1, $2, $3, 12345, 'payment', 0, '', '')"
)


@pytest.fixture
async def db_url(fresh_database: FreshDatabase) -> str:
    url = await fresh_database()
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    await ledger.apply_ledger_migrations(pool)
    await pool.close()
    return url


@pytest.fixture
async def as_service(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the role the services run as."""
    conn = await asyncpg.connect(runtime_database_url(db_url))
    try:
        yield conn
    finally:
        await conn.close()


def transfer(debit: uuid.UUID, credit: uuid.UUID, amount: int) -> Transfer:
    return Transfer(uuid.uuid4(), debit, credit, amount, "payment")


# -- (a) only the ledger API writes the ledger --------------------------------------------------


async def test_the_service_role_writes_the_ledger_only_through_its_api(
    as_service: asyncpg.Connection,
) -> None:
    assert await as_service.fetchval("SELECT current_user") == RUNTIME_ROLE
    assert set(await ledger.create_accounts(as_service, ACCOUNTS)) == {
        ledger.CreateAccountResult.OK
    }
    moves = [transfer(ALLOCATION, BUDGET, 50_000), transfer(BUDGET, PROVIDER, 20_000)]
    assert await ledger.create_transfers(as_service, moves) == [R.OK, R.OK]
    # The attack: a well-formed transfer between real accounts, written by hand.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_service.execute(DIRECT_INSERT, uuid.uuid4(), BUDGET, PROVIDER)
    assert [t.id for t in await ledger.lookup_transfers(as_service, [m.id for m in moves])] == [
        m.id for m in moves
    ]
    assert await ledger.verify(as_service) == []


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO ledger.accounts (id, kind, owner, funding_stream)"
        " VALUES ('00000000-0000-0000-0000-0000000000aa', 'payee', 'x', 'NHS')",
        "UPDATE ledger.accounts SET owner = owner",
        "DELETE FROM ledger.transfers",
        "UPDATE ledger.chain_head SET last_ts = last_ts + 1",
        "INSERT INTO ledger.funding_routes VALUES ('payee', 'NHS', 'budget', 'NHS')",
        "TRUNCATE ledger.entries",
        "ALTER TABLE ledger.transfers DISABLE TRIGGER USER",
        "SET ROLE onebudget_ledger",
    ],
)
async def test_no_other_write_of_a_ledger_table_is_allowed(
    as_service: asyncpg.Connection, statement: str
) -> None:
    # Refused by the privilege system, not by a trigger the owner could switch off.
    with pytest.raises(
        asyncpg.InsufficientPrivilegeError, match=r"permission denied|must be owner"
    ):
        await as_service.execute(statement)


async def test_a_running_service_holds_no_superuser_and_cannot_insert_a_transfer(
    start_service: StartService,
) -> None:
    host = await start_service(PAYMENT)
    assert host.runtime is not None
    async with host.runtime.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT current_user AS name, rolsuper, rolcreaterole, rolcreatedb"
            " FROM pg_roles WHERE rolname = current_user"
        )
        assert row is not None
        assert row["name"] == RUNTIME_ROLE
        assert row["rolsuper"] is False
        assert row["rolcreaterole"] is False
        assert row["rolcreatedb"] is False
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(DIRECT_INSERT, uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
