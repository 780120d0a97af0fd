"""Eligibility as one truth, and stopped payments resuming, through the four real services over
gRPC and NATS JetStream (issue 13 items 4 to 7 and 16; docs/adr/0010).

A CHC budget pays until the eligibility it rests on is refused (a grant back-dated before the
refusal changes nothing); a person who withdrew consent and was granted a PHB again gets a new
budget in the same year, which pays; a second budget in that year is refused."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import grpc

from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.demo.synthetic import synthetic_nhs_number
from onebudget.entitlement.v1 import entitlement_service_pb2 as en
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.shared.client import error_reason
from tests.e2e.test_journey import Journey, eventually, fy_of, journey, rid

__all__ = ["journey"]  # the fixture, shared with the whole journey


async def _person(j: Journey, on: date) -> str:
    """Registered, CHC eligibility granted on `on`, a PHB requested and granted by right."""
    person = await j.ent.RegisterPerson(
        en.RegisterPersonRequest(
            request_id=rid(),
            nhs_number=synthetic_nhs_number(random.Random()),
            given_name="Alex",
            family_name="Moor",
            date_of_birth="1958-02-03",
            commissioner_ods_code=j.ods,
            council_gss_code=j.gss,
        )
    )
    await _decide(j, person.person_id, "DECISION_OUTCOME_GRANTED", on)
    await _phb(j, person.person_id, on)
    return str(person.person_id)


async def _decide(j: Journey, person_id: str, outcome: str, on: date) -> None:
    await j.ent.RecordEligibilityDecision(
        en.RecordEligibilityDecisionRequest(
            request_id=rid(),
            person_id=person_id,
            category="ELIGIBILITY_CATEGORY_CHC",
            outcome=outcome,
            reasons=["primary health need" if "GRANTED" in outcome else "no primary need"],
            decided_on=on.isoformat(),
            deciding_body="ICB CHC panel",
        )
    )


async def _phb(j: Journey, person_id: str, on: date) -> None:
    phb = await j.ent.RequestPersonalHealthBudget(
        en.RequestPersonalHealthBudgetRequest(
            request_id=rid(),
            person_id=person_id,
            category="ELIGIBILITY_CATEGORY_CHC",
            requested_on=on.isoformat(),
        )
    )
    assert phb.state == en.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_GRANTED


async def _agreed_budget(j: Journey, person_id: str, year: int, start: date) -> al.Budget:
    """An NHS-only CHC budget of one notional line paid to a provider, agreed."""
    budget = await eventually(
        lambda: j.alloc.CreateBudget(
            al.CreateBudgetRequest(
                request_id=rid(),
                person_id=person_id,
                commissioner_ods_code=j.ods,
                cohort="COHORT_CHC",
                financial_year=year,
                nhs_only=True,
            )
        ),
        "the eligibility and the PHB in allocation",
    )
    await j.alloc.AddPlanLine(
        al.AddPlanLineRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            line=al.PlanLineInput(
                description="Nursing care at home",
                category="personal_care",
                cost_per_occurrence_pence=10_000,
                frequency="FREQUENCY_WEEKLY",
                occurrences=10,
                split=al.FundingSplit(nhs_basis_points=10_000),
                management_option="MANAGEMENT_OPTION_NOTIONAL",
                allowed_payee_kind="PAYEE_KIND_PROVIDER",
            ),
        )
    )
    agreed: al.Budget = await j.alloc.AgreeBudget(
        al.AgreeBudgetRequest(
            request_id=rid(), budget_id=budget.budget_id, agreed_on=start.isoformat()
        )
    )
    return agreed


def _release(budget: al.Budget, payee_id: str, start: date) -> pay.ReleasePaymentRequest:
    return pay.ReleasePaymentRequest(
        request_id=rid(),
        budget_id=budget.budget_id,
        plan_line_id=budget.plan_lines[0].plan_line_id,
        payee_id=payee_id,
        amount_pence=1_000,
        service_period_start=start.isoformat(),
        service_period_end=(start + timedelta(days=6)).isoformat(),
        broker_reference="B-1",
    )


async def _refusal(call: Awaitable[Any]) -> str | None:
    """The reason of a refused call, or None when it was accepted."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error_reason(error)
    return None


async def _until_refused(
    j: Journey, request_of: Callable[[], pay.ReleasePaymentRequest], reason: str, what: str
) -> None:
    async def probe() -> bool | None:
        got = await _refusal(j.pay.ReleasePayment(request_of()))
        return True if got == reason else None

    await eventually(probe, what)


async def test_eligibility_refused_stops_payments_and_consent_comes_back(
    journey: Journey,
) -> None:
    j = journey
    today = date.today()
    year = fy_of(today)
    start = date(year, 4, 1)
    await j.alloc.RegisterCommissioner(
        al.RegisterCommissionerRequest(request_id=rid(), ods_code=j.ods, name="Synthetic ICB")
    )
    await j.alloc.RegisterCouncil(
        al.RegisterCouncilRequest(request_id=rid(), gss_code=j.gss, name="Synthetic Council")
    )
    await j.alloc.SetCommissionerAllocation(
        al.SetCommissionerAllocationRequest(
            request_id=rid(),
            commissioner_ods_code=j.ods,
            financial_year=year,
            allocation_pence=1_000_000_000,
            phb_target_basis_points=200,
        )
    )
    provider = await j.pay.RegisterPayee(
        pay.RegisterPayeeRequest(request_id=rid(), kind="PAYEE_KIND_PROVIDER", name="Care Ltd")
    )

    # Item 7 (and 4): CHC refused after the budget was agreed: its payments stop.
    refused_person = await _person(j, start)
    budget = await _agreed_budget(j, refused_person, year, start)
    await eventually(
        lambda: j.pay.ReleasePayment(_release(budget, provider.payee_id, start)),
        "the agreed budget in payment",
    )
    await _decide(j, refused_person, "DECISION_OUTCOME_REFUSED", today)
    if today > start:  # a grant dated before the refusal, recorded after it, holds nothing
        await _decide(j, refused_person, "DECISION_OUTCOME_GRANTED", start)
    await _until_refused(
        j,
        lambda: _release(budget, provider.payee_id, start),
        "PAYMENTS_STOPPED",
        "payments stopped by the refused eligibility",
    )
    resumed = await _refusal(
        j.pay.ResumePayments(
            pay.ResumePaymentsRequest(
                request_id=rid(), budget_id=budget.budget_id, reasons=["appeal"]
            )
        )
    )
    assert resumed == "ELIGIBILITY_REFUSED"

    # Item 6 (and 16): consent withdrawn, a PHB granted again, a new budget in the same year.
    person = await _person(j, start)
    first = await _agreed_budget(j, person, year, start)
    await j.ent.RecordConsentWithdrawn(
        en.RecordConsentWithdrawnRequest(
            request_id=rid(), person_id=person, withdrawn_on=today.isoformat()
        )
    )
    await _until_refused(
        j,
        lambda: _release(first, provider.payee_id, start),
        "PAYMENTS_STOPPED",
        "payments stopped by the withdrawal",
    )
    await _phb(j, person, today)
    again = await _agreed_budget(j, person, year, start)
    assert again.budget_id != first.budget_id
    paid = await eventually(
        lambda: j.pay.ReleasePayment(_release(again, provider.payee_id, start)),
        "payments of the new budget",
    )
    assert paid.amount_pence == 1_000
    second = await _refusal(
        j.alloc.CreateBudget(
            al.CreateBudgetRequest(
                request_id=rid(), person_id=person, financial_year=year, nhs_only=True
            )
        )
    )
    assert second == "BUDGET_EXISTS_FOR_YEAR"
