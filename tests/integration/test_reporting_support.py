"""Helpers for the reporting tests (no tests here): the allocation, payment and reporting services
in one database, drivers for allocations, budgets and payments through their real gRPC APIs, and
a wait until every consumer has caught up."""

from __future__ import annotations

import asyncio
import secrets
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from nats.js.client import JetStreamContext

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.allocation.service_layer import entitlement_events
from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.allocation.v1 import allocation_service_pb2_grpc as al_grpc
from onebudget.events.v1 import entitlement_pb2 as ent
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.payment.entrypoints.consumers import ALLOCATION_DURABLE as PAYMENT_DURABLE
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.payment.v1 import payment_service_pb2_grpc as pay_grpc
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.entrypoints.consumers import DURABLES
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.reporting.v1 import reporting_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.outbox import new_event
from onebudget.shared.plumbing import outbox_backlog_sql
from onebudget.shared.server import ServiceHost
from tests.conftest import StartService

YEAR = 2026
CATCH_UP_S = 30.0


def rid() -> str:
    return str(uuid.uuid4())


def new_ods() -> str:
    """A 5-character ODS code no other test uses (streams are shared by a test session).
    From the system's entropy: Hypothesis seeds `random` the same way for every example."""
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(5))


def new_gss() -> str:
    return f"E10{secrets.randbelow(10**6):06d}"


def pool_of(host: ServiceHost) -> asyncpg.Pool:
    assert host.runtime is not None
    return host.runtime.pool


@dataclass
class Stack:
    allocation: ServiceHost
    payment: ServiceHost | None
    reporting: ServiceHost
    alloc: al_grpc.AllocationServiceStub
    pay: pay_grpc.PaymentServiceStub | None
    report: api_grpc.ReportingServiceStub
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def js(self) -> JetStreamContext:
        assert self.reporting.runtime is not None
        return self.reporting.runtime.js

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()


def _channel(stack_channels: list[grpc.aio.Channel], host: ServiceHost) -> grpc.aio.Channel:
    channel = open_aio_channel(host.address)
    stack_channels.append(channel)
    return channel


async def start_stack(start_service: StartService, *, payment: bool = True) -> Stack:
    allocation = await start_service(ALLOCATION)
    payment_host = await start_service(PAYMENT) if payment else None
    reporting = await start_service(REPORTING)
    channels: list[grpc.aio.Channel] = []
    return Stack(
        allocation=allocation,
        payment=payment_host,
        reporting=reporting,
        alloc=al_grpc.AllocationServiceStub(_channel(channels, allocation)),  # type: ignore[no-untyped-call]
        pay=(
            pay_grpc.PaymentServiceStub(_channel(channels, payment_host))  # type: ignore[no-untyped-call]
            if payment_host
            else None
        ),
        report=api_grpc.ReportingServiceStub(_channel(channels, reporting)),  # type: ignore[no-untyped-call]
        channels=channels,
    )


async def _outbox_empty(pool: asyncpg.Pool, schema: str) -> bool:
    unsent = await pool.fetchval(outbox_backlog_sql(schema))
    return int(unsent) == 0


async def _durable_idle(js: JetStreamContext, stream: str, durable: str) -> bool:
    try:
        info = await js.consumer_info(stream, durable)
    except Exception:
        return False
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def caught_up(stack: Stack, *, payment_too: bool = False) -> None:
    """Every outbox sent and every reporting consumer idle (and payment's, if asked)."""
    durables = list(DURABLES)
    if payment_too:
        durables.append(("ALLOCATION", PAYMENT_DURABLE))
    schemas = [("allocation", stack.allocation)]
    if stack.payment is not None:
        schemas.append(("payment", stack.payment))
    async with asyncio.timeout(CATCH_UP_S):
        while True:
            outboxes = [await _outbox_empty(pool_of(h), s) for s, h in schemas]
            idle = [await _durable_idle(stack.js, s, d) for s, d in durables]
            if all(outboxes) and all(idle):
                return
            await asyncio.sleep(0.05)


# -- drivers -------------------------------------------------------------------------------------


async def eligible_person(
    stack: Stack,
    ods: str,
    gss: str,
    category: Any = ent.ELIGIBILITY_CATEGORY_CHC,
    child: bool = False,
) -> str:
    """A person with a granted eligibility, fed to allocation as its consumer would apply it."""
    person = rid()
    payload = ent.EligibilityDecided(
        person_id=person,
        decision_id=rid(),
        category=category,
        outcome=ent.DECISION_OUTCOME_GRANTED,
        decided_on="2026-04-01",
        commissioner_ods_code=ods,
        council_gss_code=gss,
        child=child,
    )
    # A budget follows the commissioner's grant of a PHB (docs/adr/0010).
    phb = ent.PersonalHealthBudgetRequestDecided(
        person_id=person,
        phb_request_id=rid(),
        category=category,
        outcome=ent.DECISION_OUTCOME_GRANTED,
        decided_on="2026-04-01",
        commissioner_ods_code=ods,
        council_gss_code=gss,
        child=child,
        right_to_have=True,
    )
    for message in (payload, phb):
        event = new_event(
            message, source="entitlement", aggregate_type="person", aggregate_id=person
        )
        async with pool_of(stack.allocation).acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO allocation.applied_events (consumer, event_id) VALUES ($1, $2)",
                entitlement_events.DURABLE,
                uuid.UUID(event.event_id),
            )
            await entitlement_events.handle(conn, event.envelope)
    return person


