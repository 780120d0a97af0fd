"""Entitlement's events: every one is about a person (aggregate "person", its version after the
change), written to the outbox in the transaction of the change it describes."""

from __future__ import annotations

from typing import Any

import asyncpg
from google.protobuf.message import Message

from onebudget.shared.outbox import add_to_outbox, new_event

SOURCE = "entitlement"
AGGREGATE = "person"
SCHEMA = "entitlement"


async def publish(
    conn: asyncpg.Connection, person: Any, request_id: str, *payloads: Message
) -> None:
    """Outbox the payloads as consecutive versions ending at the person row's version."""
    first_version = person["version"] - len(payloads) + 1
    assert first_version >= 1
    await add_to_outbox(
        conn,
        SCHEMA,
        [
            new_event(
                payload,
                source=SOURCE,
                aggregate_type=AGGREGATE,
                aggregate_id=str(person["person_id"]),
                aggregate_version=first_version + i,
                request_id=request_id,
            )
            for i, payload in enumerate(payloads)
        ],
    )
