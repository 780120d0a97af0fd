"""Entitlement's events: every one is about a person (aggregate "person", its version after the
change), written to the outbox in the transaction of the change it describes."""

from __future__ import annotations

from typing import Any

import asyncpg
from google.protobuf.message import Message

from onebudget.shared.outbox import OutgoingEvent, add_aggregate_events, new_event

SOURCE = "entitlement"
AGGREGATE = "person"
SCHEMA = "entitlement"


async def publish(
    conn: asyncpg.Connection, person: Any, request_id: str, *payloads: Message
) -> None:
    """Outbox the payloads as consecutive versions ending at the person row's version."""
    await add_aggregate_events(
        conn,
        SCHEMA,
        source=SOURCE,
        aggregate_type=AGGREGATE,
        aggregate_id=str(person["person_id"]),
        version=person["version"],
        request_id=request_id,
        payloads=payloads,
    )


def person_events(person: Any, request_id: str, *payloads: Message) -> list[OutgoingEvent]:
    """The payloads as `publish` would outbox them, for a batch to write with others in one
    statement (shared/outbox.add_to_outbox): consecutive versions ending at the row's version."""
    first = person["version"] - len(payloads) + 1
    assert first >= 1
    return [
        new_event(
            payload,
            source=SOURCE,
            aggregate_type=AGGREGATE,
            aggregate_id=str(person["person_id"]),
            aggregate_version=first + i,
            request_id=request_id,
        )
        for i, payload in enumerate(payloads)
    ]
