"""The payment service's events, written to its outbox in the transaction of their change."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from onebudget.shared.identity import Actor
from onebudget.shared.outbox import OutgoingEvent, new_event

SOURCE = "payment"
SCHEMA = "payment"


def event(
    payload: Message,
    aggregate_type: str,
    aggregate_id: object,
    version: int,
    request_id: str,
    *,
    occurred_at: datetime | timestamp_pb2.Timestamp | None = None,
    trace: tuple[str, str] | None = None,
    actor: Actor | None = None,
) -> OutgoingEvent:
    """`aggregate_type` is payment, schedule or repayment (the subject's second part); `actor`
    who caused it, when not the actor of the task in progress (a batch's callers)."""
    return new_event(
        payload,
        source=SOURCE,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        aggregate_version=version,
        request_id=request_id,
        occurred_at=occurred_at,
        trace=trace,
        actor=actor,
    )
