"""The whole journey through the four real services, over gRPC and NATS JetStream:

register -> eligibility -> PHB requested and granted -> commissioner allocation with a ring-fence
-> budget with NHS + council + client streams -> plan lines -> agreed -> a release, a reservation
confirmed, a direct-payment schedule run -> a return -> a reclaim repaid -> the person dies ->
payments stop and the budget ends -> quarterly return -> reconcile shows no differences, and the
ledger's hash chain and balances verify.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import secrets
import string
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from typing import TypeVar

import grpc
import pytest

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.allocation.v1 import allocation_service_pb2_grpc as al_grpc
from onebudget.demo.synthetic import synthetic_nhs_number
from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.entitlement.v1 import entitlement_service_pb2 as en
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as en_grpc
from onebudget.ledger import verify
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.payment.v1 import payment_service_pb2_grpc as pay_grpc
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.v1 import reporting_service_pb2 as rp
from onebudget.reporting.v1 import reporting_service_pb2_grpc as rp_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.client import error_reason
from onebudget.shared.server import ServiceHost
from tests.conftest import StartService

T = TypeVar("T")
WAIT_S = 60.0


def rid() -> str:
    return str(uuid.uuid4())


def fy_of(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Services meet through events: poll until the other side has seen them."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        try:
            found = await probe()
        except grpc.aio.AioRpcError:
            found = None
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Journey:
    def __init__(self, hosts: dict[str, ServiceHost]) -> None:
        self.hosts = hosts
        self.channels = {n: open_aio_channel(h.address) for n, h in hosts.items()}
        c = self.channels
        self.ent = en_grpc.EntitlementServiceStub(c["entitlement"])  # type: ignore[no-untyped-call]
        self.alloc = al_grpc.AllocationServiceStub(c["allocation"])  # type: ignore[no-untyped-call]
        self.pay = pay_grpc.PaymentServiceStub(c["payment"])  # type: ignore[no-untyped-call]
        self.report = rp_grpc.ReportingServiceStub(c["reporting"])  # type: ignore[no-untyped-call]
        self.ods = "".join(secrets.choice(string.ascii_uppercase) for _ in range(5))
        self.gss = f"E10{secrets.randbelow(10**6):06d}"

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()


@pytest.fixture
async def journey(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Journey]:
    # The scheduler looks for due instalments every 30 s in production; a second here.
    monkeypatch.setenv("ONEBUDGET_PAYMENT_SCHEDULER_INTERVAL_S", "1")
    hosts = {
        spec.name: await start_service(spec)
        for spec in (ENTITLEMENT, ALLOCATION, PAYMENT, REPORTING)
    }
    trip = Journey(hosts)
    yield trip
    await trip.close()


def line(
    description: str,
    cost: int,
    frequency: str,
    occurrences: int,
    split: al.FundingSplit,
    option: str,
    payee_kind: str,
) -> al.PlanLineInput:
    return al.PlanLineInput(
        description=description,
        category="personal_care",
        cost_per_occurrence_pence=cost,
        frequency=frequency,
        occurrences=occurrences,
        split=split,
        management_option=option,
        allowed_payee_kind=payee_kind,
    )


async def test_the_whole_journey(journey: Journey) -> None:
    j = journey
    today = date.today()
    year = fy_of(today)
    start = date(year, 4, 1)

    # Entitlement: a person with a joint health and care package, who asks for a PHB and, having
    # the right to have (the commissioner extends it to joint packages), gets one. Adult CHC
    # would not do: it is funded solely by the NHS, and this budget is integrated (issue 13).
    await j.ent.SetCommissionerPolicy(
        en.SetCommissionerPolicyRequest(
            request_id=rid(),
            commissioner_ods_code=j.ods,
            extended_categories=["ELIGIBILITY_CATEGORY_JOINT_PACKAGE"],
        )
    )
    person = await j.ent.RegisterPerson(
        en.RegisterPersonRequest(
            request_id=rid(),
            nhs_number=synthetic_nhs_number(random.Random()),
            given_name="Sam",
            family_name="Rowan",
            date_of_birth="1961-05-14",
            commissioner_ods_code=j.ods,
            council_gss_code=j.gss,
        )
    )
    await j.ent.RecordEligibilityDecision(
        en.RecordEligibilityDecisionRequest(
            request_id=rid(),
            person_id=person.person_id,
            category="ELIGIBILITY_CATEGORY_JOINT_PACKAGE",
            outcome="DECISION_OUTCOME_GRANTED",
            reasons=["health and social care needs met jointly"],
            decided_on=start.isoformat(),
            deciding_body="ICB and council joint panel",
        )
    )
    phb = await j.ent.RequestPersonalHealthBudget(
        en.RequestPersonalHealthBudgetRequest(
            request_id=rid(),
            person_id=person.person_id,
            category="ELIGIBILITY_CATEGORY_JOINT_PACKAGE",
            requested_on=start.isoformat(),
        )
    )
    assert phb.right_to_have
    assert phb.state == en.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_GRANTED

    # Allocation: the commissioner's allocation with a 2% ring-fence, and the council's pot.
    await j.alloc.RegisterCommissioner(
        al.RegisterCommissionerRequest(request_id=rid(), ods_code=j.ods, name="Synthetic ICB")
    )
    await j.alloc.RegisterCouncil(
        al.RegisterCouncilRequest(request_id=rid(), gss_code=j.gss, name="Synthetic County Council")
    )
    allocation = await j.alloc.SetCommissionerAllocation(
        al.SetCommissionerAllocationRequest(
            request_id=rid(),
            commissioner_ods_code=j.ods,
            financial_year=year,
            allocation_pence=1_000_000_000,
            phb_target_basis_points=200,
        )
    )
    assert allocation.phb_target_pence == 20_000_000
    await j.alloc.SetCouncilAllocation(
        al.SetCouncilAllocationRequest(
            request_id=rid(), council_gss_code=j.gss, financial_year=year, pot_pence=50_000_000
        )
    )

    # An integrated budget (NHS + council + client) once allocation has seen the eligibility.
    budget = await eventually(
        lambda: j.alloc.CreateBudget(
            al.CreateBudgetRequest(
                request_id=rid(),
                person_id=person.person_id,
                commissioner_ods_code=j.ods,
                council_gss_code=j.gss,
                cohort="COHORT_JOINT_PACKAGE",
                financial_year=year,
                start_date=start.isoformat(),
                client_contribution_pence=100_000,
            )
        ),
        "eligibility",
    )
    care = await j.alloc.AddPlanLine(
        al.AddPlanLineRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            line=line(
                "Home care visits",
                10_000,
                "FREQUENCY_WEEKLY",
                50,
                al.FundingSplit(
                    nhs_basis_points=6_000, council_basis_points=3_000, client_basis_points=1_000
                ),
                "MANAGEMENT_OPTION_NOTIONAL",
                "PAYEE_KIND_PROVIDER",
            ),
        )
    )
    with_dp = await j.alloc.AddPlanLine(
        al.AddPlanLineRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            line=line(
                "Personal assistant (direct payment)",
                40_000,
                "FREQUENCY_FOUR_WEEKLY",
                13,
                al.FundingSplit(nhs_basis_points=10_000),
                "MANAGEMENT_OPTION_DIRECT_PAYMENT",
                "PAYEE_KIND_PERSON",
            ),
        )
    )
    care_line, dp_line = care.plan_lines[0], with_dp.plan_lines[1]
    agreed = await j.alloc.AgreeBudget(
        al.AgreeBudgetRequest(
            request_id=rid(), budget_id=budget.budget_id, agreed_on=start.isoformat()
        )
    )
    assert agreed.status == al.BUDGET_STATUS_AGREED
    assert agreed.agreed_pence == 500_000 + 520_000
    assert {s.funding_stream: s.agreed_pence for s in agreed.streams} == {
        al.FUNDING_STREAM_NHS: 300_000 + 520_000,
        al.FUNDING_STREAM_COUNCIL: 150_000,
        al.FUNDING_STREAM_CLIENT: 50_000,
    }

    # Payment: a provider is paid (exact 60/30/10 split), an invoice is reserved then confirmed.
    provider = await j.pay.RegisterPayee(
        pay.RegisterPayeeRequest(
            request_id=rid(), kind="PAYEE_KIND_PROVIDER", name="Synthetic Homecare Ltd"
        )
    )
    released = await eventually(
        lambda: j.pay.ReleasePayment(
            pay.ReleasePaymentRequest(
                request_id=rid(),
                budget_id=budget.budget_id,
                plan_line_id=care_line.plan_line_id,
                payee_id=provider.payee_id,
                amount_pence=10_001,
                service_period_start=start.isoformat(),
                service_period_end=(start + timedelta(days=6)).isoformat(),
                broker_reference="B-1",
            )
        ),
        "the agreed budget in payment",
    )
    assert (
        released.streams.nhs_pence,
        released.streams.council_pence,
        released.streams.client_pence,
    ) == (6_001, 3_000, 1_000)
    reserved = await j.pay.ReservePayment(
        pay.ReservePaymentRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            plan_line_id=care_line.plan_line_id,
            payee_id=provider.payee_id,
            amount_pence=20_000,
            service_period_start=start.isoformat(),
            service_period_end=(start + timedelta(days=13)).isoformat(),
            broker_reference="INV-7",
        )
    )
    confirmed = await j.pay.ConfirmPayment(
        pay.ConfirmPaymentRequest(
            request_id=rid(), payment_id=reserved.payment_id, amount_pence=18_500
        )
    )
    assert confirmed.amount_pence == 18_500

    # A direct payment schedule: the scheduler pays the instalments already due, once each.
    # 13 four-weekly instalments of 40,000p pay the 520,000p line (SI 2013/1617 reg 13), into
    # the account that holds Sam's direct payment only.
    account = await j.pay.RegisterPayee(
        pay.RegisterPayeeRequest(
            request_id=rid(),
            kind="PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT",
            name="Sam's DP account",
            person_id=person.person_id,
        )
    )
    schedule = await j.pay.CreateSchedule(
        pay.CreateScheduleRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            plan_line_id=dp_line.plan_line_id,
            payee_id=account.payee_id,
            instalment_pence=40_000,
            every_weeks=4,
            start_date=start.isoformat(),
            end_date=(start + timedelta(weeks=4 * 12)).isoformat(),
        )
    )

    async def instalments_paid() -> pay.Schedule | None:
        now: pay.Schedule = await j.pay.GetSchedule(
            pay.GetScheduleRequest(schedule_id=schedule.schedule_id)
        )
        return now if now.instalments_paid >= 1 else None

    paid_schedule = await eventually(instalments_paid, "an instalment")

    # Money back: the provider returns part of a payment; unused DP money is reclaimed, repaid.
    returned = await j.pay.RecordReturn(
        pay.RecordReturnRequest(
            request_id=rid(),
            payment_id=released.payment_id,
            amount_pence=1_001,
            reason="one visit cancelled",
        )
    )
    assert returned.amount_pence == 1_001
    reclaim = await j.pay.RequireRepayment(
        pay.RequireRepaymentRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            payee_id=account.payee_id,
            grounds="REPAYMENT_GROUNDS_UNUSED_ACCUMULATION",
            reasons=["over 8 weeks unused"],
            amount_pence=10_000,
            due_date=(today + timedelta(days=28)).isoformat(),
            repayer="REPAYER_PERSON",
        )
    )
    repaid = await j.pay.RecordRepaymentReceived(
        pay.RecordRepaymentReceivedRequest(
            request_id=rid(), repayment_id=reclaim.repayment_id, amount_pence=10_000
        )
    )
    assert repaid.received_pence == 10_000

    # The person dies: entitlement says so, payment stops the schedule, allocation ends the budget.
    await j.ent.RecordDeath(
        en.RecordDeathRequest(
            request_id=rid(), person_id=person.person_id, died_on=today.isoformat()
        )
    )

    async def stopped() -> pay.Schedule | None:
        now: pay.Schedule = await j.pay.GetSchedule(
            pay.GetScheduleRequest(schedule_id=schedule.schedule_id)
        )
        return now if now.state == pay.SCHEDULE_STATE_STOPPED else None

    async def ended() -> al.Budget | None:
        now: al.Budget = await j.alloc.GetBudget(al.GetBudgetRequest(budget_id=budget.budget_id))
        return now if now.status == al.BUDGET_STATUS_ENDED else None

    await eventually(stopped, "the schedule to stop")
    ended_budget = await eventually(ended, "the budget to end")
    assert ended_budget.end_reason == al.END_REASON_PERSON_DIED
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await j.pay.ReleasePayment(
            pay.ReleasePaymentRequest(
                request_id=rid(),
                budget_id=budget.budget_id,
                plan_line_id=care_line.plan_line_id,
                payee_id=provider.payee_id,
                amount_pence=100,
                service_period_start=start.isoformat(),
                service_period_end=start.isoformat(),
                broker_reference="B-late",
            )
        )
    assert error_reason(refused.value) in ("BUDGET_NOT_ACTIVE", "PAYMENTS_STOPPED")
    assert paid_schedule.instalments_paid >= 1

    # Reporting: the quarterly return counts the person; every figure reconciles with the ledger.
    async def reconciled() -> rp.Reconciliation | None:
        check: rp.Reconciliation = await j.report.Reconcile(
            rp.ReconcileRequest(commissioner_ods_code=j.ods, financial_year=year)
        )
        return check if check.reconciled else None

    check = await eventually(reconciled, "the reports to reconcile with the ledger")
    assert check.figures_checked > 0
    assert list(check.differences) == []
    summary = await j.report.GetCommissionerSummary(
        rp.GetCommissionerSummaryRequest(commissioner_ods_code=j.ods, financial_year=year)
    )
    assert summary.people_with_phb.year_to_date.total == 1
    assert summary.people_with_ipb.year_to_date.total == 1
    quarterly = await j.report.ExportQuarterlyReturn(
        rp.ExportQuarterlyReturnRequest(commissioner_ods_code=j.ods, financial_year=year, quarter=1)
    )
    rows = list(csv.DictReader(io.StringIO(quarterly.csv.decode())))
    assert len(rows) == 1
    assert list(rows[0]) == list(quarterly.columns)
    year_to_date = {k: v for k, v in rows[0].items() if k.startswith("YTD_")}
    assert year_to_date, "the return has year-to-date columns"
    assert "1" in year_to_date.values()

    # And the ledger itself: hash chain intact, every balance equal to the sums of its transfers.
    runtime = j.hosts["allocation"].runtime
    assert runtime is not None
    async with runtime.pool.acquire() as conn:
        assert await verify(conn) == []
