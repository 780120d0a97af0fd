"""Entitlement's events: every one is about a person (aggregate "person", its version after the
change), written to the outbox in the transaction of the change it describes."""

from __future__ import annotations

from typing import Any

import asyncpg
from google.protobuf.message import Message

from onebudget.shared.outbox import add_aggregate_events

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
