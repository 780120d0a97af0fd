"""The payment service's events, written to its outbox in the transaction of their change."""

from __future__ import annotations

from google.protobuf.message import Message

from onebudget.shared.outbox import OutgoingEvent, new_event

SOURCE = "payment"
SCHEMA = "payment"


def event(
    payload: Message, aggregate_type: str, aggregate_id: object, version: int, request_id: str
) -> OutgoingEvent:
    """`aggregate_type` is payment, schedule or repayment (the subject's second part)."""
    return new_event(
        payload,
        source=SOURCE,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        aggregate_version=version,
        request_id=request_id,
    )
