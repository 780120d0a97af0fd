"""Auditors page through a service's audit trail (`ListAuditRecords`, AIP-132) by organisation,
resource, actor and time, and `onebudget audit list` merges the services' trails (ADR 17)."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf import timestamp_pb2

from onebudget.audit.v1 import audit_service_pb2 as pb
from onebudget.audit.v1 import audit_service_pb2_grpc as pb_grpc
from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.service_layer.handlers import PaymentHandlers
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.identity import Actor, Role, acting_as
from tests.conftest import TEST_ISSUER, StartService

QNQ_BROKER = Actor("broker-qnq", Role.CARE_BROKER, ("QNQ",))
OTHER_BROKER = Actor("broker-00l", Role.CARE_BROKER, ("00L",))


def _payee() -> api.RegisterPayeeRequest:
    return api.RegisterPayeeRequest(
        request_id=str(uuid.uuid4()), kind=api.PAYEE_KIND_PROVIDER, name="Care Co"
    )


async def test_auditors_page_and_filter_the_trail(
    start_service: StartService, tmp_path: Path
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    handlers = PaymentHandlers(host.runtime.pool, PaymentSettings(), SYSTEM_CLOCK)
    made: dict[str, list[str]] = {QNQ_BROKER.subject: [], OTHER_BROKER.subject: []}
    for actor in (QNQ_BROKER, OTHER_BROKER, QNQ_BROKER, QNQ_BROKER, OTHER_BROKER):
        with acting_as(actor):
            made[actor.subject].append((await handlers.register_payee(_payee())).payee_id)
    async with open_aio_channel(host.address) as channel:
        s = pb_grpc.AuditServiceStub(channel)  # type: ignore[no-untyped-call]

        async def walk(**filters: object) -> list[pb.AuditRecord]:
            request = pb.ListAuditRecordsRequest(page_size=2, **filters)  # type: ignore[arg-type]
            found: list[pb.AuditRecord] = []
            while True:
                page = await s.ListAuditRecords(request)
                assert page.service == "payment"
                assert len(page.records) <= 2
                found.extend(page.records)
                if not page.next_page_token:
                    return found
                request.page_token = page.next_page_token

        everything = await walk()
        assert [r.seq for r in everything] == [1, 2, 3, 4, 5]
        qnq = await walk(organisation="QNQ")
        assert [r.subject for r in qnq] == ["broker-qnq"] * 3
        assert [r.resource for r in qnq] == [f"payees/{p}" for p in made["broker-qnq"]]
        assert [r.seq for r in await walk(subject="broker-00l")] == [2, 5]
        one = f"payees/{made['broker-00l'][1]}"
        assert [r.seq for r in await walk(resource=one)] == [5]
        third = everything[2].time.ToDatetime()
        since, until = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
        since.FromDatetime(third)
        until.FromDatetime(third + timedelta(microseconds=1))
        assert [r.seq for r in await walk(start_time=since, end_time=until)] == [3]
        assert [r.seq for r in await walk(start_time=since)] == [3, 4, 5]
        # A token continues only its own query; filters are checked.
        first = await s.ListAuditRecords(pb.ListAuditRecordsRequest(page_size=2))
        for bad in (
            pb.ListAuditRecordsRequest(page_token=first.next_page_token, subject="broker-qnq"),
            pb.ListAuditRecordsRequest(organisation="not a code"),
            pb.ListAuditRecordsRequest(start_time=until, end_time=since),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await s.ListAuditRecords(bad)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Listing is a read: it leaves no record of its own.
    assert await host.runtime.pool.fetchval("SELECT count(*) FROM payment.audit_log") == 5

    # The command runs while this process serves payment: not a blocking subprocess.run.
    command = [sys.executable, "-m", "onebudget", "audit", "list", "--service", "payment"]
    # ... logged in as an auditor (issue 14: only auditors read the trail).
    auditor = Actor("auditor-1", Role.AUDITOR)
    (tmp_path / "token").write_text(TEST_ISSUER.mint(auditor, ["onebudget-payment"]))
    env = {**os.environ, "ONEBUDGET_PAYMENT_ADDRESS": host.address}
    env["ONEBUDGET_STATE_DIR"] = str(tmp_path)
    done = await asyncio.create_subprocess_exec(
        *command, "--org", "00L", "--since", "2000-01-01",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(done.communicate(), 60)
    assert done.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0].split() == [
        "time", "service", "seq", "actor", "role", "organisations", "method", "resource",
        "outcome", "reason",
    ]  # fmt: skip
    assert [line.split()[1:4] for line in lines[2:]] == [
        ["payment", "2", "broker-00l"],
        ["payment", "5", "broker-00l"],
    ]
