"""The stack comes back by itself: a PostgreSQL restart (immediate stop, as a crash or a
failover) during payments. Payments answer UNAVAILABLE while the database is away (not INTERNAL,
not a hang), resume once it is back, and the outbox relay drains every event.

This test runs its own PostgreSQL and NATS (under the session's test folder) so restarting them
cannot disturb any other test."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

from onebudget.payment.entrypoints.app import SPEC
from onebudget.shared.plumbing import outbox_backlog_sql
from onebudget.shared.runtime.infra import LocalInfra
from onebudget.shared.server import ServiceHost
from tests.conftest import service_config
from tests.integration.test_payment_support import funded_budget, payee, release, stub

RETRYABLE = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
)
RESUME_WAIT_S_MAX = 60.0  # a liveness bound, not a speed target (that is scripts/chaos's job)


@pytest.fixture
async def own_infra() -> AsyncIterator[LocalInfra]:
    # Not tuned for tests: with synchronous_commit off, an immediate stop loses the last
    # commits, and this test is about a crash that loses nothing committed.
    infra = LocalInfra(f"test-{os.getpid()}/recovery-{uuid.uuid4().hex[:6]}", fresh=True)
    await asyncio.to_thread(infra.start)
    try:
        yield infra
    finally:
        await asyncio.to_thread(infra.stop)
        infra.remove_state()


async def until_ok(call: object, request: object) -> tuple[object, float]:
    """Retry `call(request)` (same request, so same request_id) until it answers OK."""
    started = time.monotonic()
    last: grpc.aio.AioRpcError | None = None
    while time.monotonic() - started < RESUME_WAIT_S_MAX:
        try:
            answer = await call(request, timeout=5)  # type: ignore[operator]
            return answer, time.monotonic() - started
        except grpc.aio.AioRpcError as error:
            last = error
        if last is not None and last.code() not in RETRYABLE:
            raise AssertionError(f"not a retryable answer: {last.code()} {last.details()}")
        await asyncio.sleep(0.2)
    raise AssertionError(f"payments did not resume: {last!r}")


async def test_payments_and_relay_resume_after_a_postgres_restart(
    own_infra: LocalInfra,
) -> None:
    assert own_infra.postgres is not None
    config = service_config(SPEC, own_infra.database_url, own_infra.nats_url, pool_size_max=4)
    host = ServiceHost(SPEC, config)
    await host.start()
    try:
        assert host.runtime is not None
        pool = host.runtime.pool
        async with pool.acquire() as conn:
            budget = await funded_budget(conn, (1_000_000, 1_000_000, 0))
        channel, s = stub(host)
        to = await payee(s)
        before = await s.ReleasePayment(release(budget, to, 1_000))
        assert before.amount_pence == 1_000

        await asyncio.to_thread(own_infra.postgres.stop, mode="immediate")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await s.ReleasePayment(release(budget, to, 1_000), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, caught.value.details()

        await asyncio.to_thread(own_infra.postgres.start)
        after_request = release(budget, to, 2_000)
        after, _waited = await until_ok(s.ReleasePayment, after_request)
        assert after.amount_pence == 2_000  # type: ignore[attr-defined]
        again = await s.ReleasePayment(after_request)  # the retry is the same payment
        assert again.payment_id == after.payment_id  # type: ignore[attr-defined]
        # Only the two successful payments moved money; the refused one left nothing.
        paid = await pool.fetchval("SELECT coalesce(sum(amount_pence), 0) FROM payment.payments")
        assert paid == 3_000
        # The relay came back too: every committed event reaches JetStream.
        deadline = time.monotonic() + RESUME_WAIT_S_MAX
        while time.monotonic() < deadline:
            unsent = await pool.fetchval(outbox_backlog_sql("payment"))
            if unsent == 0:
                break
            await asyncio.sleep(0.2)
        assert unsent == 0, f"{unsent} events never published after the restart"
        info = await host.runtime.js.stream_info("PAYMENT")
        total = await pool.fetchval("SELECT count(*) FROM payment.outbox")
        assert info.state.messages == total
        await channel.close()
    finally:
        await host.stop()
