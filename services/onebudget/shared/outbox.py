"""Write events to a service's outbox inside the caller's transaction (transactional outbox)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import asyncpg
from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message

from onebudget.events.v1 import envelope_pb2
from onebudget.shared import tracing
from onebudget.shared.audit import public_actor
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.identity import Actor, current_actor

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def event_token(payload: Message, aggregate_type: str) -> str:
    """`PersonRegistered` on aggregate `person` -> `registered` (the subject's event part)."""
    return _event_token(type(payload).__name__, aggregate_type)


@lru_cache(maxsize=1024)  # a handful of event types, one regex each, not one per event
def _event_token(type_name: str, aggregate_type: str) -> str:
    snake = _CAMEL_BOUNDARY.sub("_", type_name).lower()
    prefix = f"{aggregate_type}_"
    return snake[len(prefix) :] if snake.startswith(prefix) else snake


def subject_for(source: str, aggregate_type: str, payload: Message) -> str:
    """Subjects are `onebudget.<service>.<aggregate>.<event>.v1` (design.md, Events)."""
    return f"onebudget.{source}.{aggregate_type}.{event_token(payload, aggregate_type)}.v1"


def _new_event_id() -> str:
    """str(uuid.uuid4()), formatted straight from the random bits (one per event)."""
    value = int.from_bytes(os.urandom(16), "big") & ~(0xC000 << 48) & ~(0xF000 << 64)
    h = f"{value | (0x8000 << 48) | (4 << 76):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@lru_cache(maxsize=256)
def _envelope_actor(actor: Actor) -> bytes:
    shown = public_actor(actor)
    return envelope_pb2.Actor(
        subject=shown.subject,
        role=str(shown.role),
        organisations=shown.organisations,
        client_id=shown.client_id,
    ).SerializeToString()


def envelope_actor(actor: Actor) -> envelope_pb2.Actor:
    """The acting identity as the envelope carries it (no personal data: audit.public_actor)."""
    return envelope_pb2.Actor.FromString(_envelope_actor(actor))


@dataclass(frozen=True)
class OutgoingEvent:
    subject: str
    envelope: envelope_pb2.EventEnvelope

    @property
    def event_id(self) -> str:
        return self.envelope.event_id


def new_event(
    payload: Message,
    *,
    source: str,
    aggregate_type: str,
    aggregate_id: str,
    aggregate_version: int = 0,
    request_id: str = "",
    correlation_id: str = "",
    occurred_at: datetime | timestamp_pb2.Timestamp | None = None,
    trace: tuple[str, str] | None = None,
    actor: Actor | None = None,
) -> OutgoingEvent:
    """`occurred_at` may come converted already (a batch of events of one instant). `trace` is
    the W3C (traceparent, tracestate) the event continues; None: the span current in this task
    (shared/tracing.py; empty while tracing is off). `actor` is who caused the event (the
    envelope's `actor`): the actor of the call or task in progress unless given (a payment batch
    passes each caller's)."""
    traceparent, tracestate = trace if trace is not None else tracing.current_trace()
    packed = any_pb2.Any()
    packed.Pack(payload)
    if isinstance(occurred_at, timestamp_pb2.Timestamp):
        when = occurred_at
    else:
        when = timestamp_pb2.Timestamp()
        when.FromDatetime(occurred_at or SYSTEM_CLOCK.now())
    event_id = _new_event_id()
    envelope = envelope_pb2.EventEnvelope(
        event_id=event_id,
        type=payload.DESCRIPTOR.full_name,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        occurred_at=when,
        correlation_id=correlation_id or request_id or event_id,
        request_id=request_id,
        payload=packed,
        source=source,
        traceparent=traceparent,
        tracestate=tracestate,
        actor=envelope_actor(actor if actor is not None else current_actor()),
    )
    return OutgoingEvent(subject_for(source, aggregate_type, payload), envelope)


async def add_to_outbox(
    conn: asyncpg.Connection, schema: str, events: Sequence[OutgoingEvent]
) -> None:
    """Insert events in one round trip; must run inside the state change's transaction."""
    if not events:
        return
    assert conn.is_in_transaction(), "outbox rows must commit with their state change"
    await conn.execute(
        f"INSERT INTO {schema}.outbox (event_id, subject, envelope)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[])",
        [uuid.UUID(e.event_id) for e in events],
        [e.subject for e in events],
        [e.envelope.SerializeToString() for e in events],
    )


async def add_aggregate_events(
    conn: asyncpg.Connection,
    schema: str,
    *,
    source: str,
    aggregate_type: str,
    aggregate_id: str,
    version: int,
    request_id: str,
    payloads: Sequence[Message],
) -> None:
    """Outbox `payloads` as consecutive versions of one aggregate, the last being `version` (the
    aggregate row's version after the change), so a consumer can see a gap."""
    first_version = version - len(payloads) + 1
    assert first_version >= 1
    await add_to_outbox(
        conn,
        schema,
        [
            new_event(
                payload,
                source=source,
                aggregate_type=aggregate_type,
                aggregate_id=aggregate_id,
                aggregate_version=first_version + i,
                request_id=request_id,
            )
            for i, payload in enumerate(payloads)
        ],
    )
