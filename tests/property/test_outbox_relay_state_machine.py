"""Hypothesis state machine of the outbox relay's high-water mark (issue 17, ADR 21).

Random transactions are begun, write events in one or several steps, commit or roll back, in
any interleaving (up to three open at once), and the relay publishes a batch of at most three
whenever the machine says so. The model knows which events are committed, rolled back or still
in flight. After every step: no event was published twice; only committed events were
published; each transaction's published events are a prefix of what it wrote, in its order;
the backlog (`outbox_pending`, what settling and the metrics read) is exactly the committed
events not yet published; and with no transaction open, draining the relay publishes every
committed event (none stepped over by the mark).

PostgreSQL is real (one database for the test, on its own event-loop thread); the relay's
publish to JetStream is recorded instead of sent (tests/integration/test_outbox_relay.py covers
the real publish and acknowledgements).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import pytest
from google.protobuf import wrappers_pb2
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from nats.js.client import JetStreamContext

from onebudget.shared import db
from onebudget.shared.outbox import add_to_outbox, new_event
from onebudget.shared.plumbing import outbox_backlog_sql, plumbing_migrations
from onebudget.shared.relay import OutboxRelay, RelaySettings

T = TypeVar("T")
SCHEMA = "entitlement"
OPEN_MAX = 3


class Database:
    """One database with the plumbing schema, and a pool, on its own event-loop thread."""

    def __init__(self, pg_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.admin_url = pg_url
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        self.pool: asyncpg.Pool = self.run(self._start())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    async def _start(self) -> asyncpg.Pool:
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()
        pool = await db.create_pool(
            f"{self.admin_url.rpartition('/')[0]}/{self.name}", max_size=OPEN_MAX + 2
        )
        await db.apply_migration_list(pool, "plumbing", plumbing_migrations(SCHEMA))
        return pool

    async def _stop(self) -> None:
        await self.pool.close()
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()

    def close(self) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


DATABASE: list[Database] = []


class RecordingRelay(OutboxRelay):
    """The relay with JetStream's publish and acknowledgements replaced by a record."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, _NO_JETSTREAM, SCHEMA, RelaySettings(batch_size_max=3))
        self.published: list[str] = []

    async def _publish(self, messages: list[tuple[str, bytes, str]]) -> None:
        self.published += [event_id for _, _, event_id in messages]


class _NoJetStream:
    _nc = None


_NO_JETSTREAM: JetStreamContext = _NoJetStream()  # type: ignore[assignment]


@dataclass
class Open:
    conn: asyncpg.pool.PoolConnectionProxy
    tx: Any
    events: list[str] = field(default_factory=list)


class RelayMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.db = DATABASE[0]
        self.relay = RecordingRelay(self.db.pool)  # a new leader: reads the mark afresh
        self.open: list[Open] = []
        self.committed: list[list[str]] = []  # each committed transaction's events, in order
        self.rolled_back: set[str] = set()
        self.tag = uuid.uuid4().hex

    def _new_events(self, count: int) -> list[Any]:
        return [
            new_event(
                wrappers_pb2.StringValue(value=self.tag),
                source="entitlement",
                aggregate_type="test",
                aggregate_id=self.tag,
            )
            for _ in range(count)
        ]

    @precondition(lambda self: len(self.open) < OPEN_MAX)
    @rule(first=st.integers(0, 2))
    def begin(self, first: int) -> None:
        """Begin a transaction and write its `first` events (0: it has no id yet)."""
        events = self._new_events(first)

        async def go() -> Open:
            conn = await self.db.pool.acquire()
            tx = conn.transaction()
            await tx.start()
            await add_to_outbox(conn, SCHEMA, events)
            return Open(conn, tx, [e.event_id for e in events])

        self.open.append(self.db.run(go()))

    @precondition(lambda self: bool(self.open))
    @rule(which=st.integers(0, OPEN_MAX - 1), count=st.integers(1, 3))
    def write(self, which: int, count: int) -> None:
        t = self.open[which % len(self.open)]
        events = self._new_events(count)
        self.db.run(add_to_outbox(t.conn, SCHEMA, events))
        t.events += [e.event_id for e in events]

    @precondition(lambda self: bool(self.open))
    @rule(which=st.integers(0, OPEN_MAX - 1), commit=st.booleans())
    def end(self, which: int, commit: bool) -> None:
        t = self.open.pop(which % len(self.open))

        async def go() -> None:
            try:
                await (t.tx.commit() if commit else t.tx.rollback())
            finally:
                await self.db.pool.release(t.conn)

        self.db.run(go())
        if commit:
            self.committed.append(t.events)
        else:
            self.rolled_back.update(t.events)

    @rule(count=st.integers(1, 4))
    def write_and_commit(self, count: int) -> None:
        events = self._new_events(count)

        async def go() -> None:
            async with self.db.pool.acquire() as conn, conn.transaction():
                await add_to_outbox(conn, SCHEMA, events)

        self.db.run(go())
        self.committed.append([e.event_id for e in events])

    @rule()
    def publish(self) -> None:
        self.db.run(self.relay.publish_pending())

    @precondition(lambda self: not self.open)
    @rule()
    def drain(self) -> None:
        async def go() -> None:
            while await self.relay.publish_pending():
                pass

        self.db.run(go())
        assert set(self.relay.published) == {e for t in self.committed for e in t}, (
            "a committed event was stepped over"
        )

    @invariant()
    def published_once_committed_and_in_order(self) -> None:
        published = self.relay.published
        assert len(published) == len(set(published)), "an event was published twice"
        committed = {e for t in self.committed for e in t}
        assert set(published) <= committed, "an uncommitted or rolled-back event was published"
        position = {e: i for i, e in enumerate(published)}
        for events in self.committed:
            sent = [e for e in events if e in position]
            assert sent == events[: len(sent)], "a transaction's events were not a prefix"
            assert [position[e] for e in sent] == sorted(position[e] for e in sent)

    @invariant()
    def backlog_is_committed_and_unpublished(self) -> None:
        committed = sum(len(t) for t in self.committed)
        backlog = self.db.run(self.db.pool.fetchval(outbox_backlog_sql(SCHEMA)))
        assert backlog == committed - len(self.relay.published)

    def teardown(self) -> None:
        async def go() -> None:
            for t in self.open:
                try:
                    await t.tx.rollback()
                finally:
                    await self.db.pool.release(t.conn)
            while await self.relay.publish_pending():  # leave the next example a drained outbox
                pass

        self.db.run(go())


@pytest.fixture(scope="module")
def database(pg_url: str) -> Iterator[Database]:
    d = Database(pg_url)
    try:
        yield d
    finally:
        d.close()


def test_outbox_relay_state_machine(database: Database) -> None:
    DATABASE[:] = [database]
    profile = settings.default
    assert profile is not None
    run_state_machine_as_test(
        RelayMachine,
        # At least 100 examples of 40 steps (the CI profile's 25 of 20 seldom reach the 4-step
        # late commit); the deep profile's more.
        settings=settings(
            max_examples=max(100, profile.max_examples),
            stateful_step_count=max(40, profile.stateful_step_count),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
