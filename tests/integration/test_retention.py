"""Retention (issue 15, item 12): what is pruned, what is kept, and what a retry meets.

- The pruner deletes only answered idempotency rows older than the request-id window and
  outbox rows sent before the outbox window; in-flight and unsent rows stay, and the database
  refuses to delete an unsent event.
- A payment retried within the window gets its first answer after a prune; retried after the
  window (its row pruned) it is refused REQUEST_ID_EXPIRED and pays nothing twice.
- The streams are created with the configured max age; RebuildReadModel refuses when a stream
  no longer starts at its first event (removed from its start, or aged out), and leaves the
  read model as it was.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import pytest

from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.v1 import reporting_service_pb2 as rep
from onebudget.reporting.v1 import reporting_service_pb2_grpc as rep_grpc
from onebudget.shared import bus, db
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.plumbing import plumbing_migrations
from onebudget.shared.pruning import prune
from onebudget.shared.retention import SECONDS_PER_DAY, RetentionPolicy
from onebudget.shared.runtime.infra import LocalInfra
from onebudget.shared.server import ServiceHost
from tests.conftest import FreshDatabase, StartService, service_config
from tests.integration.test_payment_support import error_of, funded_budget, payee, release, stub

SCHEMA = "entitlement"
NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def pool(fresh_database: FreshDatabase) -> AsyncIterator[asyncpg.Pool]:
    url = await fresh_database()
    pool = await db.create_pool(url, max_size=3)
    await db.apply_migration_list(pool, "plumbing", plumbing_migrations(SCHEMA))
    yield pool
    await pool.close()


async def _request_row(pool: asyncpg.Pool, name: str, age_days: float, answered: bool) -> None:
    await pool.execute(
        f"INSERT INTO {SCHEMA}.idempotency (request_id, method, request_hash, response,"
        " created_at) VALUES ($1, 'M', '\\x00', $2, $3)",
        name,
        b"answer" if answered else None,
        NOW - timedelta(days=age_days),
    )


async def _outbox_row(pool: asyncpg.Pool, name: str, age_days: float) -> None:
    await pool.execute(
        f"INSERT INTO {SCHEMA}.outbox (event_id, subject, envelope, created_at)"
        " VALUES ($1, $2, '\\x00', $3)",
        uuid.uuid5(uuid.NAMESPACE_URL, name),
        name,
        NOW - timedelta(days=age_days),
    )


async def _published_so_far(pool: asyncpg.Pool) -> None:
    """Move the relay's high-water mark past every row written so far (as the relay does once
    JetStream acknowledged them)."""
    await pool.execute(
        f"UPDATE {SCHEMA}.outbox_mark m SET (xid, seq) = (o.xid, o.seq)"
        f" FROM (SELECT xid, seq FROM {SCHEMA}.outbox ORDER BY xid DESC, seq DESC LIMIT 1) o"
    )


async def _kept(pool: asyncpg.Pool) -> tuple[set[str], set[str]]:
    ids = {r[0] for r in await pool.fetch(f"SELECT request_id FROM {SCHEMA}.idempotency")}
    events = {r[0] for r in await pool.fetch(f"SELECT subject FROM {SCHEMA}.outbox")}
    return ids, events


async def test_prune_removes_only_old_answered_and_sent_rows(pool: asyncpg.Pool) -> None:
    policy = RetentionPolicy(request_id_days=40, outbox_days=7, stream_days=0)
    await _request_row(pool, "old-answered", 41, answered=True)
    await _request_row(pool, "old-in-flight", 41, answered=False)
    await _request_row(pool, "young-answered", 39, answered=True)
    await _outbox_row(pool, "old-sent", 8)
    await _outbox_row(pool, "young-sent", 6)
    await _published_so_far(pool)
    await _outbox_row(pool, "old-unsent", 8)  # above the mark: never pruned

    pruned = await prune(pool, SCHEMA, policy, NOW, batch_max=1)  # several rounds

    assert (pruned.idempotency_rows, pruned.outbox_rows) == (1, 1)
    ids, events = await _kept(pool)
    assert ids == {"old-in-flight", "young-answered"}
    assert events == {"old-unsent", "young-sent"}
    # A later run with a longer window is another input of the same kind: nothing more goes.
    longer = RetentionPolicy(request_id_days=400, outbox_days=30, stream_days=0)
    again = await prune(pool, SCHEMA, longer, NOW + timedelta(days=35))
    assert (again.idempotency_rows, again.outbox_rows) == (0, 1)
    assert (await _kept(pool))[1] == {"old-unsent"}


async def test_the_database_refuses_to_delete_an_unsent_event(pool: asyncpg.Pool) -> None:
    await _outbox_row(pool, "sent", 90)
    await _published_so_far(pool)
    await _outbox_row(pool, "unsent", 90)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="unsent"):
        await pool.execute(f"DELETE FROM {SCHEMA}.outbox WHERE subject = 'unsent'")
    await pool.execute(f"DELETE FROM {SCHEMA}.outbox WHERE subject = 'sent'")
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="immutable"):
        await pool.execute(f"UPDATE {SCHEMA}.outbox SET subject = 'changed'")


async def test_a_retry_within_the_window_gets_the_first_answer_and_after_it_pays_nothing(
    start_service: StartService,
) -> None:
    host = await start_service(PAYMENT)
    assert host.runtime is not None
    pool = host.runtime.pool
    policy = host.retention
    channel, s = stub(host)
    async with channel:
        async with pool.acquire() as conn:
            budget = await funded_budget(conn, (1_000_000, 1_000_000, 0))
        to = await payee(s)
        paid = release(budget, to, 1_234)
        first = await s.ReleasePayment(paid)
        held = api.ReservePaymentRequest(
            request_id=str(uuid.uuid4()),
            budget_id=str(budget.budget_id),
            plan_line_id=str(budget.line_id),
            payee_id=to,
            amount_pence=2_000,
            service_period_start="2026-05-01",
            service_period_end="2026-05-31",
            broker_reference="BRK-2",
        )
        reserved = await s.ReservePayment(held)
        now = SYSTEM_CLOCK.now()

        # A day inside the window: pruned nothing of theirs, the retry is the first answer.
        await prune(pool, "payment", policy, now + timedelta(days=policy.request_id_days - 1))
        assert (await s.ReleasePayment(paid)).payment_id == first.payment_id
        assert (await s.ReservePayment(held)).payment_id == reserved.payment_id

        # A day after it: the rows are gone, and the retries move no money.
        late = await prune(
            pool, "payment", policy, now + timedelta(days=policy.request_id_days + 1)
        )
        assert late.idempotency_rows >= 3  # the payee's, the payment's, the reservation's
        for call, request in ((s.ReleasePayment, paid), (s.ReservePayment, held)):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(request)
            code, reason, metadata, _ = error_of(caught.value)
            assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "REQUEST_ID_EXPIRED")
            assert metadata["request_id"] == request.request_id
        moved = await pool.fetchrow(
            "SELECT count(*) AS n, sum(amount_pence) AS paid, sum(reserved_pence) AS held"
            " FROM payment.payments"
        )
        assert (moved["n"], moved["paid"], moved["held"]) == (2, 1_234, 2_000)
        assert await pool.fetchval("SELECT count(*) FROM payment.idempotency") == 0
        # A new request is still paid as ever.
        assert (await s.ReleasePayment(release(budget, to, 99))).amount_pence == 99


async def test_streams_keep_messages_for_the_configured_age(start_service: StartService) -> None:
    host = await start_service(
        PAYMENT, retention=RetentionPolicy(request_id_days=400, outbox_days=30, stream_days=90)
    )
    assert host.runtime is not None
    info = await host.runtime.js.stream_info("PAYMENT")
    assert info.config.max_age == 90 * SECONDS_PER_DAY
    assert info.config.duplicate_window == bus.DUPLICATE_WINDOW_S


# -- rebuild against streams that lost their first events (own servers: the streams change) ---


@pytest.fixture
async def own_infra() -> AsyncIterator[LocalInfra]:
    infra = LocalInfra(f"test-{os.getpid()}/retention-{uuid.uuid4().hex[:6]}", fresh=True)
    await asyncio.to_thread(infra.start)
    try:
        yield infra
    finally:
        await asyncio.to_thread(infra.stop)
        infra.remove_state()


async def _rebuild(host: ServiceHost) -> rep.RebuildReadModelResponse:
    async with open_aio_channel(host.address) as channel:
        stub_ = rep_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
        answer: rep.RebuildReadModelResponse = await stub_.RebuildReadModel(
            rep.RebuildReadModelRequest(request_id=str(uuid.uuid4()))
        )
        return answer


async def _refused(host: ServiceHost) -> dict[str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _rebuild(host)
    code, reason, metadata, _ = error_of(caught.value)
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "STREAM_PRUNED")
    return metadata


async def test_rebuild_refuses_when_a_stream_no_longer_starts_at_its_first_event(
    own_infra: LocalInfra,
) -> None:
    config = service_config(REPORTING, own_infra.database_url, own_infra.nats_url)
    host = ServiceHost(REPORTING, config)
    await host.start()
    # Other services' events, and the deletes, are the operator's to make: reporting's own NATS
    # user may publish neither (ADR 16).
    operator = await bus.connect(own_infra.nats_url, name="test-operator")
    try:
        assert host.runtime is not None
        js = operator.jetstream()
        for i in range(3):
            await js.publish("onebudget.payment.test.noise.v1", f"{i}".encode())
        assert (await _rebuild(host)).consumers_reset  # every stream whole: rebuilt
        marker = "reporting-rebuild-marker"
        await host.runtime.pool.execute(
            "INSERT INTO reporting.applied_events (consumer, event_id) VALUES ($1, $2)",
            marker,
            uuid.uuid4(),
        )

        await js.delete_msg("PAYMENT", 1)  # the stream's first event is gone
        metadata = await _refused(host)
        assert metadata == {"first_sequence_PAYMENT": "2"}
        # Refused before anything was wiped.
        kept = "SELECT count(*) FROM reporting.applied_events WHERE consumer = $1"
        assert await host.runtime.pool.fetchval(kept, marker) == 1

        # Aged out by the stream's max age: the same refusal, naming each stream affected.
        await js.publish("onebudget.allocation.test.noise.v1", b"a")
        await bus.ensure_streams(js, max_age_s=1.0)
        deadline = time.monotonic() + 30
        while (await js.stream_info("ALLOCATION")).state.first_seq <= 1:
            assert time.monotonic() < deadline, "the stream's message never aged out"
            await asyncio.sleep(0.2)
        metadata = await _refused(host)
        assert set(metadata) == {"first_sequence_ALLOCATION", "first_sequence_PAYMENT"}
    finally:
        await operator.close()
        await host.stop()
