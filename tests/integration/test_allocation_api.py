"""Allocation through its gRPC API against a real PostgreSQL and NATS: allocations and the
ring-fence, budgets, plan lines, agreement, revisions, endings, bad input, retries, events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from onebudget.allocation.entrypoints.app import SPEC
from onebudget.allocation.service_layer import budgets, entitlement_events
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.allocation.v1 import allocation_service_pb2_grpc as pb_grpc
from onebudget.events.v1 import allocation_pb2 as al_ev
from onebudget.events.v1 import entitlement_pb2 as ent
from onebudget.events.v1.envelope_pb2 import EventEnvelope
from onebudget.ledger import store
from onebudget.ledger.domain import Account, FundingStream, Transfer
from onebudget.shared import bus
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.outbox import new_event
from onebudget.shared.plumbing import outbox_backlog_sql
from onebudget.shared.server import ServiceHost
from tests.conftest import StartService

ODS, GSS, YEAR = "00L", "E06000047", 2026
NHS_ONLY = (10_000, 0, 0)  # a line an adult CHC budget may hold (issue 13: CHC is NHS-only)


def rid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def host(start_service: StartService) -> ServiceHost:
    return await start_service(SPEC)


@pytest.fixture
async def stub(host: ServiceHost) -> AsyncIterator[pb_grpc.AllocationServiceStub]:
    async with open_aio_channel(host.address) as channel:
        yield pb_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]


def pool_of(host: ServiceHost) -> asyncpg.Pool:
    assert host.runtime is not None
    return host.runtime.pool


async def feed(pool: asyncpg.Pool, payload: Any, person_id: str, version: int = 0) -> str:
    """Apply one entitlement event as the consumer does (applied_events row + effect);
    `version` is the person's event version (entitlement's recording order)."""
    event = new_event(
        payload,
        source="entitlement",
        aggregate_type="person",
        aggregate_id=person_id,
        aggregate_version=version,
    )
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO allocation.applied_events (consumer, event_id) VALUES ($1, $2)",
            entitlement_events.DURABLE,
            uuid.UUID(event.event_id),
        )
        await entitlement_events.handle(conn, event.envelope)
    return event.event_id


def granted(
    person_id: str, category: Any = ent.ELIGIBILITY_CATEGORY_CHC, child: bool = False
) -> ent.EligibilityDecided:
    return ent.EligibilityDecided(
        person_id=person_id,
        decision_id=rid(),
        category=category,
        outcome=ent.DECISION_OUTCOME_GRANTED,
        decided_on="2026-05-01",
        commissioner_ods_code=ODS,
        council_gss_code=GSS,
        child=child,
    )


def phb_granted(
    person_id: str,
    category: Any = ent.ELIGIBILITY_CATEGORY_CHC,
    decided_on: str = "2026-05-01",
    outcome: Any = ent.DECISION_OUTCOME_GRANTED,
) -> ent.PersonalHealthBudgetRequestDecided:
    """The commissioner's decision on a PHB request (by right for CHC)."""
    return ent.PersonalHealthBudgetRequestDecided(
        person_id=person_id,
        phb_request_id=rid(),
        category=category,
        outcome=outcome,
        reasons=[] if outcome == ent.DECISION_OUTCOME_GRANTED else ["not appropriate"],
        decided_on=decided_on,
        commissioner_ods_code=ODS,
        council_gss_code=GSS,
        right_to_have=True,
    )


async def eligible_person(
    pool: asyncpg.Pool, category: Any = ent.ELIGIBILITY_CATEGORY_JOINT_PACKAGE
) -> str:
    """A person with a granted eligibility and a granted PHB in `category` (a joint package by
    default, so that a budget may take council money: adult CHC is NHS-only, issue 13)."""
    person = rid()
    await feed(pool, granted(person, category), person)
    await feed(pool, phb_granted(person, category), person)
    return person


async def setup_funders(
    stub: pb_grpc.AllocationServiceStub,
    allocation: int = 100_000_000,
    target_bp: int = 500,
    cohorts: tuple[tuple[Any, int], ...] = (),
    pot: int = 10_000_000,
) -> pb.CommissionerAllocation:
    await stub.RegisterCommissioner(
        pb.RegisterCommissionerRequest(request_id=rid(), ods_code=ODS, name="NHS Example")
    )
    await stub.RegisterCouncil(
        pb.RegisterCouncilRequest(request_id=rid(), gss_code=GSS, name="Example Council")
    )
    await stub.SetCouncilAllocation(
        pb.SetCouncilAllocationRequest(
            request_id=rid(), council_gss_code=GSS, financial_year=YEAR, pot_pence=pot
        )
    )
    result: pb.CommissionerAllocation = await stub.SetCommissionerAllocation(
        pb.SetCommissionerAllocationRequest(
            request_id=rid(),
            commissioner_ods_code=ODS,
            financial_year=YEAR,
            allocation_pence=allocation,
            phb_target_basis_points=target_bp,
            cohort_targets=[pb.CohortTarget(cohort=c, basis_points=bp) for c, bp in cohorts],
        )
    )
    return result


