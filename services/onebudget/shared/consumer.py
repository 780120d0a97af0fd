"""Durable pull consumers that apply each event at most once.

For every message: decode the envelope (a message that cannot be decoded is terminated and
logged: it would never decode on a retry, and must not block the ones after it); then, in one
transaction, record `(consumer, event_id)` in `applied_events` and apply the effect; commit; ack.
A redelivery finds the event id already recorded and only acks. A handler that raises
`PoisonEvent` terminates the message; a transient failure (shared/transient.py: the database
or bus away, a deadlock) is retried in place until the event applies, and never counts toward
`max_deliver`; any other error naks it for a later retry, until `max_deliver`, after which it
is terminated and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError

from onebudget.events.v1 import envelope_pb2
from onebudget.shared import tracing
from onebudget.shared.aio import report_ok, report_trouble
from onebudget.shared.logging import get_logger
from onebudget.shared.metrics import (
    SAMPLE_EVERY_S,
    count_consumed,
    counting_ledger_transfers,
    set_consumer_pending,
)
from onebudget.shared.transient import is_transient

_log = get_logger("onebudget.consumer")

EventHandler = Callable[[asyncpg.Connection, envelope_pb2.EventEnvelope], Awaitable[None]]


class PoisonEvent(Exception):
    """The event can never be applied (a bug or bad data): terminate it, don't retry."""


@dataclass(frozen=True)
class ConsumerSettings:
    fetch_batch_max: int = 200
    fetch_timeout_s: float = 1.0
    max_deliver: int = 5
    ack_wait_s: float = 30.0
    nak_delay_s: float = 1.0
    transient_backoff_s_min: float = 0.1
    transient_backoff_s_max: float = 5.0


