"""One meaning per request_id in entitlement, allocation and reporting (issue 12, item 2): every
unary mutating RPC goes through run_idempotent, so a request_id taken by one method is refused
in another (ALREADY_EXISTS, REQUEST_ID_REUSED, nothing stored), concurrent calls sharing an id
run once, and every accepted spelling of one UUID is one request_id."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.allocation.v1 import allocation_service_pb2_grpc as al_grpc
from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.entitlement.v1 import entitlement_service_pb2 as en
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as en_grpc
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.v1 import reporting_service_pb2 as rp
from onebudget.reporting.v1 import reporting_service_pb2_grpc as rp_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.server import ServiceHost
from tests.conftest import StartService
from tests.integration.test_entitlement_support import new_nhs_number
from tests.integration.test_reporting_support import new_gss, new_ods

REUSED = (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
ANOTHER_CALLER = (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED_REQUEST_ID")


def spellings(request_id: str) -> list[str]:
    return [
        request_id,
        request_id.upper(),
        request_id.replace("-", ""),
        "{" + request_id + "}",
        "urn:uuid:" + request_id,
    ]


async def outcome(call: Any) -> Any:
    """The answer, or (code, ErrorInfo reason) of the refusal."""
    try:
        return await call
    except grpc.aio.AioRpcError as error:
        status = rpc_status.from_call(error)
        assert status is not None
        reason = ""
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
        return error.code(), reason


async def rows(host: ServiceHost, schema: str, table: str) -> int:
    assert host.runtime is not None
    count: int = await host.runtime.pool.fetchval(f"SELECT count(*) FROM {schema}.{table}")
    return count


def person(request_id: str, nhs: str, given: str = "Ada") -> en.RegisterPersonRequest:
    return en.RegisterPersonRequest(
        request_id=request_id,
        nhs_number=nhs,
        given_name=given,
        family_name="Lovelace",
        date_of_birth="1960-05-17",
        commissioner_ods_code="QNQ",
        council_gss_code="E10000014",
    )


async def test_entitlement(start_service: StartService) -> None:
    host = await start_service(ENTITLEMENT)
    async with open_aio_channel(host.address) as channel:
        s = en_grpc.EntitlementServiceStub(channel)  # type: ignore[no-untyped-call]
        rid = str(uuid.uuid4())
        first = await s.RegisterPerson(person(rid, new_nhs_number()))
        # Another mutating RPC with the same id: refused, nothing changed.
        before = await rows(host, "entitlement", "outbox")
        for call in (
            s.UpdatePersonDetails(
                en.UpdatePersonDetailsRequest(
                    request_id=rid,
                    person_id=first.person_id,
                    person=en.Person(given_name="Augusta"),
                    update_mask=field_mask_pb2.FieldMask(paths=["given_name"]),
                    reason="typo",
                )
            ),
            s.RecordEligibilityDecision(
                en.RecordEligibilityDecisionRequest(
                    request_id=rid.upper(),
                    person_id=first.person_id,
                    category=en.ELIGIBILITY_CATEGORY_CHC,
                    outcome=en.DECISION_OUTCOME_GRANTED,
                    decided_on="2024-04-02",
                    deciding_body="QNQ CHC panel",
                )
            ),
            s.RecordDeath(
                en.RecordDeathRequest(
                    request_id="{" + rid + "}",
                    person_id=first.person_id,
                    died_on="2025-01-01",
                )
            ),
        ):
            assert await outcome(call) == REUSED
        assert await rows(host, "entitlement", "outbox") == before
        got = await s.GetPerson(en.GetPersonRequest(person_id=first.person_id))
        assert got.given_name == "Ada"
        # The same registration in every spelling: the first answer.
        for spelled in spellings(rid):
            again = await s.RegisterPerson(person(spelled, first.nhs_number))
            assert again == first
        # Concurrent registrations sharing one id, other people: exactly one runs.
        rid2 = str(uuid.uuid4())
        people = await rows(host, "entitlement", "people")
        results = await asyncio.gather(
            *[outcome(s.RegisterPerson(person(rid2, new_nhs_number()))) for _ in range(12)]
        )
        assert sum(isinstance(r, en.Person) for r in results) == 1
        assert [r for r in results if not isinstance(r, en.Person)] == [REUSED] * 11
        assert await rows(host, "entitlement", "people") == people + 1


async def test_allocation(start_service: StartService) -> None:
    host = await start_service(ALLOCATION)
    async with open_aio_channel(host.address) as channel:
        s = al_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]
        rid = str(uuid.uuid4())
        ods, gss = new_ods(), new_gss()
        first = await s.RegisterCommissioner(
            al.RegisterCommissionerRequest(request_id=rid, ods_code=ods, name="NHS Example")
        )
        council = al.RegisterCouncilRequest(
            request_id=rid.replace("-", ""), gss_code=gss, name="Example Council"
        )
        # The tests' staff act in one identity per role: a council finance officer is another
        # caller than the commissioner's, refused before the requests are compared (issue 14).
        assert await outcome(s.RegisterCouncil(council)) == ANOTHER_CALLER
        assert await rows(host, "allocation", "councils") == 0
        # The same commissioner again in each spelling: its first answer.
        for spelled in spellings(rid):
            again = await s.RegisterCommissioner(
                al.RegisterCommissionerRequest(request_id=spelled, ods_code=ods, name="NHS Example")
            )
            assert again == first
        other = al.RegisterCommissionerRequest(request_id=rid, ods_code=ods, name="Another")
        assert await outcome(s.RegisterCommissioner(other)) == REUSED
        # Concurrent allocations sharing one id, other amounts: exactly one is set.
        rid2 = str(uuid.uuid4())
        await s.RegisterCouncil(
            al.RegisterCouncilRequest(request_id=str(uuid.uuid4()), gss_code=gss, name="Council")
        )
        results = await asyncio.gather(
            *[
                outcome(
                    s.SetCouncilAllocation(
                        al.SetCouncilAllocationRequest(
                            request_id=spellings(rid2)[k % 5],
                            council_gss_code=gss,
                            financial_year=2026,
                            pot_pence=1_000_000 + k,
                        )
                    )
                )
                for k in range(10)
            ]
        )
        won = [r for r in results if isinstance(r, al.CouncilAllocation)]
        assert len(won) == 1
        assert [r for r in results if r not in won] == [REUSED] * 9


async def test_reporting(start_service: StartService) -> None:
    """RebuildReadModel is reporting's one mutating RPC: a retry in any spelling rebuilds once
    (one after the other: two rebuilds at once can leave a reporting consumer task that does
    not stop, a race in ConsumerGroup.paused outside this test's subject)."""
    host = await start_service(REPORTING)
    async with open_aio_channel(host.address) as channel:
        s = rp_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
        rid = str(uuid.uuid4())
        answers = [
            await s.RebuildReadModel(rp.RebuildReadModelRequest(request_id=n))
            for n in spellings(rid)
        ]
        assert all(a == answers[0] for a in answers)
        assert await rows(host, "reporting", "idempotency") == 1