def line(
    cost: int = 10_000,
    occurrences: int = 10,
    split: tuple[int, int, int] = (6000, 4000, 0),
    category: str = "personal_care",
) -> pb.PlanLineInput:
    return pb.PlanLineInput(
        description="Personal care visits",
        category=category,
        cost_per_occurrence_pence=cost,
        frequency=pb.FREQUENCY_WEEKLY,
        occurrences=occurrences,
        split=pb.FundingSplit(
            nhs_basis_points=split[0], council_basis_points=split[1], client_basis_points=split[2]
        ),
        management_option=pb.MANAGEMENT_OPTION_DIRECT_PAYMENT,
        allowed_payee_kind=pb.PAYEE_KIND_PERSON,
    )


async def new_budget(stub: pb_grpc.AllocationServiceStub, person: str, **fields: Any) -> pb.Budget:
    budget: pb.Budget = await stub.CreateBudget(
        pb.CreateBudgetRequest(request_id=rid(), person_id=person, financial_year=YEAR, **fields)
    )
    return budget


async def add(
    stub: pb_grpc.AllocationServiceStub, budget_id: str, *lines: pb.PlanLineInput
) -> pb.Budget:
    budget: pb.Budget | None = None
    for plan_line in lines:
        budget = await stub.AddPlanLine(
            pb.AddPlanLineRequest(request_id=rid(), budget_id=budget_id, line=plan_line)
        )
    assert budget is not None
    return budget


async def agree(stub: pb_grpc.AllocationServiceStub, budget_id: str) -> pb.Budget:
    budget: pb.Budget = await stub.AgreeBudget(
        pb.AgreeBudgetRequest(request_id=rid(), budget_id=budget_id)
    )
    return budget


def details(error: grpc.aio.AioRpcError) -> tuple[str, list[str]]:
    """(ErrorInfo reason, BadRequest violation fields)."""
    status = rpc_status.from_call(error)
    assert status is not None
    reason, fields = "", []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = [v.field for v in bad.field_violations]
    return reason, fields


async def refused(call: Any, code: grpc.StatusCode) -> tuple[str, list[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return details(caught.value)


async def money_snapshot(pool: asyncpg.Pool) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending"
        " FROM ledger.accounts ORDER BY id"
    )
    return [tuple(r) for r in rows]


async def outbox_count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM allocation.outbox"))


def stream(budget: pb.Budget, code: int) -> pb.BudgetStream:
    return next(s for s in budget.streams if s.funding_stream == code)


# -- the happy path -----------------------------------------------------------------------------


async def test_allocation_ring_fences_target_share_exactly(
    stub: pb_grpc.AllocationServiceStub,
) -> None:
    # 5% of £1,000,000.03 is 5,000,000.15p: half up gives 5,000,000p overall; LTC 2% = 2,000,000.06
    allocation = await setup_funders(
        stub,
        allocation=100_000_003,
        target_bp=500,
        cohorts=((pb.COHORT_LONG_TERM_CONDITION, 200),),
    )
    fences = {f.cohort: f for f in allocation.ring_fences}
    assert allocation.phb_target_pence == 5_000_000
    assert fences[pb.COHORT_LONG_TERM_CONDITION].target_pence == 2_000_000
    assert fences[pb.COHORT_UNSPECIFIED].target_pence == 3_000_000
    assert sum(f.balance_pence for f in fences.values()) == 5_000_000
    assert allocation.allocation_balance_pence == 100_000_003 - 5_000_000


async def test_agree_moves_each_stream_from_its_funder(
    stub: pb_grpc.AllocationServiceStub,
    host: ServiceHost,
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    person = await eligible_person(pool)
    budget = await new_budget(stub, person, client_contribution_pence=5_000)
    assert budget.status == pb.BUDGET_STATUS_DRAFT
    assert len(budget.streams) == 3
    # 3 x £33.33 split 3333/3333/3334: largest remainder keeps every penny.
    budget = await add(
        stub, budget.budget_id, line(), line(cost=3333, occurrences=3, split=(3333, 3333, 3334))
    )
    assert budget.planned_pence == 100_000 + 9_999
    agreed = await agree(stub, budget.budget_id)
    assert agreed.status == pb.BUDGET_STATUS_AGREED
    nhs, council, client = (
        stream(agreed, c)
        for c in (pb.FUNDING_STREAM_NHS, pb.FUNDING_STREAM_COUNCIL, pb.FUNDING_STREAM_CLIENT)
    )
    assert (nhs.agreed_pence, council.agreed_pence, client.agreed_pence) == (
        60_000 + 3_333,
        40_000 + 3_333,
        3_333,
    )
    assert agreed.agreed_pence == agreed.planned_pence == agreed.available_pence
    allocation = await stub.GetCommissionerAllocation(
        pb.GetCommissionerAllocationRequest(commissioner_ods_code=ODS, financial_year=YEAR)
    )
    general = allocation.ring_fences[0]
    assert general.funded_pence == nhs.agreed_pence
    assert general.balance_pence + general.funded_pence == general.target_pence


async def test_every_change_publishes_one_event(
    stub: pb_grpc.AllocationServiceStub,
    host: ServiceHost,
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool))
    await add(stub, budget.budget_id, line())
    await agree(stub, budget.budget_id)
    rows = await pool.fetch("SELECT subject FROM allocation.outbox ORDER BY seq")
    assert [r["subject"] for r in rows] == [
        "onebudget.allocation.council.allocation_set.v1",
        "onebudget.allocation.commissioner.allocation_set.v1",
        "onebudget.allocation.budget.created.v1",
        "onebudget.allocation.budget.plan_line_added.v1",
        "onebudget.allocation.budget.agreed.v1",
    ]
    for _ in range(100):
        if not await pool.fetchval(outbox_backlog_sql("allocation")):
            break
        await asyncio.sleep(0.05)
    assert await pool.fetchval(outbox_backlog_sql("allocation")) == 0


async def test_retry_returns_first_answer_and_moves_nothing_twice(
    stub: pb_grpc.AllocationServiceStub,
    host: ServiceHost,
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool))
    await add(stub, budget.budget_id, line())
    request = pb.AgreeBudgetRequest(request_id=rid(), budget_id=budget.budget_id)
    first = await stub.AgreeBudget(request)
    before, events = await money_snapshot(pool), await outbox_count(pool)
    second = await stub.AgreeBudget(request)
    assert second == first
    assert await money_snapshot(pool) == before
    assert await outbox_count(pool) == events


