"""Load the synthetic year into a running stack through the public gRPC APIs only.

What a CCG finance officer and a broker would do, at scale: register the commissioner and
council, set the allocation with its PHB ring-fence, register people, record eligibility, grant
PHBs, create and agree integrated budgets from costed plans, then pay: provider invoices by
reserve and confirm, releases, 4-weekly direct payments by schedule, a few returns and one
reclaim. Every call carries a request_id, so a rerun after an interruption moves nothing twice.

A rerun of the same demo is the same world (demo/rerun.py): the refunds and the reclaim are
chosen in the people's seeded order, not in the order concurrent tasks finish. A budget someone
changed since (ended, payments stopped) is left as it is, with one line saying so; requests that
meet another demo's data (REQUEST_ID_REUSED) stop the load with DemoMismatch, saying what to do.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

import grpc

from onebudget.allocation.v1 import allocation_service_pb2 as alloc
from onebudget.allocation.v1 import allocation_service_pb2_grpc as alloc_grpc
from onebudget.demo import synthetic
from onebudget.demo.rerun import (
    DemoMismatch,
    EndedBudget,
    ended_notes,
    every_nth,
    in_seeded_order,
)
from onebudget.demo.synthetic import PersonSpec
from onebudget.entitlement.v1 import entitlement_service_pb2 as ent
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as ent_grpc
from onebudget.payment.domain import schedules
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.payment.v1 import payment_service_pb2_grpc as pay_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.client import RETRYING_CHANNEL_OPTIONS, error_reason
from onebudget.shared.progress import Progress

T = TypeVar("T")
CONCURRENCY_MAX = 24
RETRY_ATTEMPTS_MAX = 60
RETRY_WAIT_S = 0.25
ALLOCATION_PENCE = 1_800_000_000_00  # £1.8bn: a mid-sized ICB's yearly allocation
# Payment learns budgets from allocation's events: until they arrive, these are answers to wait on.
NOT_YET_KNOWN = (
    "BUDGET_NOT_FOUND",
    "BUDGET_NOT_ACTIVE",
    "PLAN_LINE_NOT_FOUND",
    "PLAN_LINE_NOT_AGREED",
)
NAMESPACE = uuid.UUID("6f1d3c52-7a34-4c2e-9b4e-0e5b1d2f6a10")
# Refusals of one budget's payments on a rerun after someone changed it (ended it, stopped its
# payments, paid from it): that budget is left as it is, the rest of the demo goes on.
CHANGED_SINCE = (
    "BUDGET_NOT_ACTIVE",
    "PAYMENTS_STOPPED",
    "PLAN_LINE_EXCEEDED",
    "INSUFFICIENT_FUNDS",
    "SERVICE_PERIOD_OUTSIDE_BUDGET",
)
REUSED = "REQUEST_ID_REUSED"


def request_id(*parts: object) -> str:
    """Deterministic request ids: a rerun of the demo is a retry, not a second year."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass
class Stubs:
    entitlement: ent_grpc.EntitlementServiceStub
    allocation: alloc_grpc.AllocationServiceStub
    payment: pay_grpc.PaymentServiceStub


@dataclass
class Loaded:
    budgets: dict[str, alloc.Budget] = field(default_factory=dict)
    providers: list[str] = field(default_factory=list)
    # Per person (index in the seeded synthetic order): gathered concurrently, read in order.
    payments_by_person: dict[int, list[pay.Payment]] = field(default_factory=dict)
    schedules_by_person: dict[int, list[pay.Schedule]] = field(default_factory=dict)
    # One line per budget left as it was on a rerun (someone changed it since).
    notes: list[str] = field(default_factory=list)

    @property
    def payments(self) -> list[pay.Payment]:
        return in_seeded_order(self.payments_by_person)

    @property
    def schedules(self) -> list[pay.Schedule]:
        return in_seeded_order(self.schedules_by_person)


