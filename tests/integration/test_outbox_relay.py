"""Transactional outbox -> relay -> JetStream -> consumer: every committed event exactly once.

Covers: a committed event arrives once; a rolled-back one never; a relay that dies between
publish and mark-sent re-publishes and JetStream drops the duplicate; a NATS server restarted
while events are being published loses nothing and duplicates nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import nats
import pytest
from google.protobuf import wrappers_pb2
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from onebudget.events.v1 import envelope_pb2
from onebudget.shared import bus, db
from onebudget.shared.aio import cancel_and_wait
from onebudget.shared.outbox import add_to_outbox, new_event
from onebudget.shared.plumbing import plumbing_migrations
from onebudget.shared.relay import OutboxRelay, RelaySettings
from onebudget.shared.runtime.nats import LocalNats
from tests.conftest import FreshDatabase

SCHEMA = "entitlement"


@pytest.fixture
async def pool(fresh_database: FreshDatabase) -> AsyncIterator[asyncpg.Pool]:
    url = await fresh_database()
    pool = await db.create_pool(url, max_size=5)
    await db.apply_migration_list(pool, "plumbing", plumbing_migrations(SCHEMA))
    yield pool
    await pool.close()


async def commit_events(pool: asyncpg.Pool, tag: str, count: int) -> list[str]:
    """Write `count` events (each in its own transaction), tagged so tests can find theirs."""
    ids: list[str] = []
    for i in range(count):
        event = new_event(
            wrappers_pb2.StringValue(value=f"{tag}-{i}"),
            source="entitlement",
            aggregate_type="test",
            aggregate_id=tag,
        )
        async with pool.acquire() as conn, conn.transaction():
            await add_to_outbox(conn, SCHEMA, [event])
        ids.append(event.event_id)
    return ids


async def received_event_ids(
    nats_url: str, tag: str, expected: int, timeout_s: float = 20
) -> list[str]:
    """Every event id on the ENTITLEMENT stream for `tag` (duplicates kept, in stream order)."""
    nc = await nats.connect(nats_url, **bus.auth_options())
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            "onebudget.entitlement.test.>",
            durable=None,
            stream="ENTITLEMENT",
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL),
        )
        found: list[str] = []
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            try:
                batch = await sub.fetch(500, timeout=0.5)
            except TimeoutError:
                if len(found) >= expected:
                    break
                continue
            for msg in batch:
                envelope = envelope_pb2.EventEnvelope.FromString(msg.data)
                if envelope.aggregate_id == tag:
                    found.append(envelope.event_id)
                await msg.ack()
        return found
    finally:
        await nc.close()


@contextlib.asynccontextmanager
async def running_relay(pool: asyncpg.Pool, nats_url: str) -> AsyncIterator[OutboxRelay]:
    nc = await bus.connect(nats_url, name="test-relay")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    relay = OutboxRelay(pool, js, SCHEMA, RelaySettings(poll_interval_s=0.2, ack_timeout_s=2))
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        await cancel_and_wait([task])
        await nc.close()


async def wait_all_sent(pool: asyncpg.Pool, timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        unsent = await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox WHERE sent_at IS NULL")
        if unsent == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("outbox not drained")


async def test_committed_event_arrives_exactly_once(pool: asyncpg.Pool, nats_url: str) -> None:
    tag = uuid.uuid4().hex
    async with running_relay(pool, nats_url):
        ids = await commit_events(pool, tag, 20)
        await wait_all_sent(pool)
    received = await received_event_ids(nats_url, tag, expected=20)
    assert received == ids  # once each, and in commit order


async def test_rolled_back_event_is_never_published(pool: asyncpg.Pool, nats_url: str) -> None:
    tag = uuid.uuid4().hex
    async with running_relay(pool, nats_url):
        never = new_event(
            wrappers_pb2.StringValue(value="never"),
            source="entitlement",
            aggregate_type="test",
            aggregate_id=tag,
        )

        async def refused_change() -> None:
            async with pool.acquire() as conn, conn.transaction():
                await add_to_outbox(conn, SCHEMA, [never])
                raise RuntimeError("business rule refused the change")

        with pytest.raises(RuntimeError, match="business rule"):
            await refused_change()
        kept = await commit_events(pool, tag, 1)
        await wait_all_sent(pool)
    assert await received_event_ids(nats_url, tag, expected=1) == kept


class RelayKilled(Exception):
    """Stands for the relay process dying (SystemExit would stop the test's event loop)."""


class CrashAfterPublish(OutboxRelay):
    """A relay that dies after JetStream acked but before it stamped the rows as sent."""

    async def _mark_sent(self, seqs: list[int]) -> None:
        raise RelayKilled("killed between publish and mark-sent")


async def test_relay_killed_between_publish_and_mark_sent(
    pool: asyncpg.Pool, nats_url: str
) -> None:
    tag = uuid.uuid4().hex
    ids = await commit_events(pool, tag, 10)
    nc = await bus.connect(nats_url, name="test-crash")
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js)
        with pytest.raises(RelayKilled):
            await CrashAfterPublish(pool, js, SCHEMA).publish_pending()
    finally:
        await nc.close()
    assert await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox WHERE sent_at IS NULL") == 10
    async with running_relay(pool, nats_url):  # the restarted relay publishes all 10 again
        await wait_all_sent(pool)
    assert await received_event_ids(nats_url, tag, expected=10) == ids


async def test_nats_restart_while_publishing_loses_and_duplicates_nothing(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    server = LocalNats(tmp_path / "nats")
    server.start()
    try:
        tag = uuid.uuid4().hex
        async with running_relay(pool, server.url):
            writer = asyncio.create_task(commit_events(pool, tag, 400))
            await asyncio.sleep(0.3)
            await asyncio.to_thread(server.restart)
            ids = await writer
            await wait_all_sent(pool, timeout_s=60)
        received = await received_event_ids(server.url, tag, expected=400)
        assert len(received) == len(set(received)), "an event was delivered twice"
        assert sorted(received) == sorted(ids), "an event was lost"
    finally:
        server.stop()