# -- bad input ----------------------------------------------------------------------------------


async def test_bad_plan_lines_are_invalid_arguments(
    stub: pb_grpc.AllocationServiceStub,
    host: ServiceHost,
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool))
    events = await outbox_count(pool)
    bad = [
        (line(split=(5000, 4000, 0)), "line.split"),
        (line(cost=0), "line.cost_per_occurrence_pence"),
        (line(cost=-5), "line.cost_per_occurrence_pence"),
        (line(occurrences=0), "line.occurrences"),
        (line(category="Alcohol!"), "line.category"),
    ]
    for plan_line, field in bad:
        reason, fields = await refused(
            stub.AddPlanLine(
                pb.AddPlanLineRequest(request_id=rid(), budget_id=budget.budget_id, line=plan_line)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert reason == "INVALID_REQUEST"
        assert field in fields
    assert await outbox_count(pool) == events


async def _excluded(call: Any) -> dict[str, str]:
    """The metadata of a CATEGORY_EXCLUDED refusal (FAILED_PRECONDITION, as payment answers)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION, caught.value.details()
    status = rpc_status.from_call(caught.value)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in status.details)
    assert info.reason == "CATEGORY_EXCLUDED"
    return dict(info.metadata)


@pytest.mark.parametrize(
    "category", ["urgent_care", "primary_medical_care", "emergency_care", "primary_dental_care"]
)
async def test_a_line_that_payment_would_refuse_is_never_planned(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost, category: str
) -> None:
    """urgent_care and primary_medical_care were agreed (money moved) and then never payable:
    allocation and payment kept two lists (issue 12). One policy refuses them at planning."""
    await setup_funders(stub)
    pool = pool_of(host)
    draft = await new_budget(stub, await eligible_person(pool))
    agreed = await new_budget(stub, await eligible_person(pool))
    await add(stub, agreed.budget_id, line())
    await agree(stub, agreed.budget_id)
    before, events = await money_snapshot(pool), await outbox_count(pool)
    metadata = await _excluded(
        stub.AddPlanLine(
            pb.AddPlanLineRequest(
                request_id=rid(), budget_id=draft.budget_id, line=line(category=category)
            )
        )
    )
    assert metadata == {"category": category, "field": "line.category"}
    metadata = await _excluded(
        stub.ReviseBudget(
            pb.ReviseBudgetRequest(
                request_id=rid(),
                budget_id=agreed.budget_id,
                reasons=["needs changed"],
                notice_date="2026-06-01",
                add_lines=[line(), line(category=category)],
            )
        )
    )
    assert metadata == {"category": category, "field": "add_lines[1].category"}
    assert await money_snapshot(pool) == before
    assert await outbox_count(pool) == events
    got = await stub.GetBudget(pb.GetBudgetRequest(budget_id=draft.budget_id))
    assert list(got.plan_lines) == []


async def test_the_one_setting_refuses_at_planning_and_at_agreement(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ONEBUDGET_EXCLUDED_CATEGORIES replaces the default list; a line planned before the policy
    excluded its category is refused when the plan is agreed, and no money moves."""
    first = await start_service(SPEC)
    async with open_aio_channel(first.address) as channel:
        stub = pb_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]
        await setup_funders(stub)
        pool = pool_of(first)
        budget = await new_budget(stub, await eligible_person(pool))
        await add(stub, budget.budget_id, line(), line(category="lottery_tickets"))
    monkeypatch.setenv("ONEBUDGET_EXCLUDED_CATEGORIES", "lottery_tickets, alcohol")
    second = await start_service(SPEC)
    async with open_aio_channel(second.address) as channel:
        stub = pb_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]
        before, events = await money_snapshot(pool), await outbox_count(pool)
        metadata = await _excluded(
            stub.AgreeBudget(pb.AgreeBudgetRequest(request_id=rid(), budget_id=budget.budget_id))
        )
        assert metadata["category"] == "lottery_tickets"
        assert "plan_line_id" in metadata
        await _excluded(
            stub.AddPlanLine(
                pb.AddPlanLineRequest(
                    request_id=rid(), budget_id=budget.budget_id, line=line(category="alcohol")
                )
            )
        )
        # The replaced list no longer holds the default's categories.
        added = await stub.AddPlanLine(
            pb.AddPlanLineRequest(
                request_id=rid(), budget_id=budget.budget_id, line=line(category="urgent_care")
            )
        )
        assert len(added.plan_lines) == 3
        assert await money_snapshot(pool) == before
        assert await outbox_count(pool) == events + 1  # the PlanLineAdded, nothing agreed