async def _retry(call: Callable[[], Awaitable[T]], retry_reasons: tuple[str, ...]) -> T:
    """Retry while another service's events are still on their way (eventual consistency)."""
    for _ in range(RETRY_ATTEMPTS_MAX):
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            if error_reason(error) not in retry_reasons:
                raise
        await asyncio.sleep(RETRY_WAIT_S)
    return await call()


async def _bounded(
    items: list[Any], work: Callable[[Any], Awaitable[None]], label: str, unit: str
) -> None:
    """`work` on every item, CONCURRENCY_MAX at a time, with its progress (shared/progress)."""
    gate = asyncio.Semaphore(CONCURRENCY_MAX)
    with Progress(f"  {label}", len(items), unit=unit) as progress:

        async def one(item: Any) -> None:
            async with gate:
                await work(item)
            progress.advance()

        await asyncio.gather(*(one(item) for item in items))


def _cohort(category: str) -> str:
    return f"COHORT_{category}"


def cohort_needs(people: list[PersonSpec]) -> dict[str, int]:
    """NHS pence each ring-fence must hold: LTC and MH have their own, the rest the general."""
    needs: dict[str, int] = {"GENERAL": 0, "LONG_TERM_CONDITION": 0, "MENTAL_HEALTH": 0}
    for person in people:
        nhs = sum(
            line.cost_per_occurrence_pence * line.occurrences * line.nhs_basis_points // 10_000 + 1
            for line in person.plan
        )
        key = person.category if person.category in needs else "GENERAL"
        needs[key] += nhs
    return needs


