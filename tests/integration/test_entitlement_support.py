"""Helpers for the entitlement gRPC tests (no tests here): a client on a running service, a tap
on the ENTITLEMENT stream, row counts that prove a refused request stored nothing."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import nats
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from onebudget.entitlement.entrypoints.app import SPEC
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as api_grpc
from onebudget.events.v1 import envelope_pb2
from onebudget.shared import bus
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.identifiers import nhs_check_digit
from onebudget.shared.server import ServiceHost
from tests.conftest import StartService

TABLES = (
    "people",
    "person_corrections",
    "eligibility_decisions",
    "commissioner_policies",
    "phb_requests",
    "review_subjects",
    "reviews_completed",
    "outbox",
    "idempotency",
)
EVENT_WAIT_S = 10.0
SETTLE_S = 0.4


def new_nhs_number() -> str:
    while True:
        first_nine = f"{random.randrange(100_000_000, 1_000_000_000):09d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"


def rid() -> str:
    return str(uuid.uuid4())


@dataclass
class Ent:
    host: ServiceHost
    stub: api_grpc.EntitlementServiceStub
    nc: NatsClient
    seen: list[tuple[str, envelope_pb2.EventEnvelope]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def register(self, **overrides: Any) -> api.Person:
        fields: dict[str, Any] = {
            "request_id": rid(),
            "nhs_number": new_nhs_number(),
            "given_name": "Ada",
            "family_name": "Lovelace",
            "date_of_birth": "1960-05-17",
            "commissioner_ods_code": "QNQ",
            "council_gss_code": "E10000014",
        }
        fields.update(overrides)
        person: api.Person = await self.stub.RegisterPerson(api.RegisterPersonRequest(**fields))
        return person

    async def decide(self, person_id: str, **overrides: Any) -> api.EligibilityDecision:
        fields: dict[str, Any] = {
            "request_id": rid(),
            "person_id": person_id,
            "category": api.ELIGIBILITY_CATEGORY_CHC,
            "outcome": api.DECISION_OUTCOME_GRANTED,
            "decided_on": "2024-04-02",
            "deciding_body": "QNQ CHC panel",
        }
        fields.update(overrides)
        decision: api.EligibilityDecision = await self.stub.RecordEligibilityDecision(
            api.RecordEligibilityDecisionRequest(**fields)
        )
        return decision

    async def _on_message(self, msg: Msg) -> None:
        self.seen.append((msg.subject, envelope_pb2.EventEnvelope.FromString(msg.data)))
        self.arrived.set()

    def events_now(self, aggregate_id: str) -> list[tuple[str, envelope_pb2.EventEnvelope]]:
        return [(s, e) for s, e in self.seen if e.aggregate_id == aggregate_id]

    async def events(
        self, aggregate_id: str, count: int
    ) -> list[tuple[str, envelope_pb2.EventEnvelope]]:
        """Wait for `count` events about the aggregate, then a little longer to catch extras."""
        async with asyncio.timeout(EVENT_WAIT_S):
            while True:
                self.arrived.clear()
                if len(self.events_now(aggregate_id)) >= count:
                    break
                await self.arrived.wait()
        await asyncio.sleep(SETTLE_S)
        return self.events_now(aggregate_id)

    async def subjects(self, aggregate_id: str, count: int) -> list[str]:
        return [s for s, _ in await self.events(aggregate_id, count)]

    async def counts(self) -> dict[str, int]:
        assert self.host.runtime is not None
        found: dict[str, int] = {}
        for table in TABLES:
            found[table] = await self.host.runtime.pool.fetchval(
                f"SELECT count(*) FROM entitlement.{table}"
            )
        return found


@asynccontextmanager
async def entitlement(start_service: StartService, nats_url: str) -> AsyncIterator[Ent]:
    host = await start_service(SPEC)
    nc = await nats.connect(nats_url, **bus.auth_options())
    try:
        async with open_aio_channel(host.address) as channel:
            stub = api_grpc.EntitlementServiceStub(channel)  # type: ignore[no-untyped-call]
            ent = Ent(host, stub, nc)
            js = nc.jetstream()
            await js.subscribe(
                "onebudget.entitlement.person.>",
                cb=ent._on_message,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.NEW,
            )
            yield ent
    finally:
        await nc.close()


def error_details(error: grpc.aio.AioRpcError) -> tuple[str, dict[str, str]]:
    """(ErrorInfo reason, {field: description} of the BadRequest violations)."""
    status = rpc_status.from_call(error)
    assert status is not None
    reason = ""
    violations: dict[str, str] = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            assert info.domain == "entitlement.onebudget"
            reason = info.reason
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = {v.field: v.description for v in bad.field_violations}
    return reason, violations
