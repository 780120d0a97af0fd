"""The outbox relay: publishes a service's committed events to JetStream, in order, at least once.

The outbox is append-only; the relay's progress is one high-water mark row per schema
(`<schema>.outbox_mark`, plumbing migration 0160, ADR 21), moved once per batch. Crash safety
comes from the order of steps: read the rows after the mark -> publish each with
`Nats-Msg-Id = event_id` -> wait for every ack -> move the mark to the batch's last row. A crash
after publishing but before moving the mark re-publishes on restart, and JetStream drops the
duplicate inside its window.

Which rows, in which order: only rows whose transaction id (`xid`, xid8) is below the xmin of
the read's own snapshot, i.e. whose transaction ended before every transaction still running
began writing, in (xid, seq) order after the mark (xid, seq). A `seq` is taken before commit, so
a mark on `seq` alone would step over a row whose transaction commits after a later `seq` was
read; no row can appear below the snapshot's xmin. The cost: a long-running writing transaction
holds xmin back, which delays publication (never skips it). Each writer's events leave in its
own order (its later transaction has a larger xid); concurrent writers' events may interleave,
and consumers order an aggregate's events by `aggregate_version` as before.
One relay per schema is active at a time (a session advisory lock): with two replicas running,
the second waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import zlib
from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from onebudget.shared.aio import report_ok, report_trouble
from onebudget.shared.logging import get_logger
from onebudget.shared.metrics import observe_batch, observe_relay
from onebudget.shared.plumbing import outbox_channel

_log = get_logger("onebudget.relay")


@dataclass(frozen=True)
class RelaySettings:
    batch_size_max: int = 500
    poll_interval_s: float = 1.0
    ack_timeout_s: float = 5.0
    retry_backoff_s: float = 0.5


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        schema: str,
        settings: RelaySettings | None = None,
        nc: NatsClient | None = None,
        service: str = "",
    ) -> None:
        self._pool = pool
        self._service = service or schema  # the metrics' label
        self._js = js
        self._nc: NatsClient = nc if nc is not None else js._nc
        self._acks: _Acks | None = None  # the batch whose acknowledgements are awaited
        self._inbox = ""
        self._batches = 0
        self._schema = schema
        self._settings = settings or RelaySettings()
        self._wake = asyncio.Event()
        # While running: the leader's own connection (it holds the lock and the LISTEN), used
        # for the reads and stamps too, so a cycle costs no pool acquire and reset round trips.
        self._conn: asyncpg.Connection | None = None
        # The high-water mark (xid, seq) as this leader last read or moved it; None: read it.
        self._mark: tuple[int, int] | None = None
        self.published_total = 0

    def _lock_key(self) -> int:
        return zlib.crc32(f"onebudget.relay.{self._schema}".encode())

    async def run(self) -> None:
        """Run until cancelled."""
        async with self._pool.acquire() as conn:
            await self._hold_leadership(conn)
            self._mark = None  # a previous leader may have moved it: read it afresh
            await conn.add_listener(outbox_channel(self._schema), self._on_notify)
            self._conn = conn
            try:
                await self._loop()
            finally:
                self._conn = None
                with contextlib.suppress(Exception):
                    await conn.remove_listener(outbox_channel(self._schema), self._on_notify)
                    await conn.execute("SELECT pg_advisory_unlock($1)", self._lock_key())

    async def _hold_leadership(self, conn: asyncpg.Connection) -> None:
        # Polls a database lock, so there is no asyncio.Event to wait on.
        while not await conn.fetchval(  # noqa: ASYNC110
            "SELECT pg_try_advisory_lock($1)", self._lock_key()
        ):
            await asyncio.sleep(self._settings.poll_interval_s)

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                sent = await self.publish_pending()
            except Exception as exc:
                if self._lost_connection(exc):
                    # Retrying on a dead connection would spin for ever (issue 15): leave, and
                    # the supervisor runs the relay again on a new connection, taking the
                    # leadership lock (a session lock, gone with the old session) afresh.
                    raise
                _log.warning("relay_retry", schema=self._schema, error=repr(exc))
                report_trouble(exc)  # health: NOT_SERVING, naming the relay, until it publishes
                await asyncio.sleep(self._settings.retry_backoff_s)
                continue
            report_ok()
            if sent < self._settings.batch_size_max:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.poll_interval_s)

    def _lost_connection(self, exc: Exception) -> bool:
        """The leader's own database connection is gone (closed, or a connection-class error)."""
        if self._conn is not None and self._conn.is_closed():
            return True
        return isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.InterfaceError)

    async def publish_pending(self) -> int:
        """Publish one batch of the events after the mark whose transactions have ended; return
        how many were published (and the mark moved past)."""
        db = self._conn or self._pool
        if self._mark is None:
            self._mark = await read_mark(db, self._schema)
        rows = await db.fetch(
            f"SELECT seq, xid::text AS xid, event_id::text, subject, envelope,"
            " EXTRACT(EPOCH FROM clock_timestamp() - created_at)::float8 AS waited_s"
            f" FROM {self._schema}.outbox"
            " WHERE (xid, seq) > ($1::text::xid8, $2::bigint)"
            "  AND xid < pg_snapshot_xmin(pg_current_snapshot())"
            " ORDER BY xid, seq LIMIT $3",
            str(self._mark[0]),
            self._mark[1],
            self._settings.batch_size_max,
        )
        if not rows:
            return 0
        read_at = time.perf_counter()
        # Pipelined: every message goes out in (xid, seq) order on one connection, then we await
        # the acks. If any ack fails, the mark stays and the whole batch is re-sent; JetStream
        # drops the ones it already holds (Nats-Msg-Id), so order is kept for new messages.
        await self._publish([(r["subject"], r["envelope"], r["event_id"]) for r in rows])
        acked_s = time.perf_counter() - read_at
        last = rows[-1]
        await self._move_mark((int(last["xid"]), last["seq"]))
        self.published_total += len(rows)
        observe_batch(self._service, "outbox_relay", len(rows))
        observe_relay(self._service, [row["waited_s"] + acked_s for row in rows])
        return len(rows)

    async def _publish(self, messages: list[tuple[str, bytes, str]]) -> None:
        """Publish to JetStream and wait until every message is acknowledged (stored, or a
        duplicate of one stored). The acks come back to one inbox of the relay's, each to a
        reply subject naming its batch and message, and are counted there: no future, PubAck
        or semaphore per message as `publish_async` has."""
        if not self._inbox:
            self._inbox = self._nc.new_inbox()
            await self._nc.subscribe(f"{self._inbox}.*", cb=self._on_ack)
        self._batches += 1
        acks = self._acks = _Acks(self._batches, len(messages))
        prefix = f"{self._inbox}.{self._batches}_"
        try:
            for i, (subject, payload, event_id) in enumerate(messages):
                await self._nc.publish(
                    subject, payload, reply=f"{prefix}{i}", headers={"Nats-Msg-Id": event_id}
                )
            await asyncio.wait_for(acks.done.wait(), self._settings.ack_timeout_s)
        finally:
            self._acks = None
        if acks.error is not None:
            raise acks.error

    async def _on_ack(self, msg: Msg) -> None:
        acks = self._acks
        batch, _, index = msg.subject.rpartition(".")[2].partition("_")
        if acks is None or int(batch) != acks.batch:
            return  # late, for a batch that already timed out (it is re-sent whole)
        acks.take(int(index), msg)

    async def _move_mark(self, mark: tuple[int, int]) -> None:
        """Record that every event up to `mark` (xid, seq) is acknowledged: one row write per
        batch (the database refuses a mark that moves back)."""
        await (self._conn or self._pool).execute(
            f"UPDATE {self._schema}.outbox_mark"
            " SET xid = $1::text::xid8, seq = $2, moved_at = clock_timestamp() WHERE id = 1",
            str(mark[0]),
            mark[1],
        )
        self._mark = mark


