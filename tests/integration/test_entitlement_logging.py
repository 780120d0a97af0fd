"""Privacy in logs: a running entitlement service never logs a full NHS number or a name, not even
in a traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

import grpc
import pytest

from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.runtime.ports import free_port
from onebudget.shared.stack import wait_serving
from tests.conftest import TEST_OIDC, TEST_TOKENS, tls_env
from tests.integration.test_entitlement_support import new_nhs_number

GIVEN = "Philippa"
FAMILY = "Quartermaine"


async def _traffic(address: str, nhs: str) -> None:
    async with open_aio_channel(address) as channel:
        stub = api_grpc.EntitlementServiceStub(channel)  # type: ignore[no-untyped-call]
        request = api.RegisterPersonRequest(
            request_id=str(uuid.uuid4()),
            nhs_number=nhs,
            given_name=GIVEN,
            family_name=FAMILY,
            date_of_birth="1970-01-01",
            commissioner_ods_code="QNQ",
            council_gss_code="E08000001",
        )
        await stub.RegisterPerson(request)
        request.request_id = str(uuid.uuid4())
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.RegisterPerson(request)  # ALREADY_EXISTS
        request.nhs_number = nhs[:9] + str((int(nhs[9]) + 1) % 10)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.RegisterPerson(request)  # INVALID_ARGUMENT


def test_service_logs_no_nhs_number_and_no_name(pg_url: str, nats_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ONEBUDGET_DATABASE_URL": pg_url,
        "ONEBUDGET_NATS_URL": nats_url,
        "ONEBUDGET_ENTITLEMENT_PORT": str(port),
        "ONEBUDGET_LOG_LEVEL": "debug",
        "ONEBUDGET_OIDC_ISSUER": TEST_OIDC.issuer,
        "ONEBUDGET_OIDC_JWKS_URL": TEST_OIDC.jwks_url,
        **tls_env("entitlement"),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "onebudget.entitlement"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    nhs = new_nhs_number()
    try:
        wait_serving(f"127.0.0.1:{port}", timeout_s=30)
        asyncio.run(_traffic(f"127.0.0.1:{port}", nhs))
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    logs = out + err
    assert '"method": "/onebudget.entitlement.v1.EntitlementService/RegisterPerson"' in out
    assert nhs not in logs
    assert GIVEN not in logs
    assert FAMILY not in logs
    assert "Bearer" not in logs  # nor the caller's token (issue 14)
    assert TEST_TOKENS("/onebudget.entitlement.v1.EntitlementService/RegisterPerson") not in logs


def test_tracebacks_are_masked_too() -> None:
    program = (
        "from onebudget.shared.logging import configure_logging, get_logger\n"
        "configure_logging('info')\n"
        "try:\n"
        "    raise RuntimeError('bad row for 943 476 5919')\n"
        "except RuntimeError:\n"
        "    get_logger('t').exception('failed')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30, check=True
    )
    assert "RuntimeError" in done.stdout
    assert "5919" in done.stdout
    assert "943 476 5919" not in done.stdout
    assert "9434765919" not in done.stdout