async def setup_funders(
    stack: Stack,
    ods: str,
    gss: str,
    *,
    allocation: int = 100_000_000,
    target_bp: int = 500,
    cohorts: tuple[tuple[Any, int], ...] = (),
    pot: int = 10_000_000,
) -> None:
    await stack.alloc.RegisterCommissioner(
        al.RegisterCommissionerRequest(request_id=rid(), ods_code=ods, name="NHS Example")
    )
    await stack.alloc.RegisterCouncil(
        al.RegisterCouncilRequest(request_id=rid(), gss_code=gss, name="Example Council")
    )
    await stack.alloc.SetCouncilAllocation(
        al.SetCouncilAllocationRequest(
            request_id=rid(), council_gss_code=gss, financial_year=YEAR, pot_pence=pot
        )
    )
    await stack.alloc.SetCommissionerAllocation(
        al.SetCommissionerAllocationRequest(
            request_id=rid(),
            commissioner_ods_code=ods,
            financial_year=YEAR,
            allocation_pence=allocation,
            phb_target_basis_points=target_bp,
            cohort_targets=[al.CohortTarget(cohort=c, basis_points=bp) for c, bp in cohorts],
        )
    )


def plan_line(
    cost: int, split: tuple[int, int, int], option: Any = al.MANAGEMENT_OPTION_NOTIONAL
) -> al.PlanLineInput:
    return al.PlanLineInput(
        description="Care",
        category="personal_care",
        cost_per_occurrence_pence=cost,
        frequency=al.FREQUENCY_ONE_OFF,
        occurrences=1,
        split=al.FundingSplit(
            nhs_basis_points=split[0],
            council_basis_points=split[1],
            client_basis_points=split[2],
        ),
        management_option=option,
        allowed_payee_kind=(
            al.PAYEE_KIND_PERSON
            if option == al.MANAGEMENT_OPTION_DIRECT_PAYMENT
            else al.PAYEE_KIND_PROVIDER
        ),
    )


async def agreed_budget(
    stack: Stack,
    person: str,
    ods: str,
    gss: str,
    lines: list[al.PlanLineInput],
    *,
    nhs_only: bool = False,
    agreed_on: str = "2026-05-01",
) -> al.Budget:
    budget = await stack.alloc.CreateBudget(
        al.CreateBudgetRequest(
            request_id=rid(),
            person_id=person,
            financial_year=YEAR,
            commissioner_ods_code=ods,
            council_gss_code="" if nhs_only else gss,
            nhs_only=nhs_only,
        )
    )
    for x in lines:
        await stack.alloc.AddPlanLine(
            al.AddPlanLineRequest(request_id=rid(), budget_id=budget.budget_id, line=x)
        )
    agreed: al.Budget = await stack.alloc.AgreeBudget(
        al.AgreeBudgetRequest(request_id=rid(), budget_id=budget.budget_id, agreed_on=agreed_on)
    )
    return agreed


async def summary(stack: Stack, ods: str, quarter: int = 0) -> api.CommissionerSummary:
    found: api.CommissionerSummary = await stack.report.GetCommissionerSummary(
        api.GetCommissionerSummaryRequest(
            commissioner_ods_code=ods, financial_year=YEAR, quarter=quarter
        )
    )
    return found


async def reconcile(stack: Stack, ods: str) -> api.Reconciliation:
    found: api.Reconciliation = await stack.report.Reconcile(
        api.ReconcileRequest(commissioner_ods_code=ods, financial_year=YEAR)
    )
    return found


async def payee(stack: Stack) -> str:
    assert stack.pay is not None
    p = await stack.pay.RegisterPayee(
        pay.RegisterPayeeRequest(request_id=rid(), kind=pay.PAYEE_KIND_PROVIDER, name="Care Co")
    )
    return str(p.payee_id)


def error_of(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str, list[str]]:
    """(code, ErrorInfo reason, BadRequest fields) of a failed call."""
    status = rpc_status.from_call(error)
    assert status is not None
    reason, fields = "", []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = [v.field for v in bad.field_violations]
    return error.code(), reason, fields
