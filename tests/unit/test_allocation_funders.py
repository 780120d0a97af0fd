"""Who pays for a budget (allocation/domain/funders.py, issue 13 items 1-3): the PHB floor's
order of NHS sources, what the person may be charged, the cohorts the NHS alone funds. Money is
integer pence, splits basis points (10,000 = all)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onebudget.allocation.domain import errors
from onebudget.allocation.domain.funders import (
    ALLOCATION,
    NHS_ONLY_COHORTS,
    RING_FENCE,
    ClientContributionExceeded,
    CohortNhsOnly,
    NhsAllocationExhausted,
    NhsSource,
    check_client_contribution,
    check_cohort_funders,
    check_cohort_split,
    client_part_allowed,
    draw_nhs,
    give_back_nhs,
    nhs_sources,
)
from onebudget.allocation.domain.model import GENERAL_COHORT, Cohort, Split

LTC = Cohort.LONG_TERM_CONDITION
COHORT_FENCE, GENERAL_FENCE, GENERAL_ALLOCATION = (uuid.uuid4() for _ in range(3))
FENCES = {LTC.value: COHORT_FENCE, GENERAL_COHORT: GENERAL_FENCE}
SOURCES = nhs_sources(LTC, FENCES, GENERAL_ALLOCATION)


# -- 1. the PHB target is a floor: cohort ring-fence, general ring-fence, general allocation ------


def test_a_cohort_budget_draws_on_its_ring_fence_then_the_general_one_then_the_allocation() -> None:
    assert (
        NhsSource(COHORT_FENCE, RING_FENCE, LTC.value),
        NhsSource(GENERAL_FENCE, RING_FENCE, GENERAL_COHORT),
        NhsSource(GENERAL_ALLOCATION, ALLOCATION, None),
    ) == SOURCES
    assert [s.ring_fenced for s in SOURCES] == [True, True, False]


def test_a_budget_without_a_cohort_ring_fence_starts_at_the_general_one() -> None:
    mental_health = nhs_sources(Cohort.MENTAL_HEALTH, FENCES, GENERAL_ALLOCATION)
    assert [s.account_id for s in mental_health] == [GENERAL_FENCE, GENERAL_ALLOCATION]
    # A general-cohort lookup never lists the general ring-fence twice.
    general = nhs_sources(GENERAL_COHORT, FENCES, GENERAL_ALLOCATION)
    assert [s.account_id for s in general] == [GENERAL_FENCE, GENERAL_ALLOCATION]


def test_a_target_of_zero_leaves_the_allocation_to_fund_a_phb() -> None:
    """Reproduction: phb_target_basis_points 0 refused one CHC PHB with £1m unspent."""
    sources = nhs_sources(Cohort.CHC, {GENERAL_COHORT: GENERAL_FENCE}, GENERAL_ALLOCATION)
    drawn = draw_nhs(9_000_000, [(sources[0], 0), (sources[1], 100_000_000)])
    assert drawn == [(sources[1], 9_000_000)]


def test_a_budget_beyond_its_ring_fences_is_paid_from_the_allocation() -> None:
    """Reproduction: a £90,000 CHC budget refused while the general allocation held £900,000;
    an LTC budget refused while the general ring-fence held £67,220."""
    available = list(zip(SOURCES, [1_000_000, 6_722_000, 90_000_000], strict=True))
    assert draw_nhs(9_000_000, available) == [
        (SOURCES[0], 1_000_000),
        (SOURCES[1], 6_722_000),
        (SOURCES[2], 1_278_000),
    ]
    assert draw_nhs(5_000_000, available) == [(SOURCES[0], 1_000_000), (SOURCES[1], 4_000_000)]
    assert draw_nhs(1_000_000, available) == [(SOURCES[0], 1_000_000)]
    assert draw_nhs(0, available) == []


def test_a_budget_is_refused_only_when_everything_together_cannot_pay() -> None:
    available = list(zip(SOURCES, [10, 20, 30], strict=True))
    assert sum(p for _, p in draw_nhs(60, available)) == 60
    with pytest.raises(NhsAllocationExhausted) as refused:
        draw_nhs(61, available)
    assert refused.value.reason == errors.NHS_ALLOCATION_EXHAUSTED == "NHS_ALLOCATION_EXHAUSTED"
    assert refused.value.metadata == {"needed_pence": "61", "available_pence": "60"}


def test_money_goes_back_to_the_sources_that_paid_the_last_first() -> None:
    funded = list(zip(SOURCES, [1_000, 500, 300], strict=True))
    assert give_back_nhs(200, funded) == [(SOURCES[2], 200)]
    assert give_back_nhs(700, funded) == [(SOURCES[2], 300), (SOURCES[1], 400)]
    assert give_back_nhs(1_800, funded) == [
        (SOURCES[2], 300),
        (SOURCES[1], 500),
        (SOURCES[0], 1_000),
    ]
    # A source that paid nothing (or already had everything back) takes nothing back.
    assert give_back_nhs(50, list(zip(SOURCES, [100, 0, 0], strict=True))) == [(SOURCES[0], 50)]


@given(
    available=st.lists(st.integers(0, 10_000), min_size=3, max_size=3),
    need=st.integers(0, 30_000),
    back=st.integers(0, 30_000),
)
def test_draws_and_give_backs_keep_every_source_whole(
    available: list[int], need: int, back: int
) -> None:
    """Property: a draw takes the need exactly, never more than a source holds, in order (a
    source is used only once those before it are empty); a give-back returns at most what each
    paid, so every source ends between what it held and what it held less what it paid."""
    offered = list(zip(SOURCES, available, strict=True))
    if need > sum(available):
        with pytest.raises(NhsAllocationExhausted):
            draw_nhs(need, offered)
        return
    drawn = dict(draw_nhs(need, offered))
    assert sum(drawn.values()) == need
    for i, (source, held) in enumerate(offered):
        assert 0 <= drawn.get(source, 0) <= held
        if drawn.get(source, 0) and i > 0:
            assert all(drawn.get(s, 0) == h for s, h in offered[:i])
    funded = [(s, drawn.get(s, 0)) for s in SOURCES]
    amount = min(back, need)
    given_back = dict(give_back_nhs(amount, funded))
    assert sum(given_back.values()) == amount
    for source, paid in funded:
        assert 0 <= given_back.get(source, 0) <= paid


# -- 2. the person pays no more than assessed, and never towards NHS care -------------------------


@pytest.mark.parametrize(
    ("split", "allowed"),
    [
        (Split(9_000, 0, 1_000), False),
        (Split(0, 0, 10_000), False),
        (Split(5_000, 0, 5_000), False),
        (Split(10_000, 0, 0), True),
        (Split(5_000, 4_000, 1_000), True),
        (Split(0, 9_000, 1_000), True),
        (Split(5_000, 1, 4_999), True),  # lawful as a split; the assessment caps the pence
    ],
)
def test_a_client_part_only_beside_a_council_part(split: Split, allowed: bool) -> None:
    assert client_part_allowed(split) is allowed


def test_the_client_stream_never_exceeds_the_assessed_contribution() -> None:
    """Reproductions: client_contribution_pence 0 and a 50/40/10 line charging 10,000p; a
    50/0.01/49.99 line charging 49,990p."""
    for charged in (10_000, 49_990, 1):
        with pytest.raises(ClientContributionExceeded) as refused:
            check_client_contribution(charged, 0)
        assert refused.value.reason == "CLIENT_CONTRIBUTION_EXCEEDED"
        assert refused.value.metadata["client_contribution_pence"] == "0"
    with pytest.raises(ClientContributionExceeded):
        check_client_contribution(10_001, 10_000)
    check_client_contribution(10_000, 10_000)
    check_client_contribution(0, 0)


# -- 3. NHS-only cohorts ---------------------------------------------------------------------------


def test_adult_chc_is_the_nhs_only_cohort() -> None:
    assert frozenset({Cohort.CHC}) == NHS_ONLY_COHORTS
    assert Cohort.CHILDRENS_CC not in NHS_ONLY_COHORTS


@pytest.mark.parametrize("split", [Split(2_000, 7_000, 1_000), Split(9_999, 1, 0)])
def test_a_chc_line_is_100_percent_nhs(split: Split) -> None:
    """Reproduction: a CHC budget split 20/70/10 NHS/council/client was agreed."""
    with pytest.raises(CohortNhsOnly) as refused:
        check_cohort_split(Cohort.CHC, split)
    assert refused.value.reason == "COHORT_NHS_ONLY"
    check_cohort_split(Cohort.CHC, Split(10_000, 0, 0))


@pytest.mark.parametrize(
    "cohort", [Cohort.CHILDRENS_CC, Cohort.S117, Cohort.JOINT_PACKAGE, Cohort.MENTAL_HEALTH]
)
def test_joint_cohorts_may_share_a_line_with_the_council(cohort: Cohort) -> None:
    check_cohort_split(cohort, Split(2_000, 7_000, 1_000))
    check_cohort_funders(cohort, council_named=True, council_pence=500)


def test_a_chc_budget_names_no_council_and_no_council_or_client_money() -> None:
    check_cohort_funders(Cohort.CHC, council_named=False, council_pence=0)
    for named, pence in ((True, 0), (False, 1)):
        with pytest.raises(CohortNhsOnly):
            check_cohort_funders(Cohort.CHC, council_named=named, council_pence=pence)