class EventConsumer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        *,
        schema: str,
        stream: str,
        durable: str,
        handler: EventHandler,
        filter_subjects: Sequence[str] = (),
        settings: ConsumerSettings | None = None,
    ) -> None:
        self._pool = pool
        self._js = js
        self._schema = schema
        self._stream = stream
        self._durable = durable
        self._handler = handler
        self._filter_subjects = list(filter_subjects)
        self._settings = settings or ConsumerSettings()
        self.applied_total = 0
        self.terminated_total = 0
        self.transient_retries_total = 0
        self._pending_sampled_at = -SAMPLE_EVERY_S

    @property
    def durable_name(self) -> str:
        return self._durable

    def _config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self._durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=self._settings.max_deliver,
            ack_wait=self._settings.ack_wait_s,
            filter_subjects=self._filter_subjects or None,
        )

    async def run(self) -> None:
        """Fetch and apply until cancelled."""
        await self.ensure_consumer()
        sub = await self._js.pull_subscribe_bind(self._durable, self._stream)
        try:
            while True:
                try:
                    messages = await sub.fetch(
                        self._settings.fetch_batch_max, timeout=self._settings.fetch_timeout_s
                    )
                except TimeoutError:
                    await self._sample_pending()
                    continue
                for msg in messages:
                    await self.process(msg)
                if messages and messages[-1].metadata is not None:
                    # Free with every delivery: what the stream holds beyond this batch.
                    set_consumer_pending(
                        self._schema, self._durable, messages[-1].metadata.num_pending
                    )
        finally:
            # Leave nothing for the connection's drain to wait on at shutdown; an unacked
            # message is simply redelivered to whoever runs this consumer next.
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _sample_pending(self) -> None:
        """While idle, JetStream's num_pending of this consumer, at most every SAMPLE_EVERY_S
        (a filtered consumer's pending count is only JetStream's to know)."""
        now = time.monotonic()
        if now - self._pending_sampled_at < SAMPLE_EVERY_S:
            return
        self._pending_sampled_at = now
        with contextlib.suppress(Exception):  # a metric is never worth failing the consumer
            info = await self._js.consumer_info(self._stream, self._durable, timeout=1.0)
            set_consumer_pending(self._schema, self._durable, info.num_pending or 0)

    async def ensure_consumer(self) -> None:
        """Create the durable consumer (idempotent: the same config is accepted again)."""
        try:
            await self._js.add_consumer(self._stream, self._config())
        except BadRequestError as exc:
            # It exists with other settings (an upgrade): keep it, its position matters more.
            _log.warning("consumer_config_kept", consumer=self._durable, error=str(exc))

    async def process(self, msg: Msg) -> None:
        try:
            envelope = envelope_pb2.EventEnvelope.FromString(msg.data)
            event_id = uuid.UUID(envelope.event_id)
        except (DecodeError, ValueError) as exc:
            await self._terminate(msg, "undecodable", error=repr(exc))
            return
        tracer = tracing.TRACER
        if tracer is None:
            await self._process(msg, event_id, envelope)
            return
        trace = (envelope.traceparent, envelope.tracestate)
        with tracing.consumer_span(
            tracer, self._schema, self._durable, envelope.type, envelope.event_id, trace
        ):
            await self._process(msg, event_id, envelope)

    async def _process(
        self, msg: Msg, event_id: uuid.UUID, envelope: envelope_pb2.EventEnvelope
    ) -> None:
        try:
            applied = await self._apply_despite_outages(msg, event_id, envelope)
        except PoisonEvent as exc:
            await self._terminate(msg, "poison", event_id=str(event_id), error=str(exc))
            return
        except Exception as exc:
            await self._retry_or_terminate(msg, envelope, exc)
            return
        await msg.ack()
        if applied:
            self.applied_total += 1
        count_consumed(self._schema, self._durable, "applied" if applied else "duplicate")
        _log.info(
            "event",
            consumer=self._durable,
            event_id=envelope.event_id,
            type=envelope.type,
            request_id=envelope.request_id,
            duplicate=not applied,
        )

    async def _apply_despite_outages(
        self, msg: Msg, event_id: uuid.UUID, envelope: envelope_pb2.EventEnvelope
    ) -> bool:
        """Apply the event, retrying in place while the failure is transient (the database is
        restarting, a deadlock): such a failure says nothing about the event, so it never
        counts toward `max_deliver` and the event is never terminated for it (issue 15: a 12 s
        outage used to drop 399 events from the reports). The message is kept in progress
        meanwhile so JetStream does not hand it to another consumer."""
        backoff = self._settings.transient_backoff_s_min
        while True:
            try:
                applied = await self._apply(event_id, envelope)
                report_ok()
                return applied
            except Exception as exc:
                if not is_transient(exc):
                    raise
                report_trouble(exc)  # health names this consumer until the event applies
                self.transient_retries_total += 1
                _log.warning(
                    "event_retry_transient",
                    consumer=self._durable,
                    event_id=envelope.event_id,
                    error=repr(exc),
                )
            with contextlib.suppress(Exception):
                await msg.in_progress()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._settings.transient_backoff_s_max)

    async def _apply(self, event_id: uuid.UUID, envelope: envelope_pb2.EventEnvelope) -> bool:
        with counting_ledger_transfers(self._schema, "event"):
            return await self._apply_once(event_id, envelope)

    async def _apply_once(self, event_id: uuid.UUID, envelope: envelope_pb2.EventEnvelope) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = await conn.fetchval(
                f"INSERT INTO {self._schema}.applied_events (consumer, event_id) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING RETURNING true",
                self._durable,
                event_id,
            )
            if not fresh:
                return False
            await self._handler(conn, envelope)
            return True

    async def _retry_or_terminate(
        self, msg: Msg, envelope: envelope_pb2.EventEnvelope, exc: Exception
    ) -> None:
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        if delivered >= self._settings.max_deliver:
            await self._terminate(msg, "gave_up", event_id=envelope.event_id, error=repr(exc))
            return
        _log.warning(
            "event_retry", consumer=self._durable, event_id=envelope.event_id, error=repr(exc)
        )
        with contextlib.suppress(Exception):
            await msg.nak(delay=self._settings.nak_delay_s)

    async def _terminate(self, msg: Msg, why: str, **fields: str) -> None:
        self.terminated_total += 1
        count_consumed(self._schema, self._durable, "terminated")
        _log.error("event_terminated", consumer=self._durable, why=why, **fields)
        with contextlib.suppress(Exception):
            await msg.term()
