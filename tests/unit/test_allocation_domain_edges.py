"""Allocation's refusals exactly as a caller reads them, and the edges of its pure rules.

A caller acts on a refusal's reason and metadata; a person reads its message. Each is part of the
API, so each is pinned here exactly: the budget cohort a person may hold a budget in, one budget
per year, a budget's end notice, a date outside the budget's period, the order and draw of NHS
sources, the client contribution and the NHS-only cohorts (docs/quality.md: the mutation score of
the domain).
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from onebudget.allocation.domain import errors
from onebudget.allocation.domain.errors import DateOutsideBudgetPeriod
from onebudget.allocation.domain.funders import (
    ALLOCATION,
    RING_FENCE,
    ClientContributionExceeded,
    CohortNhsOnly,
    FundingRefused,
    NhsAllocationExhausted,
    NhsSource,
    check_client_contribution,
    check_cohort_funders,
    check_cohort_split,
    draw_nhs,
    nhs_sources,
)
from onebudget.allocation.domain.model import (
    GENERAL_COHORT,
    REASONS_MAX,
    TEXT_LENGTH_MAX,
    Cohort,
    Split,
    Standing,
    budget_cohort,
    budget_date_refusal,
    check_one_budget_per_year,
    end_notice_faults,
)
from onebudget.shared.errors import AlreadyExists, FailedPrecondition
from onebudget.shared.standing import Decision

TODAY = date(2026, 6, 1)
CHC_FENCE = uuid.UUID("00000000-0000-4000-8000-0000000000f1")
GENERAL_FENCE = uuid.UUID("00000000-0000-4000-8000-0000000000f2")
ALLOCATION_ID = uuid.UUID("00000000-0000-4000-8000-0000000000f3")
GRANTED = Decision(granted=True, decided_on=date(2026, 5, 1), recorded=1)
REFUSED = Decision(granted=False, decided_on=date(2026, 5, 1), recorded=1)


# -- budget_cohort -------------------------------------------------------------------------------


def test_no_eligibility_for_a_requested_cohort_names_it() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        budget_cohort("CHC", [Standing("S117", GRANTED, GRANTED)])
    assert caught.value.reason == errors.NO_ELIGIBILITY
    assert caught.value.message == "the person holds no granted eligibility for CHC"
    assert caught.value.metadata == {"cohort": "CHC"}


def test_no_eligibility_at_all_has_no_scope() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        budget_cohort("", [Standing("CHC", REFUSED, GRANTED)])
    assert caught.value.reason == errors.NO_ELIGIBILITY
    assert caught.value.message == "the person holds no granted eligibility"
    assert caught.value.metadata == {"cohort": ""}


def test_no_phb_for_a_requested_cohort_names_it() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        budget_cohort("CHC", [Standing("CHC", GRANTED, REFUSED)])
    assert caught.value.reason == errors.NO_PHB_GRANTED
    assert caught.value.message == (
        "no PHB request of the person is granted for CHC: a budget follows the commissioner's"
        " grant of a PHB (by right or discretion)"
    )
    assert caught.value.metadata == {"cohort": "CHC"}


def test_no_phb_at_all_has_no_scope() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        budget_cohort("", [Standing("CHC", GRANTED, None)])
    assert caught.value.reason == errors.NO_PHB_GRANTED
    assert caught.value.message == (
        "no PHB request of the person is granted: a budget follows the commissioner's"
        " grant of a PHB (by right or discretion)"
    )
    assert caught.value.metadata == {"cohort": ""}


# -- check_one_budget_per_year -------------------------------------------------------------------


def test_a_second_budget_in_a_year_is_refused_naming_the_open_one() -> None:
    with pytest.raises(AlreadyExists) as caught:
        check_one_budget_per_year(2026, ["b-1", "b-2"])
    assert caught.value.reason == errors.BUDGET_EXISTS_FOR_YEAR
    assert caught.value.message == (
        "the person already holds an integrated budget for 2026: revise it (ReviseBudget),"
        " or end it before creating another"
    )
    assert caught.value.metadata == {"budget_id": "b-1", "financial_year": "2026"}


def test_no_open_budget_allows_another() -> None:
    assert check_one_budget_per_year(2026, []) is None  # type: ignore[func-returns-value]


# -- end_notice_faults ---------------------------------------------------------------------------


def test_end_notice_at_the_limits_has_no_fault() -> None:
    reasons = ["x" * TEXT_LENGTH_MAX] * REASONS_MAX
    assert end_notice_faults(reasons, TODAY, TODAY, TODAY) == []


def test_end_notice_one_over_the_limits_is_faulted() -> None:
    reasons = ["x" * (TEXT_LENGTH_MAX + 1)] * (REASONS_MAX + 1)
    assert end_notice_faults(reasons, TODAY, TODAY, TODAY) == [
        ("reasons", f"1 to {REASONS_MAX} reasons: why the budget ends"),
        ("reasons", f"each reason is 1 to {TEXT_LENGTH_MAX} characters"),
    ]


def test_end_notice_without_a_date_is_faulted_exactly() -> None:
    assert end_notice_faults(["moved away"], None, TODAY, TODAY) == [
        ("notice_date", "required: the date of the written notice of the end"),
    ]


def test_end_before_its_notice_is_faulted_exactly() -> None:
    assert end_notice_faults(["moved away"], TODAY, date(2026, 5, 31), TODAY) == [
        ("ended_on", "must not be before notice_date: notice comes first"),
    ]


# -- budget_date_refusal -------------------------------------------------------------------------


def test_a_date_after_the_budget_is_refused_exactly() -> None:
    refusal = budget_date_refusal(
        "agreed_on", date(2027, 4, 1), year=2026, end_date=date(2027, 3, 31)
    )
    assert isinstance(refusal, DateOutsideBudgetPeriod)
    assert refusal.reason == errors.DATE_OUTSIDE_BUDGET_PERIOD
    assert refusal.message == "agreed_on must fall between 2025-04-01 and the budget's end"
    assert refusal.metadata == {
        "field": "agreed_on",
        "date": "2027-04-01",
        "earliest": "2025-04-01",
        "latest": "2027-03-31",
    }


# -- nhs_sources and draw_nhs --------------------------------------------------------------------


def test_a_cohort_draws_its_fence_then_the_general_fence_then_the_allocation() -> None:
    fences = {"CHC": CHC_FENCE, GENERAL_COHORT: GENERAL_FENCE}
    assert nhs_sources("CHC", fences, ALLOCATION_ID) == (
        NhsSource(CHC_FENCE, RING_FENCE, "CHC"),
        NhsSource(GENERAL_FENCE, RING_FENCE, GENERAL_COHORT),
        NhsSource(ALLOCATION_ID, ALLOCATION, None),
    )
    kinds = [s.ring_fenced for s in nhs_sources("CHC", fences, ALLOCATION_ID)]
    assert kinds == [True, True, False]


def test_a_cohort_without_a_fence_draws_the_general_fence_then_the_allocation() -> None:
    assert nhs_sources("S117", {"CHC": CHC_FENCE}, ALLOCATION_ID) == (
        NhsSource(ALLOCATION_ID, ALLOCATION, None),
    )
    assert nhs_sources("S117", {GENERAL_COHORT: GENERAL_FENCE}, ALLOCATION_ID) == (
        NhsSource(GENERAL_FENCE, RING_FENCE, GENERAL_COHORT),
        NhsSource(ALLOCATION_ID, ALLOCATION, None),
    )


def test_too_little_nhs_money_is_refused_exactly() -> None:
    source = NhsSource(ALLOCATION_ID, ALLOCATION, None)
    with pytest.raises(NhsAllocationExhausted) as caught:
        draw_nhs(101, [(source, 100)])
    assert caught.value.reason == errors.NHS_ALLOCATION_EXHAUSTED
    assert caught.value.message == (
        "the commissioner's PHB ring-fences and general NHS allocation together have not"
        " enough money left for this"
    )
    assert caught.value.metadata == {"needed_pence": "101", "available_pence": "100"}


def test_exactly_enough_nhs_money_is_drawn_first_source_first() -> None:
    fence = NhsSource(GENERAL_FENCE, RING_FENCE, GENERAL_COHORT)
    allocation = NhsSource(ALLOCATION_ID, ALLOCATION, None)
    assert draw_nhs(100, [(fence, 0), (allocation, 100)]) == [(allocation, 100)]
    assert draw_nhs(100, [(fence, 30), (allocation, 70)]) == [(fence, 30), (allocation, 70)]


# -- check_client_contribution -------------------------------------------------------------------


def test_charging_more_than_assessed_is_refused_exactly() -> None:
    with pytest.raises(ClientContributionExceeded) as caught:
        check_client_contribution(501, 500)
    assert caught.value.reason == errors.CLIENT_CONTRIBUTION_EXCEEDED
    assert caught.value.message == (
        "the plan charges the person more than their assessed contribution"
    )
    assert caught.value.metadata == {
        "plan_client_pence": "501",
        "client_contribution_pence": "500",
    }


def test_charging_exactly_the_assessed_contribution_is_allowed() -> None:
    assert check_client_contribution(500, 500) is None  # type: ignore[func-returns-value]


# -- NHS-only cohorts ----------------------------------------------------------------------------


def test_a_chc_line_not_wholly_nhs_is_refused_exactly() -> None:
    with pytest.raises(CohortNhsOnly) as caught:
        check_cohort_split(Cohort.CHC, Split(9_999, 1, 0))
    assert caught.value.reason == errors.COHORT_NHS_ONLY
    assert caught.value.message == (
        "a CHC budget is funded solely by the NHS: every line is 100% NHS"
    )
    assert caught.value.metadata == {"cohort": "CHC", "nhs_basis_points": "9999"}


def test_a_chc_budget_with_council_money_is_refused_exactly() -> None:
    with pytest.raises(CohortNhsOnly) as caught:
        check_cohort_funders(Cohort.CHC, council_named=False, council_pence=1)
    assert caught.value.reason == errors.COHORT_NHS_ONLY
    assert caught.value.message == (
        "a CHC budget is funded solely by the NHS: no council, no council money and"
        " no client contribution"
    )
    assert caught.value.metadata == {"cohort": "CHC"}


def test_a_funding_refusal_carries_its_message_and_metadata_as_text() -> None:
    class Sample(FundingRefused):
        REASON = "SAMPLE"

    refusal = Sample("a message", pence=12, name="x")
    assert refusal.reason == "SAMPLE"
    assert refusal.message == "a message"
    assert str(refusal) == "a message"
    assert refusal.metadata == {"pence": "12", "name": "x"}
