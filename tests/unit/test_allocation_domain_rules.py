"""The pure allocation rules (allocation/domain): financial years, ring-fence targets, plan line
costs and their exact split across funders. Money is integer pence, shares basis points
(10,000 = all), years named by their starting year."""

from __future__ import annotations

from datetime import date

import pytest

from onebudget.allocation.domain.model import (
    GENERAL_COHORT,
    PlanLineTerms,
    RingFenceTarget,
    Split,
    Standing,
    budget_cohort,
    check_one_budget_per_year,
    financial_year_bounds,
    financial_year_is_over,
    financial_year_of,
    is_category_code,
    is_financial_year,
    plan_totals,
    ring_fence_targets,
    uses_council_money,
    within_financial_year,
)
from onebudget.ledger.domain import FundingStream
from onebudget.shared.errors import AlreadyExists, FailedPrecondition
from onebudget.shared.standing import Decision

D = date.fromisoformat
NHS, COUNCIL, CLIENT = FundingStream.NHS, FundingStream.COUNCIL, FundingStream.CLIENT


# -- financial years ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "valid"), [(2012, False), (2013, True), (2099, True), (2100, False)]
)
def test_financial_years_run_from_2013_to_2099(year: int, valid: bool) -> None:
    assert is_financial_year(year) is valid


def test_a_financial_year_runs_from_1_april_to_31_march() -> None:
    assert financial_year_bounds(2026) == (D("2026-04-01"), D("2027-03-31"))
    assert financial_year_bounds(2013) == (D("2013-04-01"), D("2014-03-31"))


@pytest.mark.parametrize(
    ("day", "year"),
    [("2026-03-31", 2025), ("2026-04-01", 2026), ("2026-12-31", 2026), ("2027-01-01", 2026)],
)
def test_the_financial_year_of_a_day(day: str, year: int) -> None:
    assert financial_year_of(D(day)) == year


def test_a_year_is_over_only_after_its_31_march() -> None:
    assert not financial_year_is_over(2026, D("2027-03-31"))
    assert financial_year_is_over(2026, D("2027-04-01"))
    assert not financial_year_is_over(2026, D("2026-04-01"))


# -- ring-fences ----------------------------------------------------------------------------------


def test_the_general_ring_fence_is_the_overall_target_less_the_cohorts() -> None:
    targets = ring_fence_targets(1_000_000, 500, {"CHC": 200, "MENTAL_HEALTH": 100})
    assert targets == [
        RingFenceTarget(GENERAL_COHORT, 200, 20_000),
        RingFenceTarget("CHC", 200, 20_000),
        RingFenceTarget("MENTAL_HEALTH", 100, 10_000),
    ]


def test_ring_fences_add_up_to_the_overall_target_to_the_penny() -> None:
    # 3,333 bp of 1,000,005 is 333,301.67 -> 333,302 (half up); cohorts round on their own.
    targets = ring_fence_targets(1_000_005, 3_333, {"CHC": 1_111, "S117": 1_111})
    assert targets is not None
    assert [t.target_pence for t in targets] == [111_100, 111_101, 111_101]
    assert sum(t.target_pence for t in targets) == 333_302
    assert [t.basis_points for t in targets] == [1_111, 1_111, 1_111]


def test_no_cohorts_leave_everything_to_the_general_ring_fence() -> None:
    assert ring_fence_targets(1_000_000, 250, {}) == [RingFenceTarget(GENERAL_COHORT, 250, 25_000)]


def test_cohorts_may_take_the_whole_target_but_not_more() -> None:
    whole = ring_fence_targets(1_000_000, 500, {"CHC": 500})
    assert whole == [RingFenceTarget(GENERAL_COHORT, 0, 0), RingFenceTarget("CHC", 500, 50_000)]
    assert ring_fence_targets(1_000_000, 500, {"CHC": 501}) is None
    assert ring_fence_targets(1_000_000, 500, {"CHC": 300, "S117": 201}) is None


def test_cohorts_whose_rounding_exceeds_the_target_are_refused() -> None:
    # Each cohort of 1 bp of 15,000 is 1.5 -> 2 pence (half up); the overall 2 bp is 3 pence.
    assert ring_fence_targets(15_000, 2, {"CHC": 1, "S117": 1}) is None


# -- plan lines -----------------------------------------------------------------------------------


def _terms(cost: int = 1_001, occurrences: int = 3, split: Split | None = None) -> PlanLineTerms:
    return PlanLineTerms(
        description="Personal care visits",
        category="personal_care",
        cost_per_occurrence_pence=cost,
        frequency="WEEKLY",
        occurrences=occurrences,
        split=split or Split(6_000, 4_000, 0),
        management_option="DIRECT_PAYMENT",
        allowed_payee_id="",
        allowed_payee_kind="PERSONAL_ASSISTANT",
    )


def test_a_line_costs_its_occurrences_times_the_cost_of_one() -> None:
    assert _terms(1_001, 3).cost_pence == 3_003
    assert _terms(10_001, 50).cost_pence == 500_050


