"""Allocation's events, written to the outbox in the transaction of the change they describe.
Aggregates: "commissioner" (id ODS code), "council" (id GSS code), "budget" (id budget id, version
= the budget row's version, so a consumer can see gaps)."""

from __future__ import annotations

from typing import Any

import asyncpg
from google.protobuf.message import Message

from onebudget.shared.outbox import add_aggregate_events, add_to_outbox, new_event

SOURCE = "allocation"
SCHEMA = "allocation"


async def publish_budget(
    conn: asyncpg.Connection, budget: Any, request_id: str, *payloads: Message
) -> None:
    """Outbox the payloads as consecutive versions ending at the budget row's version."""
    await add_aggregate_events(
        conn,
        SCHEMA,
        source=SOURCE,
        aggregate_type="budget",
        aggregate_id=str(budget["budget_id"]),
        version=budget["version"],
        request_id=request_id,
        payloads=payloads,
    )


async def publish(
    conn: asyncpg.Connection, aggregate: str, aggregate_id: str, request_id: str, payload: Message
) -> None:
    await add_to_outbox(
        conn,
        SCHEMA,
        [
            new_event(
                payload,
                source=SOURCE,
                aggregate_type=aggregate,
                aggregate_id=aggregate_id,
                request_id=request_id,
            )
        ],
    )