async def test_bad_years_and_unknown_things(
    stub: pb_grpc.AllocationServiceStub,
    host: ServiceHost,
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    _, fields = await refused(
        stub.SetCommissionerAllocation(
            pb.SetCommissionerAllocationRequest(
                request_id=rid(),
                commissioner_ods_code=ODS,
                financial_year=1999,
                allocation_pence=100,
                phb_target_basis_points=100,
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert "financial_year" in fields
    reason, _ = await refused(
        stub.SetCommissionerAllocation(
            pb.SetCommissionerAllocationRequest(
                request_id=rid(),
                commissioner_ods_code="QQQ",
                financial_year=YEAR,
                allocation_pence=100,
                phb_target_basis_points=100,
            )
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert reason == "COMMISSIONER_NOT_FOUND"
    reason, _ = await refused(
        stub.SetCommissionerAllocation(
            pb.SetCommissionerAllocationRequest(
                request_id=rid(),
                commissioner_ods_code=ODS,
                financial_year=YEAR,
                allocation_pence=100,
                phb_target_basis_points=100,
            )
        ),
        grpc.StatusCode.ALREADY_EXISTS,
    )
    assert reason == "ALLOCATION_ALREADY_SET"
    reason, _ = await refused(new_budget(stub, rid()), grpc.StatusCode.NOT_FOUND)
    assert reason == "PERSON_NOT_FOUND"
    refused_person = rid()
    decision = granted(refused_person)
    decision.outcome = ent.DECISION_OUTCOME_REFUSED
    await feed(pool, decision, refused_person)
    reason, _ = await refused(new_budget(stub, refused_person), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "NO_ELIGIBILITY"
    reason, _ = await refused(
        new_budget(stub, await eligible_person(pool), commissioner_ods_code="ZZZ"),
        grpc.StatusCode.NOT_FOUND,
    )
    assert reason == "COMMISSIONER_NOT_FOUND"
    _, fields = await refused(
        stub.CreateBudget(
            pb.CreateBudgetRequest(request_id="not-a-uuid", person_id=rid(), financial_year=YEAR)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert "request_id" in fields


async def test_client_contribution_refused_on_nhs_only_budget(
    stub: pb_grpc.AllocationServiceStub,
    host: ServiceHost,
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    person = await eligible_person(pool)
    reason, _ = await refused(
        new_budget(stub, person, nhs_only=True, client_contribution_pence=100),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "CLIENT_CONTRIBUTION_NOT_ALLOWED"
    budget = await new_budget(stub, person, nhs_only=True)
    assert [s.funding_stream for s in budget.streams] == [pb.FUNDING_STREAM_NHS]
    reason, _ = await refused(
        stub.AddPlanLine(
            pb.AddPlanLineRequest(
                request_id=rid(), budget_id=budget.budget_id, line=line(split=(5000, 4000, 1000))
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "CLIENT_CONTRIBUTION_NOT_ALLOWED"


async def test_agreement_rules(stub: pb_grpc.AllocationServiceStub, host: ServiceHost) -> None:
    await setup_funders(stub, allocation=1_000_000, target_bp=1000)  # ring-fence £1,000
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool))
    reason, _ = await refused(agree(stub, budget.budget_id), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "PLAN_EMPTY"
    await add(stub, budget.budget_id, line(cost=10_000, occurrences=10, split=(10_000, 0, 0)))
    await agree(stub, budget.budget_id)
    reason, _ = await refused(agree(stub, budget.budget_id), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "BUDGET_ALREADY_AGREED"
    reason, _ = await refused(
        add(stub, budget.budget_id, line()), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert reason == "BUDGET_ALREADY_AGREED"
    # The ring-fence is now empty: the target is a floor, so the general allocation pays the
    # next NHS budget (issue 13) until it too is spent; then nothing moves.
    second = await new_budget(stub, await eligible_person(pool))
    await add(stub, second.budget_id, line(cost=900_000, occurrences=1, split=(10_000, 0, 0)))
    assert (await agree(stub, second.budget_id)).status == pb.BUDGET_STATUS_AGREED
    third = await new_budget(stub, await eligible_person(pool))
    await add(stub, third.budget_id, line(cost=1, occurrences=1, split=(10_000, 0, 0)))
    before, events = await money_snapshot(pool), await outbox_count(pool)
    reason, _ = await refused(agree(stub, third.budget_id), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "NHS_ALLOCATION_EXHAUSTED"
    assert await money_snapshot(pool) == before
    assert await outbox_count(pool) == events
    again = await stub.GetBudget(pb.GetBudgetRequest(budget_id=third.budget_id))
    assert again.status == pb.BUDGET_STATUS_DRAFT


# -- revise, end, close -------------------------------------------------------------------------


async def spend(pool: asyncpg.Pool, account_id: str, amount: int, plan_line_id: str) -> None:
    """A payment as the payment service would make it: budget stream account -> payee."""
    payee = Account(uuid.uuid4(), "payee", "provider-1", FundingStream.NHS)
    async with pool.acquire() as conn, conn.transaction():
        await store.create_accounts(conn, [payee])
        results = await store.create_transfers(
            conn,
            [
                Transfer(
                    uuid.uuid4(),
                    uuid.UUID(account_id),
                    payee.id,
                    amount,
                    "payment",
                    plan_line_ref=plan_line_id,
                )
            ],
        )
    assert [str(r) for r in results] == ["ok"]


async def test_revise_and_end_return_money_to_the_penny(
    stub: pb_grpc.AllocationServiceStub,
    host: ServiceHost,
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool))
    budget = await add(stub, budget.budget_id, line(), line(cost=5_000, occurrences=3))
    agreed = await agree(stub, budget.budget_id)
    first, second = agreed.plan_lines
    nhs_account = stream(agreed, pb.FUNDING_STREAM_NHS).account_id
    await spend(pool, nhs_account, 1_234, first.plan_line_id)
    reason, _ = await refused(
        stub.ReviseBudget(
            pb.ReviseBudgetRequest(
                request_id=rid(),
                budget_id=budget.budget_id,
                reasons=["needs changed"],
                notice_date="2026-06-01",
                remove_plan_line_ids=[first.plan_line_id],
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "PLAN_LINE_HAS_PAYMENTS"
    _, fields = await refused(
        stub.ReviseBudget(
            pb.ReviseBudgetRequest(
                request_id=rid(),
                budget_id=budget.budget_id,
                notice_date="2026-06-01",
                remove_plan_line_ids=[second.plan_line_id],
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert "reasons" in fields
    revised = await stub.ReviseBudget(
        pb.ReviseBudgetRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            reasons=["fewer visits needed"],
            notice_date="2026-06-01",
            remove_plan_line_ids=[second.plan_line_id],
            add_lines=[line(cost=1_001, occurrences=1)],
        )
    )
    assert revised.revision == 1
    assert revised.agreed_pence == 100_000 + 1_001
    spent_line = next(p for p in revised.plan_lines if p.plan_line_id == first.plan_line_id)
    assert (spent_line.spent_pence, spent_line.available_pence) == (1_234, 100_000 - 1_234)
    ended = await stub.EndBudget(
        pb.EndBudgetRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            reasons=["needs met"],
            notice_date="2026-04-01",
        )
    )
    assert ended.status == pb.BUDGET_STATUS_ENDED
    assert ended.available_pence == 0
    assert ended.spent_pence == 1_234
    allocation = await stub.GetCommissionerAllocation(
        pb.GetCommissionerAllocationRequest(commissioner_ods_code=ODS, financial_year=YEAR)
    )
    fence = allocation.ring_fences[0]
    assert fence.funded_pence == 1_234
    assert fence.balance_pence + fence.funded_pence == fence.target_pence


async def test_close_year_returns_unused_ring_fence(
    stub: pb_grpc.AllocationServiceStub,
) -> None:
    await setup_funders(stub)
    reason, _ = await refused(
        stub.CloseFinancialYear(
            pb.CloseFinancialYearRequest(
                request_id=rid(), commissioner_ods_code=ODS, financial_year=2099
            )
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert reason == "ALLOCATION_NOT_FOUND"
    await stub.SetCommissionerAllocation(
        pb.SetCommissionerAllocationRequest(
            request_id=rid(),
            commissioner_ods_code=ODS,
            financial_year=2030,
            allocation_pence=1_000,
            phb_target_basis_points=100,
        )
    )
    reason, _ = await refused(
        stub.CloseFinancialYear(
            pb.CloseFinancialYearRequest(
                request_id=rid(), commissioner_ods_code=ODS, financial_year=2030
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "FINANCIAL_YEAR_NOT_OVER"
    await stub.SetCommissionerAllocation(
        pb.SetCommissionerAllocationRequest(
            request_id=rid(),
            commissioner_ods_code=ODS,
            financial_year=2024,
            allocation_pence=1_000_000,
            phb_target_basis_points=250,
        )
    )
    closed = await stub.CloseFinancialYear(
        pb.CloseFinancialYearRequest(
            request_id=rid(), commissioner_ods_code=ODS, financial_year=2024
        )
    )
    assert closed.closed
    assert closed.ring_fences[0].balance_pence == 0
    assert closed.ring_fences[0].returned_at_close_pence == 25_000
    assert closed.allocation_balance_pence == 1_000_000


# -- entitlement events -------------------------------------------------------------------------


async def test_death_event_over_nats_ends_budgets_once(
    stub: pb_grpc.AllocationServiceStub,
    host: ServiceHost,
    nats_url: str,
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    person = await eligible_person(pool)
    budget = await new_budget(stub, person)
    await add(stub, budget.budget_id, line())
    await agree(stub, budget.budget_id)
    died = new_event(
        ent.PersonDied(
            person_id=person, died_on="2026-07-01", commissioner_ods_code=ODS, council_gss_code=GSS
        ),
        source="entitlement",
        aggregate_type="person",
        aggregate_id=person,
    )
    # Entitlement's event, so published as the operator: allocation's own NATS user may not
    # publish entitlement's subjects (ADR 16).
    operator = await bus.connect(nats_url, name="test-operator")
    js = operator.jetstream()
    # Published twice under different message ids: JetStream keeps both, the consumer applies one.
    for _ in range(2):
        await js.publish(died.subject, died.envelope.SerializeToString())
    await operator.close()
    for _ in range(200):
        again = await stub.GetBudget(pb.GetBudgetRequest(budget_id=budget.budget_id))
        if again.status == pb.BUDGET_STATUS_ENDED:
            break
        await asyncio.sleep(0.05)
    assert again.status == pb.BUDGET_STATUS_ENDED
    assert again.end_reason == pb.END_REASON_PERSON_DIED
    assert again.available_pence == 0
    await asyncio.sleep(0.5)
    ended_events = await pool.fetchval(
        "SELECT count(*) FROM allocation.outbox WHERE subject = $1",
        "onebudget.allocation.budget.ended.v1",
    )
    assert ended_events == 1
    reason, _ = await refused(new_budget(stub, person), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "PERSON_DECEASED"


# -- the finance CLI ----------------------------------------------------------------------------


async def test_finance_cli_allocates_lists_and_closes(
    stub: pb_grpc.AllocationServiceStub,
    host: ServiceHost,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from onebudget.cli import main

    await setup_funders(stub)
    budget = await new_budget(stub, await eligible_person(pool_of(host)))
    await add(stub, budget.budget_id, line())
    await agree(stub, budget.budget_id)
    monkeypatch.setenv("ONEBUDGET_ALLOCATION_ADDRESS", host.address)
    code = await asyncio.to_thread(
        main,
        [
            "finance",
            "allocate",
            "--commissioner",
            ODS,
            "--year",
            "2024",
            "--allocation-pence",
            "100000000",
            "--target-bp",
            "500",
            "--cohort",
            "MENTAL_HEALTH=200",
        ],
    )
    assert code == 0
    assert await asyncio.to_thread(main, ["finance", "budgets", "--commissioner", ODS]) == 0
    assert (
        await asyncio.to_thread(
            main, ["finance", "close-year", "--commissioner", ODS, "--year", "2024"]
        )
        == 0
    )
    assert (
        await asyncio.to_thread(
            main, ["finance", "close-year", "--commissioner", ODS, "--year", "2024"]
        )
        == 1
    )
    out, err = capsys.readouterr()
    assert "£50,000.00" in out  # 5% of £1,000,000
    assert "MENTAL_HEALTH" in out
    assert "£1,000.00" in out  # the agreed budget (10 x £100)
    assert "closed" in out
    assert "FAILED_PRECONDITION" in err


# -- ending while payments commit ----------------------------------------------------------------


def race_payments_into_end(
    monkeypatch: pytest.MonkeyPatch, pool: asyncpg.Pool, account_id: str, line_id: str, times: int
) -> list[int]:
    """Make EndBudget's balance read stale: after each of its first `times` reads, a payment of
    100p commits against the NHS stream from another connection (as the payment service would
    while the end is deciding). Returns the list of payments made, for the test to count."""
    real = store.lookup_accounts
    made: list[int] = []

    async def read_then_pay(conn: asyncpg.Connection, ids: Any) -> Any:
        records = await real(conn, ids)
        if len(made) < times and uuid.UUID(account_id) in ids:
            await spend(pool, account_id, 100, line_id)
            made.append(100)
        return records

    monkeypatch.setattr(store, "lookup_accounts", read_then_pay)
    return made


async def test_end_budget_while_a_payment_commits_returns_what_is_left(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A payment committing between the end's balance read and its return moves is no reason to
    refuse the end with a precondition the caller cannot fix (was CUT_BELOW_SPENT_OR_RESERVED):
    the end reads the balances again and returns exactly what is left."""
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool))
    await add(stub, budget.budget_id, line(split=(6000, 4000, 0)))
    agreed = await agree(stub, budget.budget_id)
    nhs_account = stream(agreed, pb.FUNDING_STREAM_NHS).account_id
    made = race_payments_into_end(
        monkeypatch, pool, nhs_account, agreed.plan_lines[0].plan_line_id, 2
    )
    ended = await stub.EndBudget(
        pb.EndBudgetRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            reasons=["needs met"],
            notice_date="2026-04-01",
        )
    )
    assert made == [100, 100]
    assert ended.status == pb.BUDGET_STATUS_ENDED
    assert ended.available_pence == 0
    nhs = stream(ended, pb.FUNDING_STREAM_NHS)
    assert nhs.spent_pence == 200
    assert nhs.returned_pence == 60_000 - 200
    assert stream(ended, pb.FUNDING_STREAM_COUNCIL).returned_pence == 40_000


async def test_end_budget_under_endless_payments_is_aborted_and_retry_succeeds(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When payments keep committing on every re-read, the end gives up with ABORTED (reason
    CONCURRENT_PAYMENTS, with RetryInfo), changes nothing, and a plain retry of the same
    request succeeds once the payments have settled."""
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool))
    await add(stub, budget.budget_id, line())
    agreed = await agree(stub, budget.budget_id)
    nhs_account = stream(agreed, pb.FUNDING_STREAM_NHS).account_id
    made = race_payments_into_end(
        monkeypatch, pool, nhs_account, agreed.plan_lines[0].plan_line_id, 1_000
    )
    events_before = await outbox_count(pool)
    request = pb.EndBudgetRequest(
        request_id=rid(),
        budget_id=budget.budget_id,
        reasons=["needs met"],
        notice_date="2026-04-01",
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.EndBudget(request)
    assert caught.value.code() == grpc.StatusCode.ABORTED
    status = rpc_status.from_call(caught.value)
    assert status is not None
    assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
    assert details(caught.value)[0] == "CONCURRENT_PAYMENTS"
    assert len(made) == budgets.END_ATTEMPTS_MAX
    assert await outbox_count(pool) == events_before
    still = await stub.GetBudget(pb.GetBudgetRequest(budget_id=budget.budget_id))
    assert still.status == pb.BUDGET_STATUS_AGREED
    monkeypatch.undo()
    ended = await stub.EndBudget(request)
    assert ended.status == pb.BUDGET_STATUS_ENDED
    assert stream(ended, pb.FUNDING_STREAM_NHS).returned_pence == 60_000 - 100 * len(made)


async def test_spent_is_net_of_returns_on_the_budget_its_streams_and_lines(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """A payee returning money makes the spend smaller, on the budget and each stream as on its
    plan line (GetBudget counted the return as spent: 510,000 spent of an agreed 500,000)."""
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool))
    await add(stub, budget.budget_id, line(cost=50_000, occurrences=10, split=(10_000, 0, 0)))
    agreed = await agree(stub, budget.budget_id)
    nhs_account = stream(agreed, pb.FUNDING_STREAM_NHS).account_id
    line_id = agreed.plan_lines[0].plan_line_id
    payee = Account(uuid.uuid4(), "payee", "provider-9", FundingStream.NHS)
    async with pool.acquire() as conn, conn.transaction():
        await store.create_accounts(conn, [payee])
        moves = [
            Transfer(uuid.uuid4(), uuid.UUID(nhs_account), payee.id, 500_000, "payment",
                     plan_line_ref=line_id),
            Transfer(uuid.uuid4(), payee.id, uuid.UUID(nhs_account), 10_000, "payment_return",
                     plan_line_ref=line_id),
        ]  # fmt: skip
        results = await store.create_transfers(conn, moves)
    assert [str(r) for r in results] == ["ok", "ok"]
    got = await stub.GetBudget(pb.GetBudgetRequest(budget_id=budget.budget_id))
    nhs = stream(got, pb.FUNDING_STREAM_NHS)
    assert nhs.spent_pence == 490_000
    assert got.spent_pence == 490_000
    assert got.plan_lines[0].spent_pence == 490_000
    assert nhs.available_pence == 10_000
    assert got.spent_pence + got.reserved_pence + got.available_pence == got.agreed_pence


async def test_an_end_needs_reasons_and_a_notice_date_like_any_cut(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Issue 13, item 13: EndBudget ended a budget with neither reasons nor a notice date (before
    the fix both refusals below succeeded); an end dated before its notice is refused too; the
    accepted end records both on BudgetEnded. Nothing moves on a refusal."""
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool))
    await add(stub, budget.budget_id, line())
    await agree(stub, budget.budget_id)
    before, events = await money_snapshot(pool), await outbox_count(pool)
    _, fields = await refused(
        stub.EndBudget(pb.EndBudgetRequest(request_id=rid(), budget_id=budget.budget_id)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(fields) == {"reasons", "notice_date"}
    _, fields = await refused(
        stub.EndBudget(
            pb.EndBudgetRequest(
                request_id=rid(),
                budget_id=budget.budget_id,
                reasons=["needs met"],
                notice_date="2026-09-01",
                ended_on="2026-08-31",
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert fields == ["ended_on"]
    assert (await money_snapshot(pool), await outbox_count(pool)) == (before, events)
    ended = await stub.EndBudget(
        pb.EndBudgetRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            reasons=["needs met", "moved away"],
            notice_date="2026-09-01",
            ended_on="2026-09-30",
        )
    )
    assert ended.status == pb.BUDGET_STATUS_ENDED
    raw = await pool.fetchval(
        "SELECT envelope FROM allocation.outbox WHERE subject LIKE '%budget.ended%'"
        " ORDER BY seq DESC LIMIT 1"
    )
    envelope = EventEnvelope.FromString(raw)
    event = al_ev.BudgetEnded()
    assert envelope.payload.Unpack(event)
    assert (list(event.reasons), event.notice_date) == (["needs met", "moved away"], "2026-09-01")


# -- what a budget rests on (issue 13 items 4, 5, 16; docs/adr/0010) ---------------------------


def _decision(person: str, outcome: Any, on: str) -> ent.EligibilityDecided:
    decision = granted(person)
    decision.outcome = outcome
    decision.decided_on = on
    return decision


async def test_a_back_dated_grant_recorded_after_a_refusal_does_not_let_a_budget_be_agreed(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Issue 13 item 4: CHC refused on 1 May, then a grant dated 1 April recorded second.
    Entitlement says not eligible (the latest decision by date holds); allocation used to take
    the last event it saw and agreed a budget. Now no budget is created or agreed."""
    await setup_funders(stub)
    pool = pool_of(host)
    person = rid()
    await feed(pool, _decision(person, ent.DECISION_OUTCOME_GRANTED, "2026-04-01"), person, 1)
    await feed(pool, phb_granted(person, decided_on="2026-04-01"), person, 3)
    draft = await new_budget(stub, person)
    await add(stub, draft.budget_id, line(split=NHS_ONLY))
    await feed(pool, _decision(person, ent.DECISION_OUTCOME_REFUSED, "2026-05-01"), person, 4)
    await feed(pool, _decision(person, ent.DECISION_OUTCOME_GRANTED, "2026-04-01"), person, 5)
    reason, _ = await refused(agree(stub, draft.budget_id), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "NO_ELIGIBILITY"
    other = rid()  # the same two decisions, with no budget drafted before
    await feed(pool, phb_granted(other, decided_on="2026-04-01"), other, 1)
    await feed(pool, _decision(other, ent.DECISION_OUTCOME_REFUSED, "2026-05-01"), other, 2)
    await feed(pool, _decision(other, ent.DECISION_OUTCOME_GRANTED, "2026-04-01"), other, 3)
    reason, _ = await refused(new_budget(stub, other), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "NO_ELIGIBILITY"


async def test_on_one_date_the_later_recorded_decision_holds_whatever_the_delivery_order(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Same-day decisions: the later-recorded (higher person version) holds, even when the
    consumer sees it first (a redelivery)."""
    await setup_funders(stub)
    pool = pool_of(host)
    person = rid()
    await feed(pool, phb_granted(person), person, 1)
    await feed(pool, _decision(person, ent.DECISION_OUTCOME_GRANTED, "2026-05-01"), person, 6)
    await feed(pool, _decision(person, ent.DECISION_OUTCOME_REFUSED, "2026-05-01"), person, 5)
    assert (await new_budget(stub, person)).status == pb.BUDGET_STATUS_DRAFT
    late = rid()
    await feed(pool, phb_granted(late), late, 1)
    await feed(pool, _decision(late, ent.DECISION_OUTCOME_REFUSED, "2026-05-01"), late, 6)
    await feed(pool, _decision(late, ent.DECISION_OUTCOME_GRANTED, "2026-05-01"), late, 5)
    reason, _ = await refused(new_budget(stub, late), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "NO_ELIGIBILITY"


async def test_a_budget_follows_a_granted_phb_request(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Issue 13 item 5: a granted eligibility and no PHB request at all used to get a budget
    agreed. A budget now rests on the commissioner's grant of a PHB (by right or discretion)."""
    await setup_funders(stub)
    pool = pool_of(host)
    person = rid()
    await feed(pool, granted(person), person)
    reason, _ = await refused(new_budget(stub, person), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "NO_PHB_GRANTED"
    # A refused request (not appropriate) is no grant either; its reconsideration grants it.
    await feed(pool, phb_granted(person, outcome=ent.DECISION_OUTCOME_REFUSED), person)
    reason, _ = await refused(new_budget(stub, person), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "NO_PHB_GRANTED"
    reconsidered = ent.ReconsiderationDecided(
        person_id=person,
        phb_request_id=rid(),
        category=ent.ELIGIBILITY_CATEGORY_CHC,
        outcome=ent.DECISION_OUTCOME_GRANTED,
        reasons=["appropriate after all"],
        decided_on="2026-05-20",
        commissioner_ods_code=ODS,
        council_gss_code=GSS,
        right_to_have=True,
    )
    await feed(pool, reconsidered, person)
    budget = await new_budget(stub, person)
    await add(stub, budget.budget_id, line(split=NHS_ONLY))
    assert (await agree(stub, budget.budget_id)).status == pb.BUDGET_STATUS_AGREED
    # A PHB granted in another category is no PHB for this cohort.
    other = rid()
    await feed(pool, granted(other), other)
    await feed(pool, granted(other, ent.ELIGIBILITY_CATEGORY_MENTAL_HEALTH), other)
    await feed(pool, phb_granted(other, ent.ELIGIBILITY_CATEGORY_MENTAL_HEALTH), other)
    reason, _ = await refused(
        new_budget(stub, other, cohort=pb.COHORT_CHC), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert reason == "NO_PHB_GRANTED"


async def test_one_integrated_budget_per_person_and_year(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Issue 13 item 16: one person held seven agreed budgets for one year. A second budget
    in the year, in any cohort, is ALREADY_EXISTS until the first has ended; another year is
    fine, and a retry of the first creation still gets its answer."""
    await setup_funders(stub)
    pool = pool_of(host)
    person = await eligible_person(pool, ent.ELIGIBILITY_CATEGORY_CHC)
    await feed(pool, granted(person, ent.ELIGIBILITY_CATEGORY_MENTAL_HEALTH), person)
    await feed(pool, phb_granted(person, ent.ELIGIBILITY_CATEGORY_MENTAL_HEALTH), person)
    request = pb.CreateBudgetRequest(request_id=rid(), person_id=person, financial_year=YEAR)
    first = await stub.CreateBudget(request)
    assert (await stub.CreateBudget(request)).budget_id == first.budget_id
    await add(stub, first.budget_id, line(split=NHS_ONLY))
    await agree(stub, first.budget_id)
    before, events = await money_snapshot(pool), await outbox_count(pool)
    for cohort in (pb.COHORT_CHC, pb.COHORT_MENTAL_HEALTH):
        reason, _ = await refused(
            new_budget(stub, person, cohort=cohort), grpc.StatusCode.ALREADY_EXISTS
        )
        assert reason == "BUDGET_EXISTS_FOR_YEAR"
    assert await money_snapshot(pool) == before
    assert await outbox_count(pool) == events
    next_year = await stub.CreateBudget(
        pb.CreateBudgetRequest(request_id=rid(), person_id=person, financial_year=YEAR + 1)
    )
    assert next_year.financial_year == YEAR + 1
    await stub.EndBudget(
        pb.EndBudgetRequest(
            request_id=rid(),
            budget_id=first.budget_id,
            reasons=["needs met"],
            notice_date="2026-04-01",
        )
    )
    again = await new_budget(stub, person)
    assert again.status == pb.BUDGET_STATUS_DRAFT
