"""Every service starts, answers health checks and reflection, and shuts down cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.runtime.ports import free_port
from onebudget.shared.server import ServiceSpec
from onebudget.shared.stack import wait_serving
from tests.conftest import TEST_OIDC, StartService, tls_env

SPECS = [ENTITLEMENT, ALLOCATION, PAYMENT, REPORTING]


async def _health(address: str) -> int:
    async with open_aio_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        return int(reply.status)


async def _reflected_services(address: str) -> set[str]:
    async with open_aio_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for reply in stub.ServerReflectionInfo(iter([request])):
            return {s.name for s in reply.list_services_response.service}
    return set()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
async def test_service_serves_health_and_reflection(
    start_service: StartService, spec: ServiceSpec
) -> None:
    host = await start_service(spec)
    assert await _health(host.address) == health_pb2.HealthCheckResponse.SERVING
    assert "grpc.health.v1.Health" in await _reflected_services(host.address)
    await host.stop()
    with pytest.raises(grpc.aio.AioRpcError):
        await _health(host.address)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_process_stops_cleanly_on_sigterm(pg_url: str, nats_url: str, spec: ServiceSpec) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ONEBUDGET_DATABASE_URL": pg_url,
        "ONEBUDGET_NATS_URL": nats_url,
        "ONEBUDGET_OIDC_ISSUER": TEST_OIDC.issuer,
        "ONEBUDGET_OIDC_JWKS_URL": TEST_OIDC.jwks_url,
        f"ONEBUDGET_{spec.name.upper()}_PORT": str(port),
        **tls_env(spec.name),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", f"onebudget.{spec.name}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_serving(f"127.0.0.1:{port}", timeout_s=30)
        started = time.monotonic()
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert time.monotonic() - started < 15
    assert '"event": "service_stopped"' in out
    assert "Traceback" not in err
