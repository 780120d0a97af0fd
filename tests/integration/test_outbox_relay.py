"""Transactional outbox -> relay -> JetStream -> consumer: every committed event exactly once.

Covers: a committed event arrives once; a rolled-back one never; a relay that dies between
publish and moving its high-water mark re-publishes and JetStream drops the duplicate; a NATS
server restarted while events are being published loses nothing and duplicates nothing; a
transaction that takes its sequence value first and commits last is published, not stepped over
(the high-water mark orders by transaction id, ADR 21), also with many writers racing; the
outbox is append-only (the database refuses an UPDATE) and the mark only moves forward.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
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
from onebudget.shared.outbox import OutgoingEvent, add_to_outbox, new_event
from onebudget.shared.plumbing import outbox_backlog_sql, plumbing_migrations
from onebudget.shared.relay import OutboxRelay, RelaySettings, read_mark
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
async def running_relay(
    pool: asyncpg.Pool, nats_url: str, batch_size_max: int = 500
) -> AsyncIterator[OutboxRelay]:
    nc = await bus.connect(nats_url, name="test-relay")
    js = nc.jetstream()
    await bus.ensure_streams(js)
    settings = RelaySettings(batch_size_max=batch_size_max, poll_interval_s=0.2, ack_timeout_s=2)
    relay = OutboxRelay(pool, js, SCHEMA, settings)
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        await cancel_and_wait([task])
        await nc.close()


async def wait_all_sent(pool: asyncpg.Pool, timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        unsent = await pool.fetchval(outbox_backlog_sql(SCHEMA))
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
    """A relay that dies after JetStream acked but before it moved its high-water mark."""

    async def _move_mark(self, mark: tuple[int, int]) -> None:
        raise RelayKilled("killed between publish and moving the mark")


async def test_relay_killed_between_publish_and_moving_the_mark(
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
    assert await pool.fetchval(outbox_backlog_sql(SCHEMA)) == 10
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


def _event(tag: str, value: str, aggregate: str = "") -> OutgoingEvent:
    return new_event(
        wrappers_pb2.StringValue(value=value),
        source="entitlement",
        aggregate_type="test",
        aggregate_id=aggregate or tag,
    )


@contextlib.asynccontextmanager
async def bare_relay(
    pool: asyncpg.Pool, nats_url: str, batch_size_max: int = 500
) -> AsyncIterator[OutboxRelay]:
    """A relay driven by hand (`publish_pending`), no loop: the test decides when it reads."""
    nc = await bus.connect(nats_url, name="test-bare-relay")
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js)
        yield OutboxRelay(pool, js, SCHEMA, RelaySettings(batch_size_max=batch_size_max))
    finally:
        await nc.close()


@pytest.mark.parametrize(("late_events", "batch_size_max"), [(1, 500), (3, 2)])
async def test_a_transaction_that_commits_late_is_published_not_skipped(
    pool: asyncpg.Pool, nats_url: str, late_events: int, batch_size_max: int
) -> None:
    """The late transaction takes its sequence values (and its transaction id) first, then two
    others commit later values, then it commits. A mark on `seq` would have published the later
    ones and stepped over it for ever; the (xid, seq) mark below the snapshot's xmin waits for
    it (delays, never skips). The second input splits the late transaction's rows over
    batches."""
    tag = uuid.uuid4().hex
    late = [_event(tag, f"late-{i}") for i in range(late_events)]
    async with bare_relay(pool, nats_url, batch_size_max) as relay:
        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            await add_to_outbox(conn, SCHEMA, late)
            early = await commit_events(pool, tag, 2)  # later seqs, committed first
            # The late transaction still runs: nothing after it may go, and nothing is lost.
            assert await relay.publish_pending() == 0
            assert await pool.fetchval(outbox_backlog_sql(SCHEMA)) == 2
            await tx.commit()
        while await relay.publish_pending():
            pass
        assert await pool.fetchval(outbox_backlog_sql(SCHEMA)) == 0
    # Published in transaction order: the late transaction took its id first.
    expected = [e.event_id for e in late] + early
    assert await received_event_ids(nats_url, tag, expected=len(expected)) == expected


async def _writer(
    pool: asyncpg.Pool, tag: str, writer: int, rng: random.Random, commits: int
) -> list[str]:
    """One writer's transactions, one after another; some hold their transaction (its id taken
    by the first insert) open while other writers commit, then write more and commit."""
    ids: list[str] = []
    for t in range(commits):
        first = [_event(tag, f"{writer}-{t}-a", f"{tag}-{writer}")]
        second = [
            _event(tag, f"{writer}-{t}-{k}", f"{tag}-{writer}") for k in range(rng.randint(0, 2))
        ]
        hold_s = rng.choice([0.0, 0.0, 0.001, 0.02, 0.08])
        async with pool.acquire() as conn, conn.transaction():
            await add_to_outbox(conn, SCHEMA, first)
            if hold_s:
                await asyncio.sleep(hold_s)
            await add_to_outbox(conn, SCHEMA, second)
        ids += [e.event_id for e in first + second]
        await asyncio.sleep(rng.choice([0.0, 0.001, 0.005]))
    return ids


async def _received_by_writer(nats_url: str, tag: str, expected: int) -> dict[str, list[str]]:
    """Every event id of the race on the stream, per writer (aggregate), in stream order."""
    nc = await nats.connect(nats_url, **bus.auth_options())
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            "onebudget.entitlement.test.>",
            durable=None,
            stream="ENTITLEMENT",
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL),
        )
        found: dict[str, list[str]] = {}
        count = 0
        deadline = asyncio.get_running_loop().time() + 30
        while asyncio.get_running_loop().time() < deadline:
            try:
                batch = await sub.fetch(500, timeout=0.5)
            except TimeoutError:
                if count >= expected:
                    break
                continue
            for msg in batch:
                envelope = envelope_pb2.EventEnvelope.FromString(msg.data)
                if envelope.aggregate_id.startswith(f"{tag}-"):
                    found.setdefault(envelope.aggregate_id, []).append(envelope.event_id)
                    count += 1
                await msg.ack()
        return found
    finally:
        await nc.close()


@pytest.mark.parametrize("seed", [17, 2026])
async def test_racing_writers_each_event_published_once_in_each_writers_order(
    pool: asyncpg.Pool, nats_url: str, seed: int
) -> None:
    """Eight writers with interleaved long and short transactions, the relay running with small
    batches: every committed event is published exactly once, none is lost, and each writer's
    events arrive in the order it wrote them. A pinned transaction takes its id before the race
    and commits only after the writers have committed many later ids (the case a `seq` mark
    loses); the race goes on after it commits, with the relay publishing."""
    rng = random.Random(seed)
    tag = uuid.uuid4().hex
    async with pool.acquire() as pinned:
        tx = pinned.transaction()
        await tx.start()
        held = [_event(tag, "held", f"{tag}-held")]
        await add_to_outbox(pinned, SCHEMA, held)
        async with running_relay(pool, nats_url, batch_size_max=5) as relay:
            race = asyncio.gather(
                *(_writer(pool, tag, w, random.Random(rng.random()), 12) for w in range(8))
            )
            # Polls the table, so there is no asyncio.Event to wait on.
            while await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox") < 40:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            # Every writer's transaction took its id after the pinned one's: none published yet.
            assert relay.published_total == 0
            await tx.commit()
            written = await race
            await wait_all_sent(pool)
    expected = {f"{tag}-{w}": ids for w, ids in enumerate(written)}
    expected[f"{tag}-held"] = [e.event_id for e in held]
    total = sum(len(ids) for ids in expected.values())
    received = await _received_by_writer(nats_url, tag, total)
    assert received == expected  # once each, none lost, each writer's order kept


async def test_the_outbox_refuses_update_and_the_mark_only_moves_forward(
    pool: asyncpg.Pool, nats_url: str
) -> None:
    tag = uuid.uuid4().hex
    await commit_events(pool, tag, 2)
    async with bare_relay(pool, nats_url, batch_size_max=1) as relay:
        assert await relay.publish_pending() == 1  # one published (at the mark), one not
    for published in (True, False):  # a published row and an unpublished one alike
        side = "=" if published else ">"
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="append-only"):
            await pool.execute(
                f"UPDATE {SCHEMA}.outbox SET subject = 'changed'"
                f" WHERE seq {side} (SELECT seq FROM {SCHEMA}.outbox_mark)"
            )
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="forward"):
        await pool.execute(f"UPDATE {SCHEMA}.outbox_mark SET seq = seq - 1")
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="forward"):
        await pool.execute(f"DELETE FROM {SCHEMA}.outbox_mark")
    assert await pool.fetchval(outbox_backlog_sql(SCHEMA)) == 1


@pytest.mark.parametrize(("sent", "mark_seq"), [((1, 2, 4), 2), ((1, 2, 3), 3)])
async def test_the_upgrade_keeps_every_unsent_row_above_the_mark(
    fresh_database: FreshDatabase, nats_url: str, sent: tuple[int, ...], mark_seq: int
) -> None:
    """Rows stamped `sent_at` before plumbing migration 0160: the mark starts just below the
    first row never sent (a sent row above it is published again and dropped by JetStream as a
    duplicate), so no unsent row is skipped; with none unsent, after the last row."""
    url = await fresh_database()
    pool = await db.create_pool(url, max_size=3)
    try:
        before = [m for m in plumbing_migrations(SCHEMA) if m.version < 160]
        await db.apply_migration_list(pool, "plumbing", before)
        tag = uuid.uuid4().hex
        ids = await commit_events(pool, tag, 4)
        await pool.execute(
            f"UPDATE {SCHEMA}.outbox SET sent_at = now() WHERE seq = ANY($1::bigint[])", sent
        )
        await db.apply_migration_list(pool, "plumbing", plumbing_migrations(SCHEMA))
        assert await read_mark(pool, SCHEMA) == (0, mark_seq)
        assert await pool.fetchval(outbox_backlog_sql(SCHEMA)) == 4 - mark_seq
        async with bare_relay(pool, nats_url) as relay:
            assert await relay.publish_pending() == 4 - mark_seq
        assert await pool.fetchval(outbox_backlog_sql(SCHEMA)) == 0
        assert await received_event_ids(nats_url, tag, 4 - mark_seq) == ids[mark_seq:]
        # New rows come after the old ones, with their transaction's id.
        later = await commit_events(pool, tag, 1)
        async with bare_relay(pool, nats_url) as relay:
            assert await relay.publish_pending() == 1
        assert await received_event_ids(nats_url, tag, 5 - mark_seq) == ids[mark_seq:] + later
    finally:
        await pool.close()
