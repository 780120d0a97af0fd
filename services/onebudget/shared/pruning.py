"""The supervised task that prunes a schema's idempotency and outbox rows by the windows of
shared/retention.py (run by ServiceHost under shared/aio.supervise, in every service)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from onebudget.shared.clock import SYSTEM_CLOCK, Clock
from onebudget.shared.logging import get_logger
from onebudget.shared.retention import RetentionPolicy, cutoff

_log = get_logger("onebudget.retention")

PRUNE_INTERVAL_S = 3_600.0
PRUNE_BATCH_MAX = 5_000  # rows per DELETE: short transactions, no long lock on a hot table


@dataclass
class Pruned:
    idempotency_rows: int = 0
    outbox_rows: int = 0


async def prune(
    pool: asyncpg.Pool,
    schema: str,
    policy: RetentionPolicy,
    now: datetime,
    batch_max: int = PRUNE_BATCH_MAX,
) -> Pruned:
    """Delete `schema`'s answered idempotency rows older than the request-id window and its
    outbox rows created before the outbox window and published (at or below the relay's
    high-water mark, ADR 21), `batch_max` rows per transaction. A row still in flight (no
    answer) or above the mark is never deleted (the database refuses too, plumbing migration
    0160)."""
    done = Pruned()
    ids_before = cutoff(now, policy.request_id_days)
    created_before = cutoff(now, policy.outbox_days)
    while True:
        n = _count(
            await pool.execute(
                f"DELETE FROM {schema}.idempotency WHERE request_id IN ("
                f" SELECT request_id FROM {schema}.idempotency"
                "  WHERE created_at < $1 AND response IS NOT NULL LIMIT $2)",
                ids_before,
                batch_max,
            )
        )
        done.idempotency_rows += n
        if n < batch_max:
            break
    while True:
        # The created_at bound is BRIN-indexed; the mark bound keeps every unpublished row.
        n = _count(
            await pool.execute(
                f"DELETE FROM {schema}.outbox WHERE seq IN ("
                f" SELECT o.seq FROM {schema}.outbox o, {schema}.outbox_mark m"
                "  WHERE o.created_at < $1 AND (o.xid, o.seq) <= (m.xid, m.seq)"
                "  ORDER BY o.seq LIMIT $2)",
                created_before,
                batch_max,
            )
        )
        done.outbox_rows += n
        if n < batch_max:
            break
    return done


def _count(status: str) -> int:
    """`DELETE 12` -> 12."""
    return int(status.rsplit(" ", 1)[-1])


def pruner(
    pool: asyncpg.Pool,
    schema: str,
    policy: RetentionPolicy,
    clock: Clock = SYSTEM_CLOCK,
    interval_s: float = PRUNE_INTERVAL_S,
) -> Callable[[], Awaitable[None]]:
    """The background task (run under shared/aio.supervise by ServiceHost): prune, then wait."""

    async def retention_pruner() -> None:
        while True:
            pruned = await prune(pool, schema, policy, clock.now())
            if pruned.idempotency_rows or pruned.outbox_rows:
                _log.info(
                    "retention_pruned",
                    schema=schema,
                    idempotency_rows=pruned.idempotency_rows,
                    outbox_rows=pruned.outbox_rows,
                )
            await asyncio.sleep(interval_s)

    return retention_pruner
