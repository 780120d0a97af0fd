"""Prometheus metrics of a real service (issue 16): after a call, /metrics over HTTP counts it
by method and status code with its latency, and shows the outbox backlog, the database pool and
each supervised background task."""

from __future__ import annotations

import asyncio
import re
import urllib.request

import grpc
import pytest

from onebudget.entitlement.entrypoints.app import SPEC
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.runtime.ports import free_port
from tests.conftest import StartService
from tests.integration.test_entitlement_support import new_nhs_number, rid

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