def test_a_line_splits_its_whole_cost_across_the_streams_exactly() -> None:
    assert _terms(1_001, 3).stream_pence() == {NHS: 1_802, COUNCIL: 1_201, CLIENT: 0}
    three_ways = _terms(10_001, 50, Split(6_000, 3_000, 1_000))
    assert three_ways.stream_pence() == {NHS: 300_030, COUNCIL: 150_015, CLIENT: 50_005}


def test_a_plan_asks_each_stream_the_sum_of_its_lines_shares() -> None:
    lines = [_terms(1_001, 3), _terms(100, 1, Split(5_000, 3_000, 2_000))]
    assert plan_totals(lines) == {NHS: 1_852, COUNCIL: 1_231, CLIENT: 20}
    assert plan_totals([]) == {NHS: 0, COUNCIL: 0, CLIENT: 0}


@pytest.mark.parametrize(
    ("split", "whole"),
    [
        (Split(10_000, 0, 0), True),
        (Split(6_000, 3_000, 1_000), True),
        (Split(6_000, 3_000, 999), False),  # short of 10,000
        (Split(6_000, 3_000, 1_001), False),  # over
        (Split(11_000, -1_000, 0), False),  # sums to 10,000 with a negative share
        (Split(0, 0, 10_000), True),
    ],
)
def test_a_split_is_whole_when_non_negative_and_summing_to_10000(split: Split, whole: bool) -> None:
    assert split.whole is whole
    assert split.as_list() == [split.nhs_bp, split.council_bp, split.client_bp]


@pytest.mark.parametrize(
    ("split", "council"),
    [
        (Split(10_000, 0, 0), False),
        (Split(9_000, 1_000, 0), True),
        (Split(9_000, 0, 1_000), True),  # a client share is council money too
        (Split(0, 0, 10_000), True),
        (Split(9_999, 1, 0), True),  # one basis point is a share
        (Split(9_999, 0, 1), True),
    ],
)
def test_a_council_or_client_share_uses_council_money(split: Split, council: bool) -> None:
    assert uses_council_money(split) is council


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("personal_care", True),
        ("a", True),
        ("respite2", True),
        ("a" * 40, True),
        ("a" * 41, False),
        ("", False),
        ("2respite", False),
        ("_care", False),
        ("Personal_care", False),
        ("personal-care", False),
        ("personal care", False),
    ],
)
def test_a_category_is_a_lower_snake_code(code: str, valid: bool) -> None:
    assert is_category_code(code) is valid


# -- what a budget rests on; one budget per person and year (docs/adr/0010) ---------------------


def _stands(
    category: str, eligible: bool | None, phb: bool | None, on: str = "2026-05-01", rec: int = 1
) -> Standing:
    return Standing(
        category=category,
        eligibility=None if eligible is None else Decision(eligible, D(on), rec),
        phb=None if phb is None else Decision(phb, D(on), rec),
    )


def test_a_budget_needs_a_granted_phb_not_only_a_granted_eligibility() -> None:
    """Issue 13 item 5: a granted eligibility and no PHB request at all is no PHB."""
    with pytest.raises(FailedPrecondition) as no_request:
        budget_cohort("CHC", [_stands("CHC", True, None)])
    assert no_request.value.reason == "NO_PHB_GRANTED"
    with pytest.raises(FailedPrecondition) as refused:
        budget_cohort("", [_stands("LONG_TERM_CONDITION", True, False)])
    assert refused.value.reason == "NO_PHB_GRANTED"
    assert budget_cohort("CHC", [_stands("CHC", True, True)]).category == "CHC"


def test_a_budget_needs_the_eligibility_to_stand_in_its_cohort() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        budget_cohort("CHC", [_stands("CHC", False, True)])
    assert refused.value.reason == "NO_ELIGIBILITY"
    with pytest.raises(FailedPrecondition) as elsewhere:
        budget_cohort("CHC", [_stands("MENTAL_HEALTH", True, True)])
    assert elsewhere.value.reason == "NO_ELIGIBILITY"
    with pytest.raises(FailedPrecondition) as nothing:
        budget_cohort("", [])
    assert nothing.value.reason == "NO_ELIGIBILITY"


def test_no_cohort_asked_takes_the_most_recently_decided_that_stands() -> None:
    found = budget_cohort(
        "",
        [
            _stands("CHC", True, True, "2026-04-01", 9),
            _stands("MENTAL_HEALTH", True, True, "2026-06-01", 2),
            _stands("S117", True, False, "2026-07-01", 3),
        ],
    )
    assert found.category == "MENTAL_HEALTH"


def test_one_open_budget_per_person_and_year() -> None:
    """Issue 13 item 16: one person held seven agreed budgets for one year."""
    check_one_budget_per_year(2026, [])
    with pytest.raises(AlreadyExists) as exists:
        check_one_budget_per_year(2026, ["b-1"])
    assert exists.value.reason == "BUDGET_EXISTS_FOR_YEAR"
    assert exists.value.metadata["budget_id"] == "b-1"


def test_a_day_is_within_a_financial_year_from_1_april_to_31_march() -> None:
    assert within_financial_year(2026, date(2026, 4, 1))
    assert within_financial_year(2026, date(2027, 3, 31))
    assert not within_financial_year(2026, date(2026, 3, 31))
    assert not within_financial_year(2026, date(2027, 4, 1))
