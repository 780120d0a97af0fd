"""Idempotent mutating RPCs (AIP-155): the request_id row commits with the effect.

`run_idempotent` claims the canonical request_id at the start of the transaction, with the
request's method and digest (shared/request_keys.py decides what a request_id means). A
concurrent call with the same id blocks on the primary key until the first commits, then finds
its stored row: the same request gets the stored answer, any other request (another method or
payload) is refused ALREADY_EXISTS, REQUEST_ID_REUSED. If the first rolled back (a refusal
stores nothing), the second proceeds.

Each call also leaves its record in the service's audit trail (shared/audit.py, ADR 17) in the
same transaction: the answer and its record are one statement, the last before the commit. A
retry given the stored answer is recorded too (reason REPLAYED); a refusal rolls this
transaction back and the edge records it on its own.

The row keeps the subject of the acting caller (shared/identity.current_actor); a retry by
another caller is refused PERMISSION_DENIED, PERMISSION_DENIED_REQUEST_ID and told nothing
(shared/request_keys.py, "One caller per request_id").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg
from google.protobuf.message import Message

from onebudget.shared import audit
from onebudget.shared.audit_log import append, append_args
from onebudget.shared.identity import current_actor
from onebudget.shared.metrics import counting_ledger_transfers
from onebudget.shared.request_keys import (
    IdempotencyKey,
    RequestIdReused,
    StoredRequest,
    canonical_request_id,
    check_request_id,
    replay,
)

__all__ = [
    "IdempotencyKey",
    "RequestIdReused",
    "canonical_request_id",
    "check_request_id",
    "run_idempotent",
]

ResponseT = TypeVar("ResponseT", bound=Message)


async def run_idempotent(
    pool: asyncpg.Pool,
    schema: str,
    method: str,
    request: Message,
    response_type: type[ResponseT],
    effect: Callable[[asyncpg.Connection], Awaitable[ResponseT]],
) -> ResponseT:
    """Run `effect` in a transaction at most once per `request.request_id` (in any accepted
    spelling); a retry gets the first answer. Raises RequestIdReused (ALREADY_EXISTS,
    REQUEST_ID_REUSED) for another request with the same id, RequestIdOfAnotherCaller
    (PERMISSION_DENIED, PERMISSION_DENIED_REQUEST_ID) when another caller used the id first
    (shared/request_keys.py), RequestInFlight
    (FAILED_PRECONDITION, REQUEST_IN_FLIGHT) if the first has no answer yet. Before `effect`
    runs, `request.request_id` is set to its canonical spelling."""
    key = IdempotencyKey.of(method, request)
    with counting_ledger_transfers(schema, "rpc"):
        return await _run_once(pool, schema, key, request, response_type, effect)


async def _run_once(
    pool: asyncpg.Pool,
    schema: str,
    key: IdempotencyKey,
    request: Message,
    response_type: type[ResponseT],
    effect: Callable[[asyncpg.Connection], Awaitable[ResponseT]],
) -> ResponseT:
    actor = current_actor().subject
    async with pool.acquire() as conn, conn.transaction():
        claimed = await conn.fetchval(
            f"INSERT INTO {schema}.idempotency (request_id, method, request_hash, actor)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO NOTHING RETURNING true",
            key.request_id,
            key.method,
            key.digest,
            actor,
        )
        if not claimed:
            row = await conn.fetchrow(
                f"SELECT method, request_hash, response, actor FROM {schema}.idempotency"
                " WHERE request_id = $1",
                key.request_id,
            )
            assert row is not None
            stored = StoredRequest(
                row["method"], row["request_hash"], row["response"], row["actor"]
            )
            answer = response_type.FromString(replay(stored, key, actor))
            record = audit.entry(key.method, request, answer, reason=audit.REPLAYED)
            await append(conn, schema, [record])
            return answer
        # The effect's rows and events carry the id in one spelling, whatever the client sent.
        setattr(request, "request_id", key.request_id)  # noqa: B010
        response = await effect(conn)
        record = audit.entry(key.method, request, response)
        await conn.execute(
            f"WITH answered AS (UPDATE {schema}.idempotency SET response = $11"
            " WHERE request_id = $10)"
            f" SELECT {schema}.audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            *append_args([record]),
            key.request_id,
            response.SerializeToString(),
        )
        return response


# -- set-based: one statement for a batch of requests (the bulk RPCs, e.g. ImportPeople) --------


async def claim_many(
    conn: asyncpg.Connection, schema: str, keys: Sequence[IdempotencyKey], actor: str
) -> set[str]:
    """Claim each key's request_id in one statement (sorted, so two batches lock them in one
    order), for the caller whose subject is `actor`; the ids claimed now. An id taken by another
    transaction still open waits for it to end (as `run_idempotent`'s claim does). Inside the
    caller's transaction: the claims commit with the effect, or not at all."""
    if not keys:
        return set()
    ordered = sorted(keys, key=lambda k: k.request_id)
    rows = await conn.fetch(
        f"INSERT INTO {schema}.idempotency (request_id, method, request_hash, actor)"
        " SELECT u.r, u.m, u.h, $4 FROM unnest($1::text[], $2::text[], $3::bytea[])"
        " AS u(r, m, h) ORDER BY u.r ON CONFLICT (request_id) DO NOTHING RETURNING request_id",
        [k.request_id for k in ordered],
        [k.method for k in ordered],
        [k.digest for k in ordered],
        actor,
    )
    return {row["request_id"] for row in rows}


async def stored_many(
    conn: asyncpg.Connection, schema: str, request_ids: Sequence[str]
) -> dict[str, StoredRequest]:
    """The stored rows of `request_ids` (those that have one), for `replay`."""
    if not request_ids:
        return {}
    rows = await conn.fetch(
        f"SELECT request_id, method, request_hash, response, actor FROM {schema}.idempotency"
        " WHERE request_id = ANY($1::text[])",
        list(request_ids),
    )
    return {
        r["request_id"]: StoredRequest(r["method"], r["request_hash"], r["response"], r["actor"])
        for r in rows
    }


async def answer_many(
    conn: asyncpg.Connection, schema: str, request_ids: Sequence[str], responses: Sequence[bytes]
) -> None:
    """Store each claimed request's answer (serialised), in one statement."""
    if request_ids:
        await conn.execute(
            f"UPDATE {schema}.idempotency i SET response = u.resp"
            " FROM unnest($1::text[], $2::bytea[]) AS u(rid, resp) WHERE i.request_id = u.rid",
            list(request_ids),
            list(responses),
        )


async def drop_many(conn: asyncpg.Connection, schema: str, request_ids: Sequence[str]) -> None:
    """Release claims of requests refused after claiming: a refusal stores nothing, so its
    retry is decided afresh (as `run_idempotent`'s rollback does)."""
    if request_ids:
        await conn.execute(
            f"DELETE FROM {schema}.idempotency WHERE request_id = ANY($1::text[])",
            list(request_ids),
        )