async def read_mark(db: asyncpg.Pool | asyncpg.Connection, schema: str) -> tuple[int, int]:
    """The schema's high-water mark (xid, seq): every event at or below it was acknowledged by
    JetStream."""
    row = await db.fetchrow(f"SELECT xid::text AS xid, seq FROM {schema}.outbox_mark WHERE id = 1")
    assert row is not None, f"{schema}.outbox_mark has no row (plumbing migration 0160)"
    return int(row["xid"]), int(row["seq"])


class PublishRefused(Exception):
    """JetStream did not store a message (no stream for the subject, or an API error)."""


class _Acks:
    """The acknowledgements one published batch is waiting for."""

    def __init__(self, batch: int, count: int) -> None:
        self.batch = batch
        self.waiting = set(range(count))
        self.error: Exception | None = None
        self.done = asyncio.Event()
        if not count:
            self.done.set()

    def take(self, index: int, msg: Msg) -> None:
        data = msg.data
        if not data or b'"error"' in data:
            # An empty reply is a status (503: no stream listens on the subject).
            detail: Any = json.loads(data).get("error") if data else msg.headers
            self.error = PublishRefused(f"JetStream refused a message: {detail}")
            self.done.set()
            return
        self.waiting.discard(index)
        if not self.waiting:
            self.done.set()
