"""The pure reporting rules (reporting/domain), figure by figure on one small year: who is
counted when, what each stream agreed and paid by a quarter's end, ring-fences and targets,
council figures, the money figures Reconcile compares, and the quarterly CSV. Money is integer
pence, shares basis points rounded half up, periods England's financial year (2026 = 2026-27)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from onebudget.reporting.domain import figures, periods, quarterly
from onebudget.reporting.domain.figures import (
    CategoryCount,
    CohortTarget,
    CommissionerFigures,
    CouncilFigures,
    FenceFigures,
    PeopleCounts,
    PeopleSnapshot,
    QuarterPoint,
)
from onebudget.reporting.domain.model import (
    Allocation,
    Budget,
    Category,
    CouncilPot,
    Movement,
    Option,
    RingFence,
    Stream,
    category_of,
)

D = date.fromisoformat
COUNCIL = "E06000047"
ALLOCATION = Allocation(
    "00L",
    2026,
    100_000_000,
    500,
    5_000_000,
    (RingFence("", 400, 4_000_000, "a"), RingFence("MENTAL_HEALTH", 100, 1_000_000, "b")),
    None,
)
# b1: an adult's NHS-only PHB under CHC (no CHC ring-fence: the general one funds it).
B1 = Budget(
    budget_id="b1",
    person_id="p1",
    commissioner="00L",
    council="",
    year=2026,
    cohort="CHC",
    child=False,
    start_date=D("2026-04-01"),
    end_date=D("2027-03-31"),
    agreed_on=D("2026-05-01"),
    ended_on=None,
    nhs_options=frozenset({Option.NOTIONAL}),
)
# b2: a child's integrated budget (NHS and council money) under the MENTAL_HEALTH ring-fence.
B2 = replace(
    B1,
    budget_id="b2",
    person_id="p2",
    council=COUNCIL,
    cohort="MENTAL_HEALTH",
    child=True,
    agreed_on=D("2026-08-01"),
    nhs_options=frozenset({Option.DIRECT_PAYMENT}),
    council_options=frozenset({Option.DIRECT_PAYMENT}),
)
# b3: an adult's council-only personal budget, ended on 1 September (money returned that day).
B3 = replace(
    B1,
    budget_id="b3",
    person_id="p3",
    council=COUNCIL,
    cohort="LOCAL_OFFER",
    agreed_on=D("2026-05-10"),
    ended_on=D("2026-09-01"),
    nhs_options=frozenset(),
    council_options=frozenset({Option.THIRD_PARTY}),
)
COMMITMENTS = [
    Movement("b1", D("2026-05-01"), 300_000, 0, 0),
    Movement("b2", D("2026-08-01"), 1_000_000, 50, 10),
    Movement("b2", D("2027-01-05"), -1, -7, -3),  # after Q3: in the whole year only
    Movement("b3", D("2026-05-10"), 0, 20_000, 1_000),
    Movement("b3", D("2026-09-01"), 0, -20_000, -1_000),
]
PAYMENTS = [
    Movement("b1", D("2026-06-01"), 1_000, 0, 0),
    Movement("b1", D("2026-09-30"), 500, 0, 0),  # on the quarter's last day: in Q2
    Movement("b2", D("2026-10-01"), 2_000, 5, 1),
    Movement("b1", D("2027-02-01"), -100, 0, 0),  # a return
]


def _counts(
    total: int,
    adults: int,
    children: int,
    categories: dict[Category, tuple[int, int, int]],
    options: dict[Option, int],
) -> PeopleCounts:
    return PeopleCounts(
        total,
        adults,
        children,
        tuple(CategoryCount(c, *categories.get(c, (0, 0, 0))) for c in Category),
        tuple((o, options.get(o, 0)) for o in Option),
    )


NOBODY = _counts(0, 0, 0, {}, {})
ADULT_CHC_AND_CHILD_MH = _counts(
    2,
    1,
    1,
    {Category.CHC: (1, 1, 0), Category.MENTAL_HEALTH: (1, 0, 1)},
    {Option.NOTIONAL: 1, Option.DIRECT_PAYMENT: 1},
)
CHILD_MH_DIRECT = _counts(1, 0, 1, {Category.MENTAL_HEALTH: (1, 0, 1)}, {Option.DIRECT_PAYMENT: 1})


def test_commissioner_figures_at_a_quarters_end_count_what_was_dated_by_then() -> None:
    q2 = figures.commissioner_figures(ALLOCATION, [B1, B2, B3], COMMITMENTS, PAYMENTS, 2)
    assert q2 == CommissionerFigures(
        commissioner="00L",
        year=2026,
        quarter=2,
        period_end=D("2026-09-30"),
        allocation_pence=100_000_000,
        target_basis_points=500,
        target_pence=5_000_000,
        fences=(
            FenceFigures("", 400, 4_000_000, 3_700_000, 300_000, 30, False, 300_000, -3_700_000),
            FenceFigures("MENTAL_HEALTH", 100, 1_000_000, 0, 1_000_000, 100, True, 1_000_000, 0),
        ),
        nhs_agreed_pence=1_300_000,
        nhs_agreed_basis_points=130,
        nhs_agreed_ipb_pence=1_000_000,
        nhs_paid_pence=1_500,
        nhs_paid_basis_points=0,
        target_met=False,
        phb_people=PeopleSnapshot(ADULT_CHC_AND_CHILD_MH, ADULT_CHC_AND_CHILD_MH),
        ipb_people=PeopleSnapshot(CHILD_MH_DIRECT, CHILD_MH_DIRECT),
        year_closed=False,
        nhs_beyond_ring_fences_pence=0,
    )


def test_commissioner_figures_for_the_whole_year_net_returns_and_later_changes() -> None:
    whole = figures.commissioner_figures(ALLOCATION, [B1, B2, B3], COMMITMENTS, PAYMENTS, 0)
    assert whole.period_end == D("2027-03-31")
    assert (whole.nhs_agreed_pence, whole.nhs_paid_pence) == (1_299_999, 3_400)
    assert whole.nhs_agreed_ipb_pence == 999_999
    assert whole.fences[1] == FenceFigures(
        "MENTAL_HEALTH", 100, 1_000_000, 1, 999_999, 100, False, 999_999, -1
    )
    q1 = figures.commissioner_figures(ALLOCATION, [B1, B2, B3], COMMITMENTS, PAYMENTS, 1)
    assert q1.phb_people.at_period_end == _counts(
        1, 1, 0, {Category.CHC: (1, 1, 0)}, {Option.NOTIONAL: 1}
    )
    assert q1.fences[1].agreed_pence == 0


def test_a_year_closed_by_a_quarters_end_leaves_every_ring_fence_at_zero() -> None:
    closed = replace(ALLOCATION, closed_on=D("2026-09-30"))
    q2 = figures.commissioner_figures(closed, [B1, B2, B3], COMMITMENTS, PAYMENTS, 2)
    assert [f.balance_pence for f in q2.fences] == [0, 0]
    assert q2.year_closed
    q1 = figures.commissioner_figures(closed, [B1, B2, B3], COMMITMENTS, PAYMENTS, 1)
    assert [f.balance_pence for f in q1.fences] == [3_700_000, 1_000_000]  # not closed by Q1


def test_money_figures_name_every_money_figure_of_a_summary() -> None:
    q2 = figures.commissioner_figures(ALLOCATION, [B1, B2, B3], COMMITMENTS, PAYMENTS, 2)
    assert figures.money_figures(q2) == {
        "allocation_pence": 100_000_000,
        "phb_target_pence": 5_000_000,
        "nhs_agreed_pence": 1_300_000,
        "nhs_agreed_ipb_pence": 1_000_000,
        "nhs_paid_pence": 1_500,
        "nhs_beyond_ring_fences_pence": 0,
        "ring_fence[GENERAL].target_pence": 4_000_000,
        "ring_fence[GENERAL].balance_pence": 3_700_000,
        "ring_fence[GENERAL].drawn_pence": 300_000,
        "ring_fence[MENTAL_HEALTH].target_pence": 1_000_000,
        "ring_fence[MENTAL_HEALTH].balance_pence": 0,
        "ring_fence[MENTAL_HEALTH].drawn_pence": 1_000_000,
    }


def test_council_figures_count_council_and_client_money_and_who_had_it() -> None:
    pot = CouncilPot(COUNCIL, 2026, 100_000)
    q3 = figures.council_figures(pot, [B2, B3], COMMITMENTS, PAYMENTS, 3)
    ytd = _counts(
        2,
        1,
        1,
        {Category.MENTAL_HEALTH: (1, 0, 1), Category.OTHER: (1, 1, 0)},
        {Option.THIRD_PARTY: 1, Option.DIRECT_PAYMENT: 1},
    )
    assert q3 == CouncilFigures(
        council=COUNCIL,
        year=2026,
        quarter=3,
        period_end=D("2026-12-31"),
        pot_pence=100_000,
        council_agreed_pence=50,
        council_agreed_basis_points=5,
        client_agreed_pence=10,
        nhs_agreed_ipb_pence=1_000_000,
        council_paid_pence=5,
        client_paid_pence=1,
        personal_budget_people=PeopleSnapshot(CHILD_MH_DIRECT, ytd),
        ipb_people=PeopleSnapshot(CHILD_MH_DIRECT, CHILD_MH_DIRECT),
    )
    q2 = figures.council_figures(pot, [B2, B3], COMMITMENTS, PAYMENTS, 2)
    assert (q2.council_paid_pence, q2.client_paid_pence) == (0, 0)  # paid on 1 October
    whole = figures.council_figures(pot, [B2, B3], COMMITMENTS, PAYMENTS, 0)
    assert whole.nhs_agreed_ipb_pence == 999_999
    assert (whole.council_agreed_pence, whole.client_agreed_pence) == (43, 7)


def test_targets_trend_quarter_by_quarter_for_the_whole_and_each_ring_fence() -> None:
    overall, general, mental_health = figures.target_status(ALLOCATION, [B1, B2, B3], COMMITMENTS)
    ends = [D("2026-06-30"), D("2026-09-30"), D("2026-12-31"), D("2027-03-31")]
    assert overall == CohortTarget(
        figures.ALL_COHORT,
        500,
        5_000_000,
        1_299_999,
        130,
        False,
        3_700_001,
        (
            QuarterPoint(1, ends[0], 300_000, 30, False, 4_700_000, -4_700_000),
            QuarterPoint(2, ends[1], 1_300_000, 130, False, 3_700_000, -3_700_000),
            QuarterPoint(3, ends[2], 1_300_000, 130, False, 3_700_000, -3_700_000),
            QuarterPoint(4, ends[3], 1_299_999, 130, False, 3_700_001, -3_700_001),
        ),
        -3_700_001,
    )
    assert general == CohortTarget(
        "",
        400,
        4_000_000,
        300_000,
        30,
        False,
        3_700_000,
        tuple(
            QuarterPoint(q, ends[q - 1], 300_000, 30, False, 3_700_000, -3_700_000)
            for q in (1, 2, 3, 4)
        ),
        -3_700_000,
    )
    assert mental_health == CohortTarget(
        "MENTAL_HEALTH",
        100,
        1_000_000,
        999_999,
        100,
        False,
        1,
        (
            QuarterPoint(1, ends[0], 0, 0, False, 1_000_000, -1_000_000),
            QuarterPoint(2, ends[1], 1_000_000, 100, True, 0, 0),
            QuarterPoint(3, ends[2], 1_000_000, 100, True, 0, 0),
            QuarterPoint(4, ends[3], 999_999, 100, False, 1, -1),
        ),
        -1,
    )


def test_a_budget_is_live_up_to_its_end_date_and_until_the_day_before_it_ended() -> None:
    ends_june = replace(B1, end_date=D("2026-06-30"))
    assert figures.live_between(ends_june, D("2026-06-30"), D("2026-06-30"))
    assert not figures.live_between(ends_june, D("2026-07-01"), D("2026-07-01"))
    ended = replace(B1, ended_on=D("2026-07-01"))
    assert figures.live_between(ended, D("2026-06-30"), D("2026-06-30"))
    assert not figures.live_between(ended, D("2026-07-01"), D("2026-07-01"))
    open_ended = replace(B1, end_date=None)
    assert figures.live_between(open_ended, D("2030-01-01"), D("2030-01-01"))
    not_started = replace(B1, start_date=D("2026-06-01"), agreed_on=D("2026-05-01"))
    assert not figures.live_between(not_started, D("2026-05-15"), D("2026-05-31"))


def test_a_budget_is_funded_by_a_stream_from_its_first_penny() -> None:
    day = D("2026-05-01")
    one_penny = [Movement("x", day, 1, 0, 0), Movement("y", day, 0, 0, 1)]
    assert figures.funded_by(one_penny, [Stream.NHS]) == {"x"}
    assert figures.funded_by(one_penny, [Stream.COUNCIL, Stream.CLIENT]) == {"y"}
    assert figures.funded_by([Movement("z", day, -5, 0, 0)], [Stream.NHS]) == frozenset()


def test_a_movement_gives_each_streams_pence() -> None:
    m = Movement("b", D("2026-05-01"), 1, 2, 3)
    assert [m.pence(s) for s in (Stream.NHS, Stream.COUNCIL, Stream.CLIENT)] == [1, 2, 3]


def test_totals_include_the_last_day_and_only_the_named_budgets() -> None:
    moves = [Movement("a", D("2026-06-30"), 5, 0, 0), Movement("b", D("2026-07-01"), 7, 0, 0)]
    assert figures.total(moves, Stream.NHS, until=D("2026-06-30")) == 5
    assert figures.total(moves, Stream.NHS) == 12
    assert figures.total(moves, Stream.NHS, budget_ids=frozenset({"b"})) == 7


def test_basis_points_and_shares_are_integers() -> None:
    assert type(figures.basis_points(1, 3)) is int
    assert figures.basis_points(-5, -1) == 0


@pytest.mark.parametrize(
    ("quarter", "valid"), [(-1, False), (0, True), (1, True), (4, True), (5, False)]
)
def test_a_quarter_is_1_to_4_or_0_for_the_whole_year(quarter: int, valid: bool) -> None:
    assert periods.is_quarter_or_whole_year(quarter) is valid


def test_the_quarterly_return_is_one_header_and_one_row_of_csv() -> None:
    q2 = figures.commissioner_figures(ALLOCATION, [B1, B2, B3], COMMITMENTS, PAYMENTS, 2)
    lines = quarterly.to_csv(q2).decode().split("\r\n")
    assert lines[0] == ",".join(quarterly.COLUMNS)
    assert lines[1] == ",".join(quarterly.row(q2))
    assert lines[1].startswith("00L,2026-27,Q2,2026-04-01,2026-09-30,2,1,1,")
    assert lines[2:] == [""]
    assert quarterly.file_name(q2) == "phb-return-00L-2026-Q2.csv"


def test_year_to_date_counts_only_budgets_live_since_1_april() -> None:
    last_year = replace(
        B1,
        budget_id="old",
        person_id="p9",
        start_date=None,
        agreed_on=D("2026-02-01"),
        ended_on=D("2026-03-15"),
    )
    counted = figures.snapshot([last_year, B1], 2026, D("2026-06-30"), figures.nhs_options)
    assert counted.year_to_date.total == 1
    assert counted.at_period_end.total == 1


def test_the_overall_target_counts_only_the_budgets_given() -> None:
    stray = [*COMMITMENTS, Movement("not-ours", D("2026-05-01"), 9_000_000, 0, 0)]
    overall = figures.target_status(ALLOCATION, [B1, B2, B3], stray)[0]
    assert overall.agreed_pence == 1_299_999


def test_a_figure_only_one_side_has_counts_as_zero_on_the_other() -> None:
    diffs = figures.differences({"only_reported": 5, "zero_reported": 0}, {"only_ledger": 1})
    assert [(d.figure, d.reported_pence, d.ledger_pence) for d in diffs] == [
        ("only_ledger", 0, 1),
        ("only_reported", 5, 0),
    ]
    assert figures.differences({}, {"zero_ledger": 0}) == []


@pytest.mark.parametrize(
    ("year", "valid"), [(2012, False), (2013, True), (2099, True), (2100, False)]
)
def test_reporting_years_run_from_2013_to_2099(year: int, valid: bool) -> None:
    assert periods.is_financial_year(year) is valid


def test_each_month_falls_in_its_quarter() -> None:
    quarters = [periods.quarter_of(date(2026, month, 15)) for month in range(1, 13)]
    assert quarters == [4, 4, 4, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_a_budget_is_counted_under_its_cohort_or_other() -> None:
    for category in Category:
        assert category_of(category.value) is category
    assert category_of("") is Category.OTHER  # the general ring-fence's budgets
    assert category_of("mental_health") is Category.OTHER  # cohorts are exact codes
    assert category_of("SOMETHING_NEW") is Category.OTHER
