"""NATS as a 3-node JetStream cluster on loopback (streams with 3 replicas): one node is killed
(-9) during a payment load. No error reaches a caller, every event reaches the stream exactly
once, and the node rejoins and catches up.

The cluster and its PostgreSQL are this test's own (under the session's test folder)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from onebudget.payment.entrypoints.app import SPEC
from onebudget.shared.plumbing import outbox_backlog_sql
from onebudget.shared.runtime.infra import LocalInfra
from onebudget.shared.runtime.nats import LocalNatsCluster
from onebudget.shared.server import ServiceHost
from tests.conftest import service_config
from tests.integration.test_payment_support import funded_budget, payee, release, stub

PAYMENTS = 240
IN_FLIGHT = 8
WAIT_S_MAX = 60.0  # a liveness bound, not a speed target


@pytest.fixture
async def clustered() -> AsyncIterator[LocalInfra]:
    infra = LocalInfra(
        f"test-{os.getpid()}/cluster-{uuid.uuid4().hex[:6]}",
        fresh=True,
        tuned_for_tests=True,
        nats_cluster_size=3,
    )
    await asyncio.to_thread(infra.start)
    try:
        yield infra
    finally:
        await asyncio.to_thread(infra.stop)
        infra.remove_state()


async def test_payments_go_on_while_a_jetstream_node_is_killed(clustered: LocalInfra) -> None:
    cluster = clustered.nats
    assert isinstance(cluster, LocalNatsCluster)
    assert len(cluster.nodes) == 3
    config = service_config(
        SPEC, clustered.database_url, clustered.nats_url, pool_size_max=6, stream_replicas=3
    )
    host = ServiceHost(SPEC, config)
    await host.start()
    try:
        assert host.runtime is not None
        pool, js = host.runtime.pool, host.runtime.js
        info = await js.stream_info("PAYMENT")
        assert info.config.num_replicas == 3
        async with pool.acquire() as conn:
            budget = await funded_budget(conn, (10_000_000, 10_000_000, 0))
        channel, s = stub(host)
        to = await payee(s)
        victim = cluster.nodes[1]
        answered: list[int] = []
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def pay(n: int) -> None:
            async with gate:
                if n == PAYMENTS // 3:
                    await asyncio.to_thread(victim.kill)
                answer = await s.ReleasePayment(release(budget, to, 100 + n), timeout=30)
                answered.append(answer.amount_pence)

        # Any error here (from any call) fails the test: none may reach a caller.
        await asyncio.gather(*(pay(n) for n in range(PAYMENTS)))
        assert sorted(answered) == [100 + n for n in range(PAYMENTS)]

        # Every payment's event reaches the stream once (outbox rows = stream messages).
        total = await pool.fetchval("SELECT count(*) FROM payment.outbox")
        deadline = time.monotonic() + WAIT_S_MAX
        unsent = total
        while time.monotonic() < deadline:
            unsent = await pool.fetchval(outbox_backlog_sql("payment"))
            if unsent == 0:
                break
            await asyncio.sleep(0.2)
        assert unsent == 0
        assert (await js.stream_info("PAYMENT")).state.messages == total

        # The killed node comes back, rejoins and catches up with the others.
        await asyncio.to_thread(victim.restart)
        deadline = time.monotonic() + WAIT_S_MAX
        caught_up = False
        while time.monotonic() < deadline and not caught_up:
            state = await js.stream_info("PAYMENT")
            replicas = state.cluster.replicas if state.cluster and state.cluster.replicas else []
            caught_up = len(replicas) == 2 and all(r.current for r in replicas)
            if not caught_up:
                await asyncio.sleep(0.5)
        assert caught_up, "the restarted node did not catch up"
        await channel.close()
    finally:
        await host.stop()
