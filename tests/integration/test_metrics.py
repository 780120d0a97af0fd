"""Prometheus metrics of a real service (issue 16): after a call, /metrics over HTTP counts it
by method and status code with its latency, and shows the outbox backlog, the database pool and
each supervised background task; after a payment, its ledger transfers, its batch, the relay's
publishing and lag, the consumers' pending counts and the scheduler's runs."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from collections.abc import Callable

import grpc
import pytest

from onebudget.entitlement.entrypoints.app import SPEC
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as api_grpc
from onebudget.payment.entrypoints.app import SPEC as PAYMENT_SPEC
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.runtime.ports import free_port
from tests.conftest import StartService
from tests.integration.test_entitlement_support import new_nhs_number, rid
from tests.integration.test_payment_support import funded_budget, outbox, payee, release
from tests.integration.test_payment_support import stub as payment_stub

METHOD = "/onebudget.entitlement.v1.EntitlementService/RegisterPerson"


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text: str = reply.read().decode()
    return text


def _value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels...}` (labels in any order), or 0 when absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name) :].split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_call_shows_in_the_metrics(start_service: StartService) -> None:
    port = free_port()
    host = await start_service(SPEC, metrics_port=port)
    assert host.metrics is not None
    assert host.metrics.port == port
    before = await asyncio.to_thread(_scrape, port)
    ok = {"service": "entitlement", "method": METHOD, "code": "OK"}
    bad = {"service": "entitlement", "method": METHOD, "code": "INVALID_ARGUMENT"}
    async with open_aio_channel(host.address) as channel:
        stub = api_grpc.EntitlementServiceStub(channel)  # type: ignore[no-untyped-call]
        await stub.RegisterPerson(
            api.RegisterPersonRequest(
                request_id=rid(),
                nhs_number=new_nhs_number(),
                given_name="Ada",
                family_name="Lovelace",
                date_of_birth="1960-05-17",
                commissioner_ods_code="QNQ",
                council_gss_code="E10000014",
            )
        )
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.RegisterPerson(api.RegisterPersonRequest(request_id=rid()))
    after = await asyncio.to_thread(_scrape, port)
    total = "onebudget_rpc_requests_total"
    assert _value(after, total, **ok) == _value(before, total, **ok) + 1
    assert _value(after, total, **bad) == _value(before, total, **bad) + 1
    count = "onebudget_rpc_duration_seconds_count"
    where = {"service": "entitlement", "method": METHOD}
    assert _value(after, count, **where) == _value(before, count, **where) + 2
    # The sampler and the supervised tasks (the relay at least) are there.
    assert 'onebudget_outbox_backlog_events{service="entitlement"}' in after
    assert 'onebudget_outbox_oldest_age_seconds{service="entitlement"}' in after
    assert _value(after, "onebudget_db_pool_connections", service="entitlement", state="size") >= 1
    running = re.findall(
        r'onebudget_background_task_running\{service="entitlement",task="([^"]+)"\} 1\.0', after
    )
    assert any("relay" in task.lower() for task in running), running
    assert host.supervised  # what the collector reads


async def test_no_port_serves_nothing(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.metrics is not None
    assert host.metrics.port == 0


PAY = "/onebudget.payment.v1.PaymentService/ReleasePayment"


async def _scrape_until(port: int, ready: Callable[[str], bool], timeout_s: float = 15.0) -> str:
    """Scrape until `ready` holds (the relay and the samplers work in the background)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        text = await asyncio.to_thread(_scrape, port)
        if ready(text) or asyncio.get_running_loop().time() > deadline:
            return text
        await asyncio.sleep(0.2)


async def test_a_payment_shows_its_rpc_transfers_batch_and_relay(
    start_service: StartService,
) -> None:
    port = free_port()
    host = await start_service(PAYMENT_SPEC, metrics_port=port)
    assert host.runtime is not None
    before = await asyncio.to_thread(_scrape, port)
    svc = {"service": "payment"}
    relayed = "onebudget_relay_published_total"
    channel, s = payment_stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (100_000, 100_000, 0))
        provider = await payee(s)
        paid = await s.ReleasePayment(release(b, provider, 333))
        assert (paid.streams.nhs_pence, paid.streams.council_pence) == (200, 133)
        events = len(await outbox(conn))  # this test's database: the payment's event

    def settled(text: str) -> bool:
        return (
            _value(text, relayed, **svc) >= _value(before, relayed, **svc) + events
            and 'onebudget_consumer_pending_events{consumer="' in text
            and _value(text, "onebudget_scheduler_runs_total", **svc) >= 1
            and _value(text, "onebudget_outbox_backlog_events", **svc) == 0
        )

    after = await _scrape_until(port, settled)
    ok = {**svc, "method": PAY, "code": "OK"}
    total = "onebudget_rpc_requests_total"
    assert _value(after, total, **ok) == _value(before, total, **ok) + 1
    # One payment split 60/40 between two funders: two ledger transfers, counted once committed.
    transfers = "onebudget_ledger_transfers_total"
    where = {**svc, "source": "release"}
    assert _value(after, transfers, **where) == _value(before, transfers, **where) + 2
    batches = "onebudget_batch_size_commands_count"
    release_batches = {**svc, "batcher": "release"}
    assert (
        _value(after, batches, **release_batches) == _value(before, batches, **release_batches) + 1
    )
    assert _value(after, "onebudget_batch_size_commands_sum", **release_batches) >= 1
    # The relay published the payment's event, each with its lag.
    assert events >= 1
    assert _value(after, relayed, **svc) >= _value(before, relayed, **svc) + events
    lag = "onebudget_relay_publish_lag_seconds_count"
    assert _value(after, lag, **svc) == _value(after, relayed, **svc)
    assert _value(after, "onebudget_outbox_backlog_events", **svc) == 0
    assert _value(after, "onebudget_outbox_oldest_age_seconds", **svc) == 0
    # Consumers report JetStream's pending count; the pool its use; the scheduler its runs.
    assert re.search(
        r'onebudget_consumer_pending_events\{consumer="[^"]+",service="payment"\}', after
    )
    assert _value(after, "onebudget_db_pool_connections", **svc, state="max") >= 1
    assert _value(after, "onebudget_scheduler_runs_total", **svc) >= 1
    assert "onebudget_scheduler_run_duration_seconds_count" in after
