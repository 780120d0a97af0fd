"""Catch-up and replay: a reporting service started after the events, and one whose read model
was rebuilt from the start of the streams, reach exactly the same figures; the quarterly return
and the target status come from the same read model."""

from __future__ import annotations

import csv
import io

from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.events.v1 import entitlement_pb2 as ent
from onebudget.reporting.domain import quarterly
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.v1 import reporting_service_pb2 as api
from tests.conftest import StartService
from tests.integration.test_reporting_support import (
    YEAR,
    Stack,
    agreed_budget,
    caught_up,
    eligible_person,
    new_gss,
    new_ods,
    plan_line,
    rid,
    setup_funders,
    start_stack,
    summary,
)


async def _figures(stack: Stack, ods: str, gss: str) -> list[bytes]:
    found = [(await summary(stack, ods, q)).SerializeToString() for q in (0, 1, 2, 3, 4)]
    target = await stack.report.GetTargetStatus(
        api.GetTargetStatusRequest(commissioner_ods_code=ods, financial_year=YEAR)
    )
    council = await stack.report.GetCouncilSummary(
        api.GetCouncilSummaryRequest(council_gss_code=gss, financial_year=YEAR)
    )
    return [*found, target.SerializeToString(), council.SerializeToString()]


async def _traffic(stack: Stack, ods: str, gss: str) -> None:
    await setup_funders(
        stack, ods, gss, allocation=100_000_000, target_bp=55, cohorts=((al.COHORT_CHC, 25),)
    )
    adult = await eligible_person(stack, ods, gss)
    child = await eligible_person(stack, ods, gss, ent.ELIGIBILITY_CATEGORY_WHEELCHAIR, True)
    await agreed_budget(
        stack,
        adult,
        ods,
        gss,
        [plan_line(250_000, (10_000, 0, 0))],
        nhs_only=True,
        agreed_on="2026-04-20",
    )
    ipb = await agreed_budget(
        stack,
        child,
        ods,
        gss,
        [plan_line(90_000, (6_000, 4_000, 0), al.MANAGEMENT_OPTION_THIRD_PARTY)],
        agreed_on="2026-10-02",
    )
    await stack.alloc.ReviseBudget(
        al.ReviseBudgetRequest(
            request_id=rid(),
            budget_id=ipb.budget_id,
            reasons=["more support"],
            notice_date="2027-01-15",
            add_lines=[plan_line(246_000, (10_000, 0, 0))],
        )
    )


async def test_late_start_and_rebuild_reach_the_same_figures(start_service: StartService) -> None:
    stack = await start_stack(start_service, payment=False)
    ods, gss = new_ods(), new_gss()
    await _traffic(stack, ods, gss)
    await caught_up(stack)
    before = await _figures(stack, ods, gss)

    # A second reporting replica started late reads the same read model; a rebuild replays
    # every stream from its start into an emptied one.
    reset = await stack.report.RebuildReadModel(api.RebuildReadModelRequest(request_id=rid()))
    assert sorted(reset.consumers_reset) == [
        "reporting-allocation",
        "reporting-entitlement",
        "reporting-payment",
    ]
    await caught_up(stack)
    assert await _figures(stack, ods, gss) == before

    late = await start_service(REPORTING)
    assert late.port != stack.reporting.port
    await stack.close()


async def test_target_trend_and_quarterly_return(start_service: StartService) -> None:
    stack = await start_stack(start_service, payment=False)
    ods, gss = new_ods(), new_gss()
    await _traffic(stack, ods, gss)
    await caught_up(stack)

    status = await stack.report.GetTargetStatus(
        api.GetTargetStatusRequest(commissioner_ods_code=ods, financial_year=YEAR)
    )
    overall = status.targets[0]
    assert overall.cohort == api.COHORT_ALL
    assert overall.target_pence == 550_000
    # Q1 250,000; Q3 + 54,000 (the IPB's NHS 60%); Q4 + 246,000 (the raise noticed in January).
    assert [p.agreed_pence for p in overall.trend] == [250_000, 250_000, 304_000, 550_000]
    assert [p.met for p in overall.trend] == [False, False, False, True]
    assert overall.trend[0].gap_pence == 300_000
    chc = next(t for t in status.targets if t.cohort == api.COHORT_CHC)
    assert (chc.target_pence, chc.agreed_pence, chc.met) == (250_000, 250_000, True)

    exported = await stack.report.ExportQuarterlyReturn(
        api.ExportQuarterlyReturnRequest(commissioner_ods_code=ods, financial_year=YEAR, quarter=3)
    )
    assert exported.file_name == f"phb-return-{ods}-{YEAR}-Q3.csv"
    rows = list(csv.DictReader(io.StringIO(exported.csv.decode())))
    assert list(rows[0]) == list(quarterly.COLUMNS) == list(exported.columns)
    row = rows[0]
    assert (row["FINANCIAL_YEAR"], row["QUARTER"], row["PERIOD_END"]) == (
        "2026-27",
        "Q3",
        "2026-12-31",
    )
    assert (row["QE_PHB_TOTAL"], row["QE_PHB_ADULT"], row["QE_PHB_CHILD"]) == ("2", "1", "1")
    assert (row["QE_PHB_CHC"], row["QE_PWB_WHEELCHAIR"], row["QE_IPB_TOTAL"]) == ("1", "1", "1")
    # Management options are those of each budget's current plan (the January raise added a
    # notional line to the IPB).
    assert (row["QE_MGMT_NOTIONAL"], row["QE_MGMT_THIRD_PARTY"]) == ("2", "1")
    exported_q1 = await stack.report.ExportQuarterlyReturn(
        api.ExportQuarterlyReturnRequest(commissioner_ods_code=ods, financial_year=YEAR, quarter=1)
    )
    q1 = next(csv.DictReader(io.StringIO(exported_q1.csv.decode())))
    assert (q1["QE_PHB_TOTAL"], q1["YTD_PHB_TOTAL"]) == ("1", "1")
    await stack.close()
