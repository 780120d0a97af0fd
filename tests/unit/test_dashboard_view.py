"""The dashboard's model and rendering (pure): quarters that have not ended on the one clock are
provisional, never "not met"; the CSV carries the target view's figures exactly; the page has
axes, a legend, the gap in pounds and no script (issue 16)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from onebudget.reporting.domain.periods import is_provisional
from onebudget.reporting.entrypoints import dashboard_view as view
from onebudget.reporting.entrypoints.dashboard import dashboard_model
from onebudget.reporting.v1 import reporting_service_pb2 as api

YEAR = 2026


@pytest.mark.parametrize(
    ("today", "provisional"),
    [
        # 29 November 2026: Q1 and Q2 have ended, Q3 (to 31 December) and Q4 have not.
        (date(2026, 11, 29), {1: False, 2: False, 3: True, 4: True, 0: True}),
        # A quarter's last day is still in it; the next day it is final.
        (date(2026, 6, 30), {1: True, 2: True, 3: True, 4: True, 0: True}),
        (date(2026, 7, 1), {1: False, 2: True, 3: True, 4: True, 0: True}),
        (date(2027, 3, 31), {1: False, 2: False, 3: False, 4: True, 0: True}),
        (date(2027, 4, 1), {1: False, 2: False, 3: False, 4: False, 0: False}),
    ],
)
def test_a_period_is_provisional_until_its_last_day_has_passed(
    today: date, provisional: dict[int, bool]
) -> None:
    assert {q: is_provisional(YEAR, q, today) for q in (1, 2, 3, 4, 0)} == provisional


def _answers() -> tuple[api.CommissionerSummary, api.TargetStatus, api.Reconciliation]:
    def trend(agreed: list[int], target: int) -> list[api.QuarterPoint]:
        ends = ["2026-06-30", "2026-09-30", "2026-12-31", "2027-03-31"]
        return [
            api.QuarterPoint(
                quarter=q,
                period_end=ends[q - 1],
                agreed_pence=a,
                agreed_basis_points=a * 10_000 // 100_000_000,
                met=a >= target,
                gap_pence=max(0, target - a),
                above_floor_pence=a - target,
            )
            for q, a in enumerate(agreed, start=1)
        ]

    overall = api.CohortTarget(
        cohort=api.COHORT_ALL,
        target_basis_points=500,
        target_pence=5_000_000,
        agreed_pence=4_000_000,
        agreed_basis_points=400,
        met=False,
        gap_pence=1_000_000,
        trend=trend([6_000_000, 4_500_000, 4_000_000, 4_000_000], 5_000_000),
        above_floor_pence=-1_000_000,
    )
    mh = api.CohortTarget(
        cohort=api.COHORT_MENTAL_HEALTH,
        target_basis_points=100,
        target_pence=1_000_000,
        agreed_pence=250_001,
        agreed_basis_points=25,
        met=False,
        gap_pence=749_999,
        trend=trend([100_000, 250_001, 250_001, 250_001], 1_000_000),
        above_floor_pence=-749_999,
    )
    summary = api.CommissionerSummary(
        commissioner_ods_code="QNQ",
        financial_year=YEAR,
        period_end="2027-03-31",
        allocation_pence=100_000_000,
        phb_target_pence=5_000_000,
        phb_target_basis_points=500,
        nhs_agreed_pence=4_000_000,
        nhs_agreed_basis_points=400,
    )
    target = api.TargetStatus(
        commissioner_ods_code="QNQ", financial_year=YEAR, targets=[overall, mh]
    )
    check = api.Reconciliation(reconciled=True, figures_checked=12)
    return summary, target, check


def test_the_csv_is_the_target_view_per_cohort_and_quarter() -> None:
    summary, target, check = _answers()
    model = dashboard_model(summary, target, check, date(2026, 11, 29))
    rows = list(csv.DictReader(io.StringIO(view.render_csv(model).decode())))
    assert len(rows) == 2 * 5  # two cohorts, four quarters and the year
    by = {(r["cohort"], int(r["quarter"])): r for r in rows}
    for t in target.targets:
        cohort = api.Cohort.Name(t.cohort).removeprefix("COHORT_")
        for p in t.trend:
            row = by[(cohort, p.quarter)]
            assert int(row["agreed_pence"]) == p.agreed_pence
            assert int(row["gap_pence"]) == p.gap_pence
            assert int(row["above_floor_pence"]) == p.above_floor_pence
            assert row["met"] == ("true" if p.met else "false")
            assert row["period_end"] == p.period_end
        year = by[(cohort, 0)]
        assert (int(year["agreed_pence"]), int(year["gap_pence"])) == (t.agreed_pence, t.gap_pence)
    assert by[("ALL", 2)]["provisional"] == "false"
    assert by[("ALL", 3)]["provisional"] == "true"
    assert by[("ALL", 0)]["provisional"] == "true"
    # 250,001 of a 1,000,000 target: 25.00% (2500 bp, rounded down).
    assert by[("MENTAL_HEALTH", 2)]["percent_of_target_basis_points"] == "2500"
    assert by[("ALL", 1)]["percent_of_target_basis_points"] == "12000"


def test_the_page_has_axes_a_legend_gaps_in_pounds_and_no_script() -> None:
    summary, target, check = _answers()
    page = view.render_page(dashboard_model(summary, target, check, date(2026, 11, 29))).decode()
    assert "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert page.count('class="axis"') == 2
    assert "% of target" in page
    assert 'id="legend"' in page
    assert "MENTAL_HEALTH (target 1.00% of allocation)" in page
    assert "£7,499.99" in page  # the MH gap
    assert "Q3 (provisional)" in page
    assert 'data-cohort="ALL" data-quarter="3" data-value="8000" data-provisional="true"' in page
    assert 'data-cohort="ALL" data-quarter="2" data-value="9000" data-provisional="false"' in page
    assert 'href="/export.csv?commissioner=QNQ&amp;year=2026"' in page
    # The whole year is not over on 29 November: not yet "not met".
    assert "not met yet (the year is provisional)" in page


@pytest.mark.parametrize(
    ("pence", "text"),
    [(0, "£0.00"), (5, "£0.05"), (123_456_789, "£1,234,567.89"), (-1_000, "-£10.00")],
)
def test_pounds(pence: int, text: str) -> None:
    assert view.pounds(pence) == text
