"""Health follows the parts (issue 15: every background task "shows it in health"): while a
supervised part is failing (the relay cannot publish, a batch worker has no connection, a task
restarting after a failure) or the bus connection is down, the service answers NOT_SERVING and
names the part; once the part recovers it answers SERVING again. Faults are real: NATS killed
and PostgreSQL stopped (immediate), on servers this test owns.

Also the supervision rules themselves: a crash marks a part failing until a run lasts
RECOVERED_AFTER_S; a part that reports trouble in place fails until it reports ok; a failing
child (a consumer under its group) shows in its parent's tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

from onebudget.payment.entrypoints.app import SPEC
from onebudget.shared import aio
from onebudget.shared.aio import Supervision, report_ok, report_trouble, supervise
from onebudget.shared.client import health_of
from onebudget.shared.plumbing import outbox_backlog_sql
from onebudget.shared.runtime.infra import LocalInfra
from onebudget.shared.runtime.nats import LocalNats
from onebudget.shared.server import ServiceHost
from tests.conftest import service_config
from tests.integration.test_payment_support import funded_budget, payee, release, stub

WAIT_S_MAX = 60.0  # a liveness bound, not a speed target


@pytest.fixture
async def own_infra() -> AsyncIterator[LocalInfra]:
    infra = LocalInfra(f"test-{os.getpid()}/health-{uuid.uuid4().hex[:6]}", fresh=True)
    await asyncio.to_thread(infra.start)
    try:
        yield infra
    finally:
        await asyncio.to_thread(infra.stop)
        infra.remove_state()


async def _health(host: ServiceHost) -> tuple[str, list[str]]:
    return await asyncio.to_thread(health_of, host.address)


async def _until(host: ServiceHost, status: str, part: str = "") -> list[str]:
    """Wait until the service's health is `status` (and, if given, `part` is named failing)."""
    deadline = time.monotonic() + WAIT_S_MAX
    seen: tuple[str, list[str]] = ("", [])
    while time.monotonic() < deadline:
        seen = await _health(host)
        if seen[0] == status and (not part or part in seen[1]):
            return seen[1]
        await asyncio.sleep(0.2)
    raise AssertionError(f"health never became {status} naming {part!r}: last {seen}")


async def test_health_names_the_failing_part_and_recovers(own_infra: LocalInfra) -> None:
    assert own_infra.postgres is not None
    assert isinstance(own_infra.nats, LocalNats)
    nats = own_infra.nats
    config = service_config(SPEC, own_infra.database_url, own_infra.nats_url, pool_size_max=4)
    host = ServiceHost(SPEC, config)
    await host.start()
    try:
        assert host.runtime is not None
        async with host.runtime.pool.acquire() as conn:
            budget = await funded_budget(conn, (1_000_000, 1_000_000, 0))
        channel, s = stub(host)
        to = await payee(s)
        await s.ReleasePayment(release(budget, to, 100))
        assert await _until(host, "SERVING") == []
        assert host.serving

        # NATS killed: the bus connection is down, and the relay cannot publish the payment's
        # event (it retries in place). Both are named; payments still go on (outbox).
        await asyncio.to_thread(nats.kill)
        await s.ReleasePayment(release(budget, to, 200))
        failing = await _until(host, "NOT_SERVING", "payment.outbox_relay")
        assert "nats" in failing
        assert not host.serving
        # What `onebudget status` prints for the service: the parts by name.
        assert await _health(host) == ("NOT_SERVING", failing)
        # NATS back: the relay drains and health is SERVING again, naming nothing.
        await asyncio.to_thread(nats.start)
        assert await _until(host, "SERVING") == []
        unsent = outbox_backlog_sql("payment")
        assert await host.runtime.pool.fetchval(unsent) == 0

        # PostgreSQL stopped (immediate): the relay's connection dies and every restart fails
        # until the database is back; the scheduler and the batch workers fail with it.
        await asyncio.to_thread(own_infra.postgres.stop, mode="immediate")
        with contextlib.suppress(grpc.aio.AioRpcError):
            await s.ReleasePayment(release(budget, to, 300), timeout=10)
        await _until(host, "NOT_SERVING", "payment.outbox_relay")
        await asyncio.to_thread(own_infra.postgres.start)
        assert await _until(host, "SERVING") == []
        assert (await s.ReleasePayment(release(budget, to, 400))).amount_pence == 400
        assert await _until(host, "SERVING") == []
        await channel.close()
    finally:
        await host.stop()


async def test_a_crash_fails_a_part_until_a_run_lasts() -> None:
    root = Supervision("svc")
    runs: list[float] = []
    third = asyncio.Event()

    async def flaky() -> None:
        runs.append(time.monotonic())
        if len(runs) <= 2:
            raise ConnectionError("database away")
        third.set()
        await asyncio.sleep(3600)

    with aio.supervising(root):
        task = asyncio.create_task(supervise("svc.flaky", flaky, backoff_s_min=0.05))
    await asyncio.sleep(0.02)
    assert [p.name for p in root.failing_parts()] == ["svc.flaky"]
    (part,) = root.children
    assert part.restarts >= 1
    assert "database away" in part.last_error
    await third.wait()
    assert part.failing  # running again, but not yet for RECOVERED_AFTER_S
    await asyncio.sleep(aio.RECOVERED_AFTER_S + 0.3)
    assert not part.failing
    assert root.failing_parts() == []
    await aio.cancel_and_wait([task])
    assert root.children == []  # an ended part leaves the tree


async def test_trouble_in_place_fails_a_nested_part_until_it_reports_ok() -> None:
    root = Supervision("svc")
    trouble, ok = asyncio.Event(), asyncio.Event()

    async def consumer() -> None:
        report_trouble(ConnectionError("retrying an event"))
        trouble.set()
        await ok.wait()
        report_ok()
        await asyncio.sleep(3600)

    async def group() -> None:  # starts its own supervised tasks, as reporting's group does
        inner = asyncio.create_task(supervise("svc.consumer.x", consumer))
        try:
            await asyncio.sleep(3600)
        finally:
            await aio.cancel_and_wait([inner])

    with aio.supervising(root):
        task = asyncio.create_task(supervise("svc.group", group))
    await trouble.wait()
    assert [p.name for p in root.failing_parts()] == ["svc.consumer.x"]
    assert [p.name for p in root.parts()] == ["svc", "svc.group", "svc.consumer.x"]
    ok.set()
    await asyncio.sleep(0.05)
    assert root.failing_parts() == []
    # Trouble not followed by ok counts for TROUBLE_HOLD_S only (an idle part must not keep
    # its service out of use for ever).
    (part,) = root.children[0].children
    part.troubled_until = time.monotonic() + 0.1
    assert part.failing
    await asyncio.sleep(0.15)
    assert not part.failing
    await aio.cancel_and_wait([task])
