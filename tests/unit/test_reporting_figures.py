"""Pure reporting computations: basis points and their rounding, targets met, quarters and
financial years, who is live when, and the quarterly return's shape."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from onebudget.reporting.domain import figures, periods, quarterly
from onebudget.reporting.domain.model import (
    Allocation,
    Budget,
    Movement,
    NhsDraw,
    Option,
    RingFence,
)


def test_basis_points_round_half_up() -> None:
    assert figures.basis_points(1, 20_000) == 1  # 0.5 bp -> 1
    assert figures.basis_points(1, 20_001) == 0  # 0.49.. bp -> 0
    assert figures.basis_points(300_000, 100_000_001) == 30
    assert figures.basis_points(5, 0) == 0
    assert figures.basis_points(100, 100) == 10_000


@given(st.integers(0, 10**12), st.integers(1, 10**12))
def test_basis_points_is_the_nearest_with_halves_up(n: int, d: int) -> None:
    exact = Fraction(n * 10_000, d)
    got = figures.basis_points(n, d)
    assert got - Fraction(1, 2) <= exact < got + Fraction(1, 2)


def test_met_is_decided_in_pence_not_rounded_points() -> None:
    assert figures.is_met(5_000_000, 5_000_000)
    assert not figures.is_met(5_000_000, 4_999_999)  # 499.99 bp rounds to 500, still not met
    assert figures.gap(5_000_000, 4_999_999) == 1
    assert figures.gap(5, 9) == 0


def test_quarters_and_financial_years() -> None:
    assert periods.year_start(2026) == date(2026, 4, 1)
    assert periods.year_end(2026) == date(2027, 3, 31)
    assert [periods.quarter_end(2026, q) for q in (1, 2, 3, 4)] == [
        date(2026, 6, 30),
        date(2026, 9, 30),
        date(2026, 12, 31),
        date(2027, 3, 31),
    ]
    assert periods.quarter_start(2026, 4) == date(2027, 1, 1)
    assert periods.quarter_end(2026, 0) == date(2027, 3, 31)
    assert periods.quarter_of(date(2027, 3, 31)) == 4
    assert periods.quarter_of(date(2026, 4, 1)) == 1
    assert periods.financial_year_of(date(2027, 3, 31)) == 2026
    assert periods.financial_year_of(date(2027, 4, 1)) == 2027
    assert not periods.is_financial_year(2012)
    assert not periods.is_financial_year(26)
    assert periods.label(2026) == "2026-27"
    assert periods.label(2099) == "2099-00"


@given(st.dates(date(2013, 4, 1), date(2099, 12, 31)))
def test_every_day_is_inside_its_quarter(day: date) -> None:
    year, quarter = periods.financial_year_of(day), periods.quarter_of(day)
    if periods.is_financial_year(year):
        assert periods.quarter_start(year, quarter) <= day <= periods.quarter_end(year, quarter)


BUDGET = Budget(
    budget_id="b1",
    person_id="p1",
    commissioner="00L",
    council="",
    year=2026,
    cohort="CHC",
    child=False,
    start_date=date(2026, 4, 1),
    end_date=date(2027, 3, 31),
    agreed_on=date(2026, 5, 1),
    ended_on=None,
    nhs_options=frozenset({Option.NOTIONAL}),
)


def test_live_between_counts_agreement_period_and_ending() -> None:
    assert not figures.live_between(BUDGET, date(2026, 4, 30), date(2026, 4, 30))
    assert figures.live_between(BUDGET, date(2026, 5, 1), date(2026, 5, 1))
    ended = replace(BUDGET, ended_on=date(2026, 6, 30))
    assert not figures.live_between(ended, date(2026, 6, 30), date(2026, 6, 30))
    assert figures.live_between(ended, date(2026, 4, 1), date(2026, 6, 30))
    assert not figures.live_between(
        replace(BUDGET, agreed_on=None), date(2026, 4, 1), date(2027, 3, 31)
    )


def _allocation(closed_on: date | None = None) -> Allocation:
    return Allocation(
        "00L",
        2026,
        100_000_000,
        500,
        5_000_000,
        (RingFence("", 400, 4_000_000, "a"), RingFence("MENTAL_HEALTH", 100, 1_000_000, "b")),
        closed_on,
    )


def test_commissioner_figures_by_quarter_and_fence() -> None:
    mh = replace(
        BUDGET,
        budget_id="b2",
        person_id="p2",
        cohort="MENTAL_HEALTH",
        child=True,
        agreed_on=date(2026, 8, 1),
    )
    commitments = [
        Movement("b1", date(2026, 5, 1), 300_000, 0, 0),
        Movement("b2", date(2026, 8, 1), 1_000_000, 50, 0),
        Movement("b2", date(2027, 1, 5), -1, 0, 0),
    ]
    payments = [Movement("b1", date(2026, 6, 1), 1_000, 0, 0)]
    q1 = figures.commissioner_figures(_allocation(), [BUDGET, mh], commitments, payments, 1)
    assert (q1.nhs_agreed_pence, q1.nhs_paid_pence, q1.nhs_agreed_ipb_pence) == (300_000, 1_000, 0)
    assert q1.phb_people.at_period_end.total == 1
    whole = figures.commissioner_figures(_allocation(), [BUDGET, mh], commitments, payments, 0)
    fences = {f.cohort: f for f in whole.fences}
    assert fences["MENTAL_HEALTH"].agreed_pence == 999_999
    assert fences["MENTAL_HEALTH"].balance_pence == 1
    assert not fences["MENTAL_HEALTH"].target_met
    assert whole.ipb_people.year_to_date.children == 1
    closed = figures.commissioner_figures(
        _allocation(date(2027, 4, 2)), [BUDGET, mh], commitments, payments, 0
    )
    assert {f.balance_pence for f in closed.fences} == {0}
    row = dict(zip(quarterly.COLUMNS, quarterly.row(q1), strict=True))
    assert row["QUARTER"] == "Q1"
    assert row["QE_PHB_TOTAL"] == "1"
    assert row["QE_PHB_CHC"] == "1"
    assert row["QE_MGMT_NOTIONAL"] == "1"


def test_target_trend_is_cumulative_by_quarter() -> None:
    commitments = [
        Movement("b1", date(2026, 5, 1), 2_000_000, 0, 0),
        Movement("b1", date(2027, 2, 1), 3_000_000, 0, 0),
    ]
    overall = figures.target_status(_allocation(), [BUDGET], commitments)[0]
    assert overall.cohort == figures.ALL_COHORT
    assert [p.agreed_pence for p in overall.trend] == [2_000_000] * 3 + [5_000_000]
    assert [p.met for p in overall.trend] == [False, False, False, True]
    assert overall.trend[0].gap_pence == 3_000_000
    assert overall.met


def test_the_floor_per_cohort_counts_every_source_and_each_ring_fence_what_was_drawn() -> None:
    """Issue 13: the PHB target is a floor. A mental-health budget of 1,500,000p drew its
    ring-fence's 1,000,000p, then 400,000p of the general one and 100,000p of the allocation;
    the cohort is 500,000p above its floor, the general ring-fence lost what it lent, and the
    money beyond the ring-fences is its own figure. A cut gives the allocation's part back
    first."""
    mh = replace(BUDGET, budget_id="b2", cohort="MENTAL_HEALTH", agreed_on=date(2026, 8, 1))
    on, later = date(2026, 8, 1), date(2027, 1, 5)
    commitments = [
        Movement("b1", date(2026, 5, 1), 300_000, 0, 0),
        Movement("b2", on, 1_500_000, 0, 0),
        Movement("b2", later, -150_000, 0, 0),
    ]
    draws = [
        NhsDraw("b1", date(2026, 5, 1), True, None, 300_000),  # an event naming no source
        NhsDraw("b2", on, True, "MENTAL_HEALTH", 1_000_000),
        NhsDraw("b2", on, True, "", 400_000),
        NhsDraw("b2", on, False, "", 100_000),
        NhsDraw("b2", later, False, "", -100_000),
        NhsDraw("b2", later, True, "", -50_000),
    ]
    q2 = figures.commissioner_figures(_allocation(), [BUDGET, mh], commitments, [], 2, draws)
    fences = {f.cohort: f for f in q2.fences}
    assert (fences["MENTAL_HEALTH"].agreed_pence, fences["MENTAL_HEALTH"].drawn_pence) == (
        1_500_000,
        1_000_000,
    )
    assert fences["MENTAL_HEALTH"].above_floor_pence == 500_000
    assert fences["MENTAL_HEALTH"].target_met
    assert fences["MENTAL_HEALTH"].balance_pence == 0
    assert (fences[""].agreed_pence, fences[""].drawn_pence) == (300_000, 700_000)
    assert fences[""].balance_pence == 4_000_000 - 700_000
    assert fences[""].above_floor_pence == 300_000 - 4_000_000
    assert q2.nhs_beyond_ring_fences_pence == 100_000
    assert q2.nhs_agreed_pence == 1_800_000 == 1_000_000 + 700_000 + 100_000
    whole = figures.commissioner_figures(_allocation(), [BUDGET, mh], commitments, [], 0, draws)
    assert whole.nhs_beyond_ring_fences_pence == 0
    assert {f.cohort: f.drawn_pence for f in whole.fences} == {
        "MENTAL_HEALTH": 1_000_000,
        "": 650_000,
    }
    named = figures.money_figures(whole)
    assert named["ring_fence[GENERAL].drawn_pence"] == 650_000
    assert named["nhs_beyond_ring_fences_pence"] == 0
    overall, general, mental_health = figures.target_status(
        _allocation(), [BUDGET, mh], commitments
    )
    assert overall.above_floor_pence == 1_650_000 - 5_000_000
    assert mental_health.above_floor_pence == 350_000
    assert [p.above_floor_pence for p in mental_health.trend] == [-1_000_000] + [500_000] * 2 + [
        350_000
    ]
    assert general.above_floor_pence == 300_000 - 4_000_000


def test_differences_name_each_figure_that_disagrees() -> None:
    diffs = figures.differences({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4})
    assert [(d.figure, d.difference_pence) for d in diffs] == [("b", -1), ("c", -4)]
