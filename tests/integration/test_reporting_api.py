"""The reporting service over gRPC against real allocation and reporting services: figures from
the streams, reconciliation with the ledger, and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.events.v1 import entitlement_pb2 as ent
from onebudget.reporting.service_layer import projections
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.shared.metrics import REGISTRY
from onebudget.shared.outbox import new_event
from tests.conftest import StartService
from tests.integration.test_reporting_support import (
    YEAR,
    Stack,
    agreed_budget,
    caught_up,
    eligible_person,
    error_of,
    new_gss,
    new_ods,
    plan_line,
    pool_of,
    reconcile,
    rid,
    setup_funders,
    start_stack,
    summary,
)


@pytest.fixture
async def stack(start_service: StartService) -> AsyncIterator[Stack]:
    found = await start_stack(start_service, payment=False)
    yield found
    await found.close()


async def test_summary_from_the_streams_reconciles_with_the_ledger(stack: Stack) -> None:
    ods, gss = new_ods(), new_gss()
    funding = {"service": "allocation", "source": "rpc"}
    moved_before = REGISTRY.get_sample_value("onebudget_ledger_transfers_total", funding) or 0
    await setup_funders(
        stack,
        ods,
        gss,
        allocation=100_000_001,
        target_bp=500,
        cohorts=((al.COHORT_MENTAL_HEALTH, 100),),
    )
    chc = await eligible_person(stack, ods, gss)
    mh = await eligible_person(stack, ods, gss, ent.ELIGIBILITY_CATEGORY_MENTAL_HEALTH, child=True)
    await agreed_budget(stack, chc, ods, gss, [plan_line(300_000, (10_000, 0, 0))], nhs_only=True)
    ipb = await agreed_budget(
        stack,
        mh,
        ods,
        gss,
        [plan_line(200_000, (5_000, 5_000, 0), al.MANAGEMENT_OPTION_DIRECT_PAYMENT)],
        agreed_on="2026-08-10",
    )
    await stack.alloc.EndBudget(
        al.EndBudgetRequest(
            request_id=rid(),
            budget_id=ipb.budget_id,
            ended_on="2026-12-01",
            reasons=["needs met"],
            notice_date="2026-04-01",
        )
    )
    await caught_up(stack)

    whole = await summary(stack, ods)
    assert whole.allocation_pence == 100_000_001
    # share_of(100,000,001, 500) = 5,000,000.05 -> 5,000,000 (half up).
    assert whole.phb_target_pence == 5_000_000
    # The IPB ended with everything unspent: its 100,000 NHS pence went back.
    assert whole.nhs_agreed_pence == 300_000
    assert whole.nhs_agreed_basis_points == 30  # 300,000 / 100,000,001 = 29.99.. bp -> 30
    fences = {f.cohort: f for f in whole.ring_fences}
    assert fences[api.COHORT_MENTAL_HEALTH].target_pence == 1_000_000
    assert fences[api.COHORT_MENTAL_HEALTH].balance_pence == 1_000_000
    assert fences[api.COHORT_GENERAL].balance_pence == 4_000_000 - 300_000
    assert not whole.target_met

    q2 = await summary(stack, ods, quarter=2)
    assert q2.nhs_agreed_pence == 400_000  # the IPB was still live on 30 September
    assert q2.nhs_agreed_ipb_pence == 100_000
    assert q2.people_with_phb.at_period_end.total == 2
    assert q2.people_with_phb.at_period_end.children == 1
    assert q2.people_with_ipb.at_period_end.direct_payment == 1
    q1 = await summary(stack, ods, quarter=1)
    assert q1.people_with_phb.at_period_end.total == 1
    assert q1.people_with_phb.year_to_date.total == 1

    result = await reconcile(stack, ods)
    assert result.reconciled, result.differences
    assert result.figures_checked >= 11
    # Allocation's funding transfers were counted once their RPCs committed.
    moved = REGISTRY.get_sample_value("onebudget_ledger_transfers_total", funding) or 0
    assert moved > moved_before
    # What the alert on reconcile differences watches (docs/operations.md).
    labels = {"commissioner": ods, "financial_year": str(YEAR)}
    assert REGISTRY.get_sample_value("onebudget_reconcile_differences", labels) == 0
    ran = REGISTRY.get_sample_value("onebudget_reconcile_last_run_timestamp_seconds", labels)
    assert ran is not None
    assert ran > 0


async def test_the_floor_per_cohort_and_the_money_beyond_it_reconcile(stack: Stack) -> None:
    """Issue 13: the PHB target is a floor. A mental-health budget past its ring-fence draws on
    the general ring-fence, then the allocation; the summary says how far each cohort is above
    or below its floor, each ring-fence what was drawn from it, and every figure equals the
    ledger, also after a cut gives the allocation's part back first."""
    ods, gss = new_ods(), new_gss()
    await setup_funders(
        stack,
        ods,
        gss,
        allocation=100_000_000,
        target_bp=20,
        cohorts=((al.COHORT_MENTAL_HEALTH, 10),),
    )  # MH ring-fence 100,000p, general 100,000p
    mh = await eligible_person(stack, ods, gss, ent.ELIGIBILITY_CATEGORY_MENTAL_HEALTH)
    budget = await agreed_budget(
        stack,
        mh,
        ods,
        gss,
        [plan_line(150_000, (10_000, 0, 0)), plan_line(100_000, (10_000, 0, 0))],
        nhs_only=True,
    )
    await caught_up(stack)
    whole = await summary(stack, ods)
    fences = {f.cohort: f for f in whole.ring_fences}
    mental_health, general = fences[api.COHORT_MENTAL_HEALTH], fences[api.COHORT_GENERAL]
    assert (mental_health.agreed_pence, mental_health.drawn_pence) == (250_000, 100_000)
    assert mental_health.above_floor_pence == 150_000
    assert mental_health.target_met
    assert (general.agreed_pence, general.drawn_pence, general.balance_pence) == (0, 100_000, 0)
    assert general.above_floor_pence == -100_000
    assert whole.nhs_beyond_ring_fences_pence == 50_000
    assert whole.nhs_agreed_pence == 250_000
    assert whole.target_met
    result = await reconcile(stack, ods)
    assert result.reconciled, result.differences

    await stack.alloc.ReviseBudget(
        al.ReviseBudgetRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            reasons=["fewer visits"],
            notice_date="2026-09-01",
            remove_plan_line_ids=[budget.plan_lines[1].plan_line_id],
        )
    )
    await caught_up(stack)
    cut = await summary(stack, ods)
    fences = {f.cohort: f for f in cut.ring_fences}
    assert cut.nhs_beyond_ring_fences_pence == 0
    assert fences[api.COHORT_GENERAL].drawn_pence == 50_000
    assert fences[api.COHORT_MENTAL_HEALTH].above_floor_pence == 50_000
    status = await stack.report.GetTargetStatus(
        api.GetTargetStatusRequest(commissioner_ods_code=ods, financial_year=YEAR)
    )
    assert [t.above_floor_pence for t in status.targets] == [150_000 - 200_000, -100_000, 50_000]
    result = await reconcile(stack, ods)
    assert result.reconciled, result.differences


