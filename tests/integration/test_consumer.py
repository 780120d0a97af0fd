"""Consumers apply each event at most once, and a poison message never blocks the queue."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import nats
import pytest
from google.protobuf import wrappers_pb2
from nats.aio.client import Client as NatsClient
from structlog.testing import capture_logs

from onebudget.events.v1 import envelope_pb2
from onebudget.shared import bus, db
from onebudget.shared.aio import cancel_and_wait
from onebudget.shared.consumer import ConsumerSettings, EventConsumer, EventHandler, PoisonEvent
from onebudget.shared.outbox import new_event
from onebudget.shared.plumbing import plumbing_migrations
from tests.conftest import FreshDatabase

SCHEMA = "reporting"
EFFECTS = f"CREATE TABLE {SCHEMA}.effects (tag text NOT NULL, value text NOT NULL)"


@pytest.fixture
async def pool(fresh_database: FreshDatabase) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(await fresh_database(), max_size=5)
    await db.apply_migration_list(pool, "plumbing", plumbing_migrations(SCHEMA))
    await pool.execute(EFFECTS)
    yield pool
    await pool.close()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NatsClient]:
    client = await nats.connect(nats_url, **bus.auth_options())
    await bus.ensure_streams(client.jetstream())
    yield client
    await client.close()


def envelope(tag: str, value: str) -> envelope_pb2.EventEnvelope:
    return new_event(
        wrappers_pb2.StringValue(value=value),
        source="payment",
        aggregate_type="probe",
        aggregate_id=tag,
    ).envelope


async def publish(nc: NatsClient, tag: str, data: bytes, msg_id: str) -> None:
    await nc.jetstream().publish(
        f"onebudget.payment.probe.{tag}.v1", data, headers={"Nats-Msg-Id": msg_id}
    )


async def record_effect(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    value = wrappers_pb2.StringValue()
    if not env.payload.Unpack(value):
        raise PoisonEvent(f"unexpected payload {env.type}")
    if value.value == "poison":
        raise PoisonEvent("this value can never be applied")
    await conn.execute(
        f"INSERT INTO {SCHEMA}.effects (tag, value) VALUES ($1, $2)", env.aggregate_id, value.value
    )


@contextlib.asynccontextmanager
async def running(consumer: EventConsumer) -> AsyncIterator[EventConsumer]:
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        await cancel_and_wait([task])


def make_consumer(
    pool: asyncpg.Pool, nc: NatsClient, tag: str, handler: EventHandler = record_effect
) -> EventConsumer:
    return EventConsumer(
        pool,
        nc.jetstream(),
        schema=SCHEMA,
        stream="PAYMENT",
        durable=f"test_{tag}",
        handler=handler,
        filter_subjects=[f"onebudget.payment.probe.{tag}.v1"],
        settings=ConsumerSettings(fetch_timeout_s=0.2, nak_delay_s=0.1, max_deliver=3),
    )


async def effects(pool: asyncpg.Pool, tag: str) -> list[str]:
    rows = await pool.fetch(f"SELECT value FROM {SCHEMA}.effects WHERE tag = $1", tag)
    return sorted(r["value"] for r in rows)


async def eventually(check: object, timeout_s: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_redelivered_event_has_no_second_effect(pool: asyncpg.Pool, nc: NatsClient) -> None:
    tag = uuid.uuid4().hex
    env = envelope(tag, "once")
    # The same event reaches the stream twice (different message ids defeat JetStream's
    # duplicate window, as a re-publish after the window would).
    await publish(nc, tag, env.SerializeToString(), str(uuid.uuid4()))
    await publish(nc, tag, env.SerializeToString(), str(uuid.uuid4()))
    async with running(make_consumer(pool, nc, tag)) as consumer:
        await eventually(lambda: _applied(consumer, 1))
    assert await effects(pool, tag) == ["once"]
    assert consumer.applied_total == 1


async def _applied(consumer: EventConsumer, count: int) -> bool:
    return consumer.applied_total >= count


async def test_undecodable_message_is_terminated_logged_and_does_not_block(
    pool: asyncpg.Pool, nc: NatsClient
) -> None:
    tag = uuid.uuid4().hex
    await publish(nc, tag, b"\xff\xfe not a protobuf", str(uuid.uuid4()))
    await publish(nc, tag, envelope(tag, "poison").SerializeToString(), str(uuid.uuid4()))
    await publish(nc, tag, envelope(tag, "after").SerializeToString(), str(uuid.uuid4()))
    with capture_logs() as logs:
        async with running(make_consumer(pool, nc, tag)) as consumer:
            await eventually(lambda: _applied(consumer, 1))
            await eventually(lambda: _terminated(consumer, 2))
    assert await effects(pool, tag) == ["after"]
    reasons = sorted(e["why"] for e in logs if e["event"] == "event_terminated")
    assert reasons == ["poison", "undecodable"]


async def _terminated(consumer: EventConsumer, count: int) -> bool:
    return consumer.terminated_total >= count


async def test_failing_handler_is_retried_then_applied_once(
    pool: asyncpg.Pool, nc: NatsClient
) -> None:
    tag = uuid.uuid4().hex
    attempts: list[int] = []

    async def flaky(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
        await record_effect(conn, env)  # its insert rolls back with the failure below
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("transient")

    consumer = make_consumer(pool, nc, tag, handler=flaky)
    await publish(nc, tag, envelope(tag, "retried").SerializeToString(), str(uuid.uuid4()))
    async with running(consumer):
        await eventually(lambda: _applied(consumer, 1))
    assert len(attempts) == 2
    assert await effects(pool, tag) == ["retried"]


async def test_transient_failures_never_count_toward_the_poison_limit(
    pool: asyncpg.Pool, nc: NatsClient
) -> None:
    """A database outage longer than max_deliver deliveries (here 3) used to terminate the event
    and drop it from the read model for good; transient failures are retried until it applies,
    and a permanent failure still gives up at the limit."""
    tag = uuid.uuid4().hex
    attempts: list[int] = []

    async def outage(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
        attempts.append(1)
        if len(attempts) <= 7:  # more than max_deliver
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
        await record_effect(conn, env)

    consumer = make_consumer(pool, nc, tag, handler=outage)
    consumer._settings = ConsumerSettings(
        fetch_timeout_s=0.2,
        nak_delay_s=0.1,
        max_deliver=3,
        transient_backoff_s_min=0.01,
        transient_backoff_s_max=0.05,
    )
    await publish(nc, tag, envelope(tag, "kept").SerializeToString(), str(uuid.uuid4()))
    async with running(consumer):
        await eventually(lambda: _applied(consumer, 1))
    assert len(attempts) == 8
    assert consumer.terminated_total == 0
    assert consumer.transient_retries_total == 7
    assert await effects(pool, tag) == ["kept"]

    bug_tag = uuid.uuid4().hex

    async def bug(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
        raise ValueError("a bug, not an outage")

    broken = make_consumer(pool, nc, bug_tag, handler=bug)
    await publish(nc, bug_tag, envelope(bug_tag, "never").SerializeToString(), str(uuid.uuid4()))
    async with running(broken):
        await eventually(lambda: _terminated(broken, 1))
    assert broken.transient_retries_total == 0
