"""Idempotent mutating RPCs (AIP-155): the request_id row commits with the effect.

`run_idempotent` claims the request_id at the start of the transaction. A concurrent call with
the same id blocks on the primary key until the first commits, then finds its stored response;
if the first rolled back, the second proceeds. A retry whose body differs from the first is
refused (ALREADY_EXISTS, REQUEST_ID_REUSED): one id, one request.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from google.protobuf.message import Message

from onebudget.shared.errors import AlreadyExists, Violations

ResponseT = TypeVar("ResponseT", bound=Message)


def check_request_id(request_id: str, violations: Violations) -> None:
    """A request_id is required on every mutating call and must be a UUID (AIP-155)."""
    if not request_id:
        violations.add("request_id", "required: a client-chosen UUID, reused on retries")
        return
    try:
        uuid.UUID(request_id)
    except ValueError:
        violations.add("request_id", "must be a UUID")


def request_hash(request: Message) -> bytes:
    return hashlib.sha256(request.SerializeToString(deterministic=True)).digest()


async def run_idempotent(
    pool: asyncpg.Pool,
    schema: str,
    method: str,
    request: Message,
    response_type: type[ResponseT],
    effect: Callable[[asyncpg.Connection], Awaitable[ResponseT]],
) -> ResponseT:
    """Run `effect` in a transaction at most once per `request.request_id`."""
    request_id: str = getattr(request, "request_id")  # noqa: B009 (every mutating request has it)
    digest = request_hash(request)
    async with pool.acquire() as conn, conn.transaction():
        claimed = await conn.fetchval(
            f"INSERT INTO {schema}.idempotency (request_id, method, request_hash)"
            " VALUES ($1, $2, $3) ON CONFLICT (request_id) DO NOTHING RETURNING true",
            request_id,
            method,
            digest,
        )
        if not claimed:
            return await _replay(conn, schema, request_id, method, digest, response_type)
        response = await effect(conn)
        await conn.execute(
            f"UPDATE {schema}.idempotency SET response = $2 WHERE request_id = $1",
            request_id,
            response.SerializeToString(),
        )
        return response


async def _replay(
    conn: asyncpg.Connection,
    schema: str,
    request_id: str,
    method: str,
    digest: bytes,
    response_type: type[ResponseT],
) -> ResponseT:
    row = await conn.fetchrow(
        f"SELECT method, request_hash, response FROM {schema}.idempotency WHERE request_id = $1",
        request_id,
    )
    assert row is not None
    if row["method"] != method or row["request_hash"] != digest or row["response"] is None:
        raise AlreadyExists(
            reason="REQUEST_ID_REUSED",
            message="this request_id was already used for a different request",
            metadata={"request_id": request_id, "first_method": row["method"]},
        )
    return response_type.FromString(row["response"])