@pytest.mark.parametrize(
    ("request_fields", "fields"),
    [
        ({"commissioner_ods_code": "00L", "financial_year": YEAR, "quarter": 5}, ["quarter"]),
        ({"commissioner_ods_code": "00L", "financial_year": 26, "quarter": 1}, ["financial_year"]),
        (
            {"commissioner_ods_code": "bad!", "financial_year": 1999, "quarter": -1},
            ["commissioner_ods_code", "financial_year", "quarter"],
        ),
    ],
)
async def test_bad_input_is_invalid_argument_with_field_violations(
    stack: Stack, request_fields: dict[str, object], fields: list[str]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.report.GetCommissionerSummary(
            api.GetCommissionerSummaryRequest(**request_fields)  # type: ignore[arg-type]
        )
    code, reason, violations = error_of(caught.value)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert reason == "INVALID_REQUEST"
    assert violations == fields


async def test_export_needs_a_quarter_and_rebuild_a_request_id(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.report.ExportQuarterlyReturn(
            api.ExportQuarterlyReturnRequest(commissioner_ods_code="00L", financial_year=YEAR)
        )
    assert error_of(caught.value)[2] == ["quarter"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.report.RebuildReadModel(api.RebuildReadModelRequest())
    assert error_of(caught.value)[:3] == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_REQUEST",
        ["request_id"],
    )


async def test_unknown_commissioner_or_year_is_not_found(stack: Stack) -> None:
    ods, gss = new_ods(), new_gss()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await summary(stack, ods)
    assert error_of(caught.value)[:2] == (grpc.StatusCode.NOT_FOUND, "COMMISSIONER_NOT_FOUND")
    await setup_funders(stack, ods, gss)
    await caught_up(stack)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.report.GetTargetStatus(
            api.GetTargetStatusRequest(commissioner_ods_code=ods, financial_year=YEAR + 1)
        )
    assert error_of(caught.value)[:2] == (grpc.StatusCode.NOT_FOUND, "ALLOCATION_NOT_FOUND")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.report.GetCouncilSummary(
            api.GetCouncilSummaryRequest(council_gss_code="E10999999", financial_year=YEAR)
        )
    assert error_of(caught.value)[:2] == (grpc.StatusCode.NOT_FOUND, "COUNCIL_NOT_FOUND")


async def test_a_child_granted_at_17_is_an_adult_in_returns_ending_after_their_18th_birthday(
    stack: Stack,
) -> None:
    """Issue 13, item 15: granted children's continuing care at 17, 18 on 10 Nov 2026. Before
    the fix the return counted them a child in Q3 and Q4 too (the grant's flag); now by their
    age on each return's last day. A second person, 18 on 31 Dec 2026 (the Q3 end itself), is an
    adult in Q3."""
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss)
    born = {"2008-11-10": "", "2008-12-31": ""}
    for birthday in born:
        person = await eligible_person(stack, ods, gss, ent.ELIGIBILITY_CATEGORY_CHILDRENS_CC, True)
        born[birthday] = person
        registered = ent.PersonRegistered(
            person_id=person, date_of_birth=birthday, commissioner_ods_code=ods
        )
        envelope = new_event(
            registered, source="entitlement", aggregate_type="person", aggregate_id=person
        ).envelope
        async with pool_of(stack.reporting).acquire() as conn, conn.transaction():
            await projections.apply(conn, envelope)
        await agreed_budget(stack, person, ods, gss, [plan_line(100_000, (10_000, 0, 0))])
    await caught_up(stack)
    children = []
    for quarter in (1, 2, 3, 4):
        people = (await summary(stack, ods, quarter=quarter)).people_with_phb
        assert people.at_period_end.total == 2
        children.append((people.at_period_end.children, people.year_to_date.children))
    assert children == [(2, 2), (2, 2), (0, 0), (0, 0)]
    q3 = await stack.report.ExportQuarterlyReturn(
        api.ExportQuarterlyReturnRequest(commissioner_ods_code=ods, financial_year=YEAR, quarter=3)
    )
    header, values = (line.split(",") for line in q3.csv.decode().splitlines())
    row = dict(zip(header, values, strict=True))
    assert (row["QE_PHB_CHILD"], row["QE_PHB_ADULT"], row["QE_PHB_CHILDRENS_CC"]) == ("0", "2", "2")
