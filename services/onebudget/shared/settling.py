"""When the stack is settled: the one definition (issue 16, "the printed summary is final").

The reports are built from events, and some work goes on after the last call returns: the relay
publishes what each service committed to its outbox, the payment scheduler pays back-dated
direct-payment instalments (a run every ONEBUDGET_PAYMENT_SCHEDULER_INTERVAL_S, at most
ONEBUDGET_PAYMENT_CATCH_UP_MAX per schedule), and every durable consumer (reporting's read model
among them) applies what was published. Figures read before all of that ends are not final.

`still_moving` (pure) decides from one observation; `observe` (I/O) makes one from the stack's
PostgreSQL and NATS, as the operator who started it (`onebudget up`) can.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import asyncpg

from onebudget.shared.bus import STREAMS, connect
from onebudget.shared.plumbing import outbox_backlog_sql

OUTBOX_SCHEMAS = ("entitlement", "allocation", "payment")  # the services that publish


@dataclass(frozen=True)
class Motion:
    """One look at the work still in flight.

    - `outbox_unsent`: per service schema, events committed and not yet acknowledged by
      JetStream (the outbox rows above the relay's high-water mark, ADR 21);
    - `consumers_behind`: per durable consumer (`STREAM/name`), events published to its stream
      and not yet applied and acknowledged (JetStream's num_pending + num_ack_pending: its
      applied position is behind the stream's published position by that many);
    - `schedules_behind`: direct-payment schedules with an instalment due on or before today
      (England) that the scheduler may pay and has not yet paid.
    """

    outbox_unsent: Mapping[str, int] = field(default_factory=dict)
    consumers_behind: Mapping[str, int] = field(default_factory=dict)
    schedules_behind: int = 0


def still_moving(motion: Motion) -> list[str]:
    """What is still moving, one phrase each; empty when the stack is settled: every outbox
    drained (backlog 0), the schedules caught up, and every consumer's applied position equal
    to its stream's published position (reporting's read model current)."""
    moving = [
        f"{schema} outbox: {count} event(s) unpublished"
        for schema, count in sorted(motion.outbox_unsent.items())
        if count > 0
    ]
    if motion.schedules_behind > 0:
        moving.append(f"{motion.schedules_behind} schedule(s) with instalments due and unpaid")
    moving += [
        f"consumer {name}: {count} event(s) not yet applied"
        for name, count in sorted(motion.consumers_behind.items())
        if count > 0
    ]
    return moving


async def observe(
    database_url: str,
    nats_url: str,
    schedules_behind: Callable[[asyncpg.Connection], Awaitable[int]] | None = None,
) -> Motion:
    """One Motion of the stack at `database_url` / `nats_url` (as its owner: the outboxes of
    every service schema, every durable consumer of the three streams); `schedules_behind`
    counts the schedules still to pay (payment's own query, given by the caller)."""
    conn = await asyncpg.connect(database_url)
    try:
        unsent = {
            schema: int(await conn.fetchval(outbox_backlog_sql(schema)))
            for schema in OUTBOX_SCHEMAS
        }
        behind = await schedules_behind(conn) if schedules_behind is not None else 0
    finally:
        await conn.close()
    client = await connect(nats_url, name="onebudget-settling")
    try:
        js = client.jetstream()
        consumers: dict[str, int] = {}
        for stream in STREAMS:
            for info in await js.consumers_info(stream):
                name = info.config.durable_name or info.name
                consumers[f"{stream}/{name}"] = int(info.num_pending or 0) + int(
                    info.num_ack_pending or 0
                )
    finally:
        await client.close()
    return Motion(outbox_unsent=unsent, consumers_behind=consumers, schedules_behind=behind)


async def wait_settled(
    look: Callable[[], Awaitable[Motion]],
    *,
    timeout_s: float,
    every_s: float = 0.5,
    on_wait: Callable[[list[str]], None] | None = None,
) -> list[str]:
    """Look until two looks in a row find nothing moving (a scheduler run or a relay between two
    looks cannot slip through), or `timeout_s` passes; what was still moving at the end (empty:
    settled). `on_wait` hears what is moving after each unsettled look."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    quiet = 0
    moving: list[str] = []
    while True:
        moving = still_moving(await look())
        quiet = quiet + 1 if not moving else 0
        if quiet >= 2 or loop.time() >= deadline:
            return moving
        if moving and on_wait is not None:
            on_wait(moving)
        await asyncio.sleep(every_s)
