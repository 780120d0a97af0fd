"""The audit trail's I/O (ADR 17): append records, record refusals, read the trail back.

Each service schema has its own trail (`<schema>.audit_log`, plumbing migration 0090), appended
only through `<schema>.audit_append`, which locks the trail's head, chains the records and
stores them in one statement. Call `append` last in a transaction (after any ledger call): the
head's row lock is then held only for the commit, and the lock order is fixed (the ledger's
head, then the trail's). The rules (what a record says, the chain) are in shared/audit.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import grpc

from onebudget.shared.audit import AuditEntry, AuditRecord, ChainHead, entry
from onebudget.shared.errors import DomainError
from onebudget.shared.identity import Actor
from onebudget.shared.logging import get_logger

_log = get_logger("onebudget.audit")

# Refusals not recorded: a caller with no valid token is nobody (it is logged; recording it
# would let anyone fill the trail); UNAVAILABLE and ABORTED are no answer but "retry" (nothing
# was decided, the database may be away: the retry is recorded when it is answered).
_UNRECORDED = frozenset({"UNAUTHENTICATED", "UNAVAILABLE", "ABORTED"})
RECORD_TIMEOUT_S = 2.0  # a refusal is never held up longer than this by its record
_RECORDED_MARK = "_onebudget_audited"
FETCH_BATCH = 2_000


def append_statement(schema: str) -> str:
    return f"SELECT {schema}.audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9)"


def append_args(entries: Sequence[AuditEntry]) -> list[list[str]]:
    """The nine parallel arrays `audit_append` takes (organisations joined by ',')."""
    return [
        [e.subject for e in entries],
        [e.role for e in entries],
        [",".join(e.organisations) for e in entries],
        [e.client_id for e in entries],
        [e.method for e in entries],
        [e.request_id for e in entries],
        [e.resource for e in entries],
        [e.outcome for e in entries],
        [e.reason for e in entries],
    ]


async def append(conn: asyncpg.Connection, schema: str, entries: Sequence[AuditEntry]) -> None:
    """Append `entries` to `schema`'s trail in one statement, inside the caller's transaction
    (the records commit with the effect they describe, or not at all)."""
    if not entries:
        return
    assert conn.is_in_transaction(), "audit records commit with the effect they describe"
    await conn.execute(append_statement(schema), *append_args(entries))


def mark_recorded(error: BaseException) -> None:
    """Say that `error`'s refusal is in the trail already (a payment batch records its own)."""
    error.__dict__[_RECORDED_MARK] = True


def was_recorded(error: BaseException) -> bool:
    return bool(error.__dict__.get(_RECORDED_MARK, False))


class AuditRecorder:
    """What the gRPC edge calls when a mutating call is refused: the refusal goes to the trail
    in a small transaction of its own (it changed nothing, so it has no other to join)."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._pool = pool
        self._schema = schema

    async def refused(
        self,
        method: str,
        request: Any,
        error: DomainError,
        code: grpc.StatusCode,
        actor: Actor | None = None,
    ) -> None:
        """Record `error` refusing `method` (its short name) for `actor` (the current actor when
        None: an edge that sets the actor only around the handler passes it); never raises (a
        trail that cannot be written is logged, and the caller still gets its refusal)."""
        if was_recorded(error) or code.name in _UNRECORDED:
            return
        record = entry(method, request, actor=actor, outcome=code.name, reason=error.reason)
        try:
            async with asyncio.timeout(RECORD_TIMEOUT_S):
                async with self._pool.acquire() as conn, conn.transaction():
                    await append(conn, self._schema, [record])
        except Exception as failure:  # the refusal must still reach its caller
            _log.warning("audit_refusal_not_recorded", method=method, error=repr(failure))
        mark_recorded(error)


# -- reading ---------------------------------------------------------------------------------------

_COLUMNS = (
    "seq, at, subject, role, organisations, client_id, method, request_id, resource, outcome,"
    " reason, prev_hash, hash"
)


def to_record(row: asyncpg.Record) -> AuditRecord:
    return AuditRecord(
        seq=row["seq"],
        at=row["at"],
        subject=row["subject"],
        role=row["role"],
        organisations=tuple(row["organisations"]),
        client_id=row["client_id"],
        method=row["method"],
        request_id=row["request_id"],
        resource=row["resource"],
        outcome=row["outcome"],
        reason=row["reason"],
        prev_hash=bytes(row["prev_hash"]),
        hash=bytes(row["hash"]),
    )


async def head(conn: asyncpg.Connection | asyncpg.Pool, schema: str) -> ChainHead:
    row = await conn.fetchrow(f"SELECT last_seq, last_hash FROM {schema}.audit_head WHERE id = 1")
    assert row is not None, "the head row is made by plumbing migration 0090"
    return ChainHead(row["last_seq"], bytes(row["last_hash"]))


async def last_record(conn: asyncpg.Connection | asyncpg.Pool, schema: str) -> ChainHead | None:
    """The last committed record's position and hash (what an anchor publishes)."""
    row = await conn.fetchrow(f"SELECT seq, hash FROM {schema}.audit_log ORDER BY seq DESC LIMIT 1")
    return None if row is None else ChainHead(row["seq"], bytes(row["hash"]))


async def records(conn: asyncpg.Connection, schema: str) -> AsyncIterator[AuditRecord]:
    """Every record in position order, read in batches (call inside a transaction)."""
    after = 0
    while True:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM {schema}.audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            after,
            FETCH_BATCH,
        )
        for row in rows:
            yield to_record(row)
        if len(rows) < FETCH_BATCH:
            return
        after = rows[-1]["seq"]