def _basis_points_covering(pence: int) -> int:
    """The smallest whole basis points of the allocation that cover `pence`, plus 10% room."""
    return -(-(pence * 11 // 10) * 10_000 // ALLOCATION_PENCE) + 1


async def set_up_funders(stubs: Stubs, people: list[PersonSpec], year: int) -> None:
    ods, ods_name = synthetic.COMMISSIONER
    gss, gss_name = synthetic.COUNCIL
    await stubs.allocation.RegisterCommissioner(
        alloc.RegisterCommissionerRequest(
            request_id=request_id("comm", ods), ods_code=ods, name=ods_name
        )
    )
    await stubs.allocation.RegisterCouncil(
        alloc.RegisterCouncilRequest(
            request_id=request_id("council", gss), gss_code=gss, name=gss_name
        )
    )
    # The mission's idea: extend the right to have a PHB to joint health and care packages.
    await stubs.entitlement.SetCommissionerPolicy(
        ent.SetCommissionerPolicyRequest(
            request_id=request_id("policy", ods),
            commissioner_ods_code=ods,
            extended_categories=[ent.ELIGIBILITY_CATEGORY_JOINT_PACKAGE],
        )
    )
    needs = cohort_needs(people)
    cohorts = [
        alloc.CohortTarget(cohort=_cohort(name), basis_points=_basis_points_covering(pence))
        for name, pence in needs.items()
        if name != "GENERAL"
    ]
    overall = sum(c.basis_points for c in cohorts) + _basis_points_covering(needs["GENERAL"])
    await stubs.allocation.SetCommissionerAllocation(
        alloc.SetCommissionerAllocationRequest(
            request_id=request_id("allocation", ods, year),
            commissioner_ods_code=ods,
            financial_year=year,
            allocation_pence=ALLOCATION_PENCE,
            phb_target_basis_points=overall,
            cohort_targets=cohorts,
        )
    )
    council_need = sum(
        line.cost_per_occurrence_pence * line.occurrences * line.council_basis_points // 10_000 + 1
        for person in people
        for line in person.plan
    )
    await stubs.allocation.SetCouncilAllocation(
        alloc.SetCouncilAllocationRequest(
            request_id=request_id("pot", gss, year),
            council_gss_code=gss,
            financial_year=year,
            pot_pence=council_need * 12 // 10 + 100_000_00,
        )
    )


async def enrol(stubs: Stubs, person: PersonSpec, year: int) -> alloc.Budget:
    """Register, decide eligibility, grant the PHB, and agree a costed integrated budget."""
    ods, gss = synthetic.COMMISSIONER[0], synthetic.COUNCIL[0]
    key = person.nhs_number
    registered = await stubs.entitlement.RegisterPerson(
        ent.RegisterPersonRequest(
            request_id=request_id("person", key),
            nhs_number=key,
            given_name=person.given_name,
            family_name=person.family_name,
            date_of_birth=person.date_of_birth.isoformat(),
            commissioner_ods_code=ods,
            council_gss_code=gss,
        )
    )
    category = f"ELIGIBILITY_CATEGORY_{person.category}"
    await stubs.entitlement.RecordEligibilityDecision(
        ent.RecordEligibilityDecisionRequest(
            request_id=request_id("eligibility", key),
            person_id=registered.person_id,
            category=category,
            outcome=ent.DECISION_OUTCOME_GRANTED,
            reasons=["assessed needs meet the criteria"],
            decided_on=person.decided_on.isoformat(),
            deciding_body=synthetic.DECIDING_BODY,
        )
    )
    discretionary = person.category in ("LONG_TERM_CONDITION", "MENTAL_HEALTH")
    await stubs.entitlement.RequestPersonalHealthBudget(
        ent.RequestPersonalHealthBudgetRequest(
            request_id=request_id("phb", key),
            person_id=registered.person_id,
            category=category,
            requested_on=person.decided_on.isoformat(),
            discretionary_outcome="DECISION_OUTCOME_GRANTED" if discretionary else None,
            discretionary_reasons=["local offer for this cohort"] if discretionary else [],
        )
    )
    budget = await _retry(
        lambda: stubs.allocation.CreateBudget(
            alloc.CreateBudgetRequest(
                request_id=request_id("budget", key),
                person_id=registered.person_id,
                commissioner_ods_code=ods,
                council_gss_code="" if person.nhs_only else gss,
                nhs_only=person.nhs_only,
                cohort=_cohort(person.category),
                financial_year=year,
                start_date=person.agreed_on.isoformat(),
                client_contribution_pence=person.client_contribution_pence,
            )
        ),
        ("NO_ELIGIBILITY", "NO_PHB_GRANTED", "PERSON_NOT_FOUND"),
    )
    for index, line in enumerate(person.plan):
        await stubs.allocation.AddPlanLine(
            alloc.AddPlanLineRequest(
                request_id=request_id("line", key, index),
                budget_id=budget.budget_id,
                line=_plan_line(line),
            )
        )
    agreed: alloc.Budget = await stubs.allocation.AgreeBudget(
        alloc.AgreeBudgetRequest(
            request_id=request_id("agree", key),
            budget_id=budget.budget_id,
            agreed_on=person.agreed_on.isoformat(),
        )
    )
    return agreed


def _plan_line(line: synthetic.PlanLineSpec) -> alloc.PlanLineInput:
    direct = line.management_option == "DIRECT_PAYMENT"
    return alloc.PlanLineInput(
        description=line.description,
        category=line.category,
        cost_per_occurrence_pence=line.cost_per_occurrence_pence,
        frequency=f"FREQUENCY_{line.frequency}",
        occurrences=line.occurrences,
        split=alloc.FundingSplit(
            nhs_basis_points=line.nhs_basis_points,
            council_basis_points=line.council_basis_points,
            client_basis_points=line.client_basis_points,
        ),
        management_option=f"MANAGEMENT_OPTION_{line.management_option}",
        # A direct payment goes to the person's own direct-payment account; the rest to providers.
        allowed_payee_kind="PAYEE_KIND_PERSON" if direct else "PAYEE_KIND_PROVIDER",
    )


def first_of_kind(budget: alloc.Budget, option: int) -> alloc.PlanLine | None:
    return next((line for line in budget.plan_lines if line.management_option == option), None)


async def pay_budget(
    stubs: Stubs, index: int, budget: alloc.Budget, loaded: Loaded, today: date
) -> None:
    """A broker's year so far: invoices reserved then confirmed, releases, a DP schedule.
    `index` is the person's place in the seeded synthetic order (it picks the provider)."""
    provider = loaded.providers[index % len(loaded.providers)]
    # Started afresh on each attempt (a retry while payment learns the budget).
    payments: list[pay.Payment] = []
    loaded.payments_by_person[index] = payments
    loaded.schedules_by_person[index] = []
    agreed = date.fromisoformat(budget.agreed_on)
    weeks = max(1, (today - agreed).days // 7)
    for line in budget.plan_lines:
        if line.management_option == alloc.MANAGEMENT_OPTION_DIRECT_PAYMENT:
            await _direct_payments(stubs, index, budget, line, agreed, loaded)
            continue
        share = line.cost_pence * min(weeks, 52) // 52
        if share <= 0:
            continue
        invoice = share // 2
        reserved = await stubs.payment.ReservePayment(
            pay.ReservePaymentRequest(
                request_id=request_id("reserve", line.plan_line_id),
                budget_id=budget.budget_id,
                plan_line_id=line.plan_line_id,
                payee_id=provider,
                amount_pence=invoice,
                service_period_start=agreed.isoformat(),
                service_period_end=today.isoformat(),
                broker_reference=f"INV-{line.plan_line_id[:8]}",
            )
        )
        confirmed = await stubs.payment.ConfirmPayment(
            pay.ConfirmPaymentRequest(
                request_id=request_id("confirm", line.plan_line_id),
                payment_id=reserved.payment_id,
                amount_pence=invoice - invoice // 20,
            )
        )  # invoices come in a little under estimate
        released = await stubs.payment.ReleasePayment(
            pay.ReleasePaymentRequest(
                request_id=request_id("release", line.plan_line_id),
                budget_id=budget.budget_id,
                plan_line_id=line.plan_line_id,
                payee_id=provider,
                amount_pence=share - invoice,
                service_period_start=agreed.isoformat(),
                service_period_end=today.isoformat(),
                broker_reference=f"REL-{line.plan_line_id[:8]}",
            )
        )
        payments += [confirmed, released]


async def _direct_payments(
    stubs: Stubs,
    index: int,
    budget: alloc.Budget,
    line: alloc.PlanLine,
    agreed: date,
    loaded: Loaded,
) -> None:
    # Payment lets a broker register the account only for a person with a budget of the
    # broker's organisations (issue 14): wait while it learns this budget from allocation.
    account = await _retry(
        lambda: stubs.payment.RegisterPayee(
            pay.RegisterPayeeRequest(
                request_id=request_id("dp-account", budget.budget_id),
                kind=pay.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT,
                name=f"Direct payment account {budget.person_id[:8]}",
                person_id=budget.person_id,  # it holds this person's direct payment only
            )
        ),
        ("PERMISSION_DENIED_ORGANISATION",),
    )
    # 4-weekly in advance from the agreement to the budget's end, covering the line's cost
    # (SI 2013/1617 reg 13): the least equal instalment that does, the last one paying the rest.
    count = schedules.instalment_count(agreed, date.fromisoformat(budget.end_date), 4)
    instalment, most = schedules.instalment_bounds(line.cost_pence, count)
    if instalment > most:
        return  # too small a line for 4-weekly instalments
    schedule = await stubs.payment.CreateSchedule(
        pay.CreateScheduleRequest(
            request_id=request_id("schedule", line.plan_line_id),
            budget_id=budget.budget_id,
            plan_line_id=line.plan_line_id,
            payee_id=account.payee_id,
            instalment_pence=instalment,
            every_weeks=4,
            start_date=agreed.isoformat(),
            end_date=budget.end_date,
        )
    )
    loaded.schedules_by_person.setdefault(index, []).append(schedule)


async def money_back(stubs: Stubs, loaded: Loaded, today: date) -> None:
    """Some providers refund part of a payment; one person's unused direct payment is reclaimed.
    Both are chosen in the people's seeded order, so a rerun chooses the same ones."""
    for payment in every_nth(loaded.payments):
        await _or_note(
            loaded,
            f"  payment {payment.payment_id}: no refund recorded",
            stubs.payment.RecordReturn(
                pay.RecordReturnRequest(
                    request_id=request_id("return", payment.payment_id),
                    payment_id=payment.payment_id,
                    amount_pence=max(1, payment.amount_pence // 10),
                    reason="visits cancelled; provider refunded the unused part",
                )
            ),
        )
    paid = await _first_paid_schedule(stubs, loaded)
    if paid is None:
        return
    await _or_note(
        loaded, f"  budget {paid.budget_id}: no reclaim raised", _reclaim(stubs, paid, today)
    )


async def _or_note(loaded: Loaded, what: str, call: Awaitable[Any]) -> None:
    """Await a call; a refusal because someone changed its budget since the demo loaded it is
    a note, not the end of the demo (another demo's data, REQUEST_ID_REUSED, still stops it)."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        reason = error_reason(error)
        if reason == REUSED or error.code() != grpc.StatusCode.FAILED_PRECONDITION:
            raise
        loaded.notes.append(f"{what} ({reason}: changed since the demo loaded it)")


async def _reclaim(stubs: Stubs, paid: pay.Schedule, today: date) -> pay.Repayment:
    raised: pay.Repayment = await stubs.payment.RequireRepayment(
        pay.RequireRepaymentRequest(
            request_id=request_id("reclaim", paid.schedule_id),
            budget_id=paid.budget_id,
            payee_id=paid.payee_id,
            grounds=pay.REPAYMENT_GROUNDS_UNUSED_ACCUMULATION,
            reasons=["more than 8 weeks of unused direct payment accumulated"],
            amount_pence=max(1, paid.instalment_pence // 2),
            due_date=(today + timedelta(days=28)).isoformat(),
            repayer=pay.REPAYER_PERSON,
        )
    )
    return raised


async def _first_paid_schedule(stubs: Stubs, loaded: Loaded) -> pay.Schedule | None:
    """The first schedule in the people's seeded order, once the scheduler (in the background)
    has paid its first instalment; None when there is none, or it is not paid in time."""
    if not loaded.schedules:
        return None
    first = loaded.schedules[0]
    for _ in range(RETRY_ATTEMPTS_MAX):
        now: pay.Schedule = await stubs.payment.GetSchedule(
            pay.GetScheduleRequest(schedule_id=first.schedule_id)
        )
        if now.instalments_paid > 0:
            return now
        await asyncio.sleep(RETRY_WAIT_S)
    return None


async def _still_agreed(stubs: Stubs, budget: alloc.Budget) -> str:
    """ "" when the budget is still agreed, else its status now (someone ended it)."""
    now: alloc.Budget = await stubs.allocation.GetBudget(
        alloc.GetBudgetRequest(budget_id=budget.budget_id)
    )
    if now.status == alloc.BUDGET_STATUS_AGREED:
        return ""
    return alloc.BudgetStatus.Name(now.status).removeprefix("BUDGET_STATUS_")


async def _pay_or_note(
    stubs: Stubs, index: int, budget: alloc.Budget, loaded: Loaded, today: date
) -> None:
    """Pay the budget (retries are answered as the first time); wait while payment has not yet
    learnt the budget; a budget someone ended, or whose payments they stopped, since the demo
    loaded it is left as it is with a note."""
    for _ in range(RETRY_ATTEMPTS_MAX):
        try:
            await pay_budget(stubs, index, budget, loaded, today)
            return
        except grpc.aio.AioRpcError as error:
            reason = error_reason(error)
            if reason not in NOT_YET_KNOWN and reason not in CHANGED_SINCE:
                raise
            status = await _still_agreed(stubs, budget)
            if status:
                loaded.notes.append(_changed_note(budget, status.lower()))
                return
            if reason not in NOT_YET_KNOWN:
                loaded.notes.append(_changed_note(budget, f"refused {reason}: changed"))
                return
        await asyncio.sleep(RETRY_WAIT_S)
    await pay_budget(stubs, index, budget, loaded, today)


async def _ended_budgets(stubs: Stubs, year: int) -> list[EndedBudget]:
    """The commissioner's budgets of `year` that have ended (ListBudgets, every page)."""
    found: list[EndedBudget] = []
    token = ""
    while True:
        page = await stubs.allocation.ListBudgets(
            alloc.ListBudgetsRequest(
                page_size=200,
                page_token=token,
                commissioner_ods_code=synthetic.COMMISSIONER[0],
                status=alloc.BUDGET_STATUS_ENDED,
                financial_year=year,
            )
        )
        found += [
            EndedBudget(
                b.budget_id,
                b.ended_on,
                alloc.EndReason.Name(b.end_reason).removeprefix("END_REASON_"),
            )
            for b in page.budgets
        ]
        token = page.next_page_token
        if not token:
            return found


def _changed_note(budget: alloc.Budget, why: str) -> str:
    return (
        f"  budget {budget.budget_id}: {why} since the demo loaded it;"
        " its payments are left as they are"
    )


async def load(addresses: Mapping[str, str], *, people_count: int, today: date) -> Loaded:
    """Load `people_count` synthetic people as of `today` (England). Raises DemoMismatch when
    the stack holds another demo's data (a request_id reused with another payload)."""
    try:
        return await _load(addresses, people_count=people_count, today=today)
    except grpc.aio.AioRpcError as error:
        if error_reason(error) != REUSED:
            raise
        raise DemoMismatch(
            "the demo data in this stack was loaded with other figures (another --people,"
            " another day or another version of the demo); run with --fresh to load this one"
        ) from None


async def _load(addresses: Mapping[str, str], *, people_count: int, today: date) -> Loaded:
    people = synthetic.people(people_count, today=today)
    year = synthetic.financial_year_of(today)
    # A service restarted by `up` mid-load (or a database blip) is retried, not fatal.
    channels = {
        name: open_aio_channel(address, options=RETRYING_CHANNEL_OPTIONS)
        for name, address in addresses.items()
    }
    try:
        stubs = Stubs(
            ent_grpc.EntitlementServiceStub(channels["entitlement"]),  # type: ignore[no-untyped-call]
            alloc_grpc.AllocationServiceStub(channels["allocation"]),  # type: ignore[no-untyped-call]
            pay_grpc.PaymentServiceStub(channels["payment"]),  # type: ignore[no-untyped-call]
        )
        loaded = Loaded()
        await set_up_funders(stubs, people, year)

        order: dict[str, int] = {}

        async def enrol_one(numbered: tuple[int, PersonSpec]) -> None:
            index, person = numbered
            budget = await enrol(stubs, person, year)
            loaded.budgets[budget.budget_id] = budget
            order[budget.budget_id] = index

        await _bounded(list(enumerate(people)), enrol_one, "people and budgets", "people")
        for index in range(8):
            provider = await stubs.payment.RegisterPayee(
                pay.RegisterPayeeRequest(
                    request_id=request_id("provider", index),
                    kind=pay.PAYEE_KIND_PROVIDER,
                    name=f"Synthetic Care Provider {index + 1} Ltd",
                    # registered with the commissioner, so `broker payees` lists it
                    organisation_code=synthetic.COMMISSIONER[0],
                )
            )
            loaded.providers.append(provider.payee_id)

        async def pay_one(budget: alloc.Budget) -> None:
            await _pay_or_note(stubs, order[budget.budget_id], budget, loaded, today)

        budgets = sorted(loaded.budgets.values(), key=lambda b: order[b.budget_id])
        await _bounded(budgets, pay_one, "payments and schedules", "budgets")
        await money_back(stubs, loaded, today)
        ended = await _ended_budgets(stubs, year)
        ended.sort(key=lambda e: order.get(e.budget_id, len(order)))
        mine = [e for e in ended if e.budget_id in loaded.budgets]
        loaded.notes += ended_notes(mine, loaded.notes)
        return loaded
    finally:
        for channel in channels.values():
            await channel.close()
