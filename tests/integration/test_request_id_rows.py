"""Idempotency rows written before the one-meaning rule (request ids in the client's spelling,
digest = SHA-256 of the request as sent): after plumbing migration 0002 their retries still get
the first answer, and anything else with their id is refused, moving nothing."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from google.protobuf import wrappers_pb2

from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared import db
from onebudget.shared.idempotency import run_idempotent
from onebudget.shared.plumbing import plumbing_migrations
from onebudget.shared.request_keys import RequestIdReused
from tests.conftest import FreshDatabase

SCHEMA = "payment"


@pytest.fixture
async def pool(fresh_database: FreshDatabase) -> AsyncIterator[asyncpg.Pool]:
    url = await fresh_database()
    pool = await db.create_pool(url, max_size=3)
    yield pool
    await pool.close()


def _request(request_id: str, amount: int = 300) -> api.ReleasePaymentRequest:
    return api.ReleasePaymentRequest(request_id=request_id, amount_pence=amount)


async def _store_as_before(
    pool: asyncpg.Pool, request: api.ReleasePaymentRequest, answer: str, at: str
) -> None:
    """What run_idempotent stored before the rule."""
    await pool.execute(
        f"INSERT INTO {SCHEMA}.idempotency (request_id, method, request_hash, response,"
        " created_at) VALUES ($1, 'ReleasePayment', $2, $3, $4::text::timestamptz)",
        request.request_id,
        hashlib.sha256(request.SerializeToString(deterministic=True)).digest(),
        wrappers_pb2.StringValue(value=answer).SerializeToString(),
        at,
    )


async def _call(pool: asyncpg.Pool, request: api.ReleasePaymentRequest) -> tuple[str, bool]:
    """(the answer, whether the effect ran)."""
    ran: list[bool] = []

    async def effect(conn: asyncpg.Connection) -> wrappers_pb2.StringValue:
        ran.append(True)
        return wrappers_pb2.StringValue(value="new")

    answer = await run_idempotent(
        pool, SCHEMA, "ReleasePayment", request, wrappers_pb2.StringValue, effect
    )
    return answer.value, bool(ran)


async def test_old_rows_answer_their_retries_after_the_migration(pool: asyncpg.Pool) -> None:
    first, second, *_ = plumbing_migrations(SCHEMA)
    await db.apply_migration_list(pool, "plumbing", [first])
    one, two, three = (str(uuid.uuid4()) for _ in range(3))
    upper = _request(one.upper())
    braces = _request("{" + two.replace("-", "") + "}")
    canonical = _request(three)
    # The fault this rule ends: two spellings of one UUID took two rows (two payments).
    twice = _request("urn:uuid:" + three, 999)
    await _store_as_before(pool, upper, "upper", "2026-01-01")
    await _store_as_before(pool, braces, "braces", "2026-01-02")
    await _store_as_before(pool, twice, "twice", "2026-01-03")
    await _store_as_before(pool, canonical, "canonical", "2026-01-04")
    await db.apply_migration_list(pool, "plumbing", [first, second])
    ids = {
        r["request_id"] for r in await pool.fetch(f"SELECT request_id FROM {SCHEMA}.idempotency")
    }
    assert ids == {one, two, three}
    # The later plumbing (the audit trail every call now writes, migration 90) on top.
    await db.apply_migration_list(pool, "plumbing", plumbing_migrations(SCHEMA))
    # Retries as sent before: the first answers, nothing runs again.
    assert await _call(pool, upper) == ("upper", False)
    assert await _call(pool, braces) == ("braces", False)
    assert await _call(pool, canonical) == ("canonical", False)  # the canonical row kept its id
    # Anything else with those ids (another payload, or another spelling of an old digest).
    for other in (_request(one.upper(), 301), _request(one), _request(two), twice):
        with pytest.raises(RequestIdReused):
            await _call(pool, other)
    # A new request in any spelling is decided once.
    four = str(uuid.uuid4())
    assert await _call(pool, _request(four.replace("-", ""))) == ("new", True)
    assert await _call(pool, _request("urn:uuid:" + four)) == ("new", False)
    assert await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.idempotency") == 4
