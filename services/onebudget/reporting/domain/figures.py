"""Report figures from the facts (pure). Every figure is a sum of integer pence; percentages are
basis points rounded half up; a target is met when the pence reach it (never on rounded points).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from onebudget.reporting.domain import periods
from onebudget.reporting.domain.model import (
    GENERAL_COHORT,
    Allocation,
    Budget,
    Category,
    CouncilPot,
    Movement,
    NhsDraw,
    Option,
    Stream,
    category_of,
)
from onebudget.shared.money import BASIS_POINTS_WHOLE

ALL_COHORT = "*"  # the overall PHB target in target status (every budget)


def basis_points(numerator_pence: int, denominator_pence: int) -> int:
    """numerator / denominator in basis points, rounded half up; 0 for a zero denominator.

    floor((n * 10,000 + d // 2) / d): exact integer arithmetic, no float ever.
    """
    if denominator_pence <= 0:
        return 0
    return (numerator_pence * BASIS_POINTS_WHOLE + denominator_pence // 2) // denominator_pence


def gap(target_pence: int, reached_pence: int) -> int:
    return max(0, target_pence - reached_pence)


def is_met(target_pence: int, reached_pence: int) -> bool:
    return reached_pence >= target_pence


def total(
    movements: Iterable[Movement],
    stream: Stream,
    *,
    until: date | None = None,
    budget_ids: frozenset[str] | None = None,
) -> int:
    """Σ of the stream's signed pence, dated up to `until` (None: all), of `budget_ids` (None:
    all)."""
    return sum(
        m.pence(stream)
        for m in movements
        if (until is None or m.on <= until) and (budget_ids is None or m.budget_id in budget_ids)
    )


def funded_by(movements: Iterable[Movement], streams: Sequence[Stream]) -> frozenset[str]:
    """Budgets that ever received money of one of `streams` (a positive change)."""
    return frozenset(m.budget_id for m in movements if any(m.pence(s) > 0 for s in streams))


def fence_cohort(budget: Budget, allocation: Allocation) -> str:
    """The ring-fence that funds a budget first (and whose floor it counts towards): its
    cohort's where one was set, else the general."""
    cohorts = {f.cohort for f in allocation.ring_fences}
    return budget.cohort if budget.cohort in cohorts else GENERAL_COHORT


def above_floor(target_pence: int, reached_pence: int) -> int:
    """How far the NHS money reached is above the floor (positive) or below it (negative), in
    pence: the PHB target is a minimum, not a ceiling (issue 13)."""
    return reached_pence - target_pence


def draws_from_commitments(
    commitments: Iterable[Movement],
) -> tuple[NhsDraw, ...]:
    """The NHS draws of commitments that name no source: each from its budget's own ring-fence
    (how every budget was funded before the PHB target became a floor)."""
    return tuple(
        NhsDraw(m.budget_id, m.on, True, None, m.nhs_pence) for m in commitments if m.nhs_pence
    )


def drawn_from(
    draws: Iterable[NhsDraw],
    budgets: Sequence[Budget],
    allocation: Allocation,
    *,
    cohort: str | None,
    until: date | None,
) -> int:
    """Net NHS pence drawn into budgets, up to `until`, from the ring-fence of `cohort` (None:
    from the general allocation, beyond the ring-fences)."""
    own = {b.budget_id: fence_cohort(b, allocation) for b in budgets}
    found = 0
    for d in draws:
        if until is not None and d.on > until:
            continue
        if not d.ring_fence:
            found += d.pence if cohort is None else 0
            continue
        source = d.cohort if d.cohort is not None else own.get(d.budget_id, GENERAL_COHORT)
        if cohort is not None and source == cohort:
            found += d.pence
    return found


# -- people --------------------------------------------------------------------------------------


def live_between(budget: Budget, first: date, last: date) -> bool:
    """Was the budget live on at least one day of [first, last]? Live: agreed, inside its period,
    and before the day it ended (a budget ended on day E is not live on E)."""
    if budget.agreed_on is None:
        return False
    starts = max(d for d in (budget.agreed_on, budget.start_date, first) if d is not None)
    ends = [last]
    if budget.end_date is not None:
        ends.append(budget.end_date)
    if budget.ended_on is not None:
        ends.append(budget.ended_on - timedelta(days=1))
    return starts <= min(ends)


@dataclass(frozen=True)
class CategoryCount:
    category: Category
    people: int
    adults: int
    children: int


@dataclass(frozen=True)
class PeopleCounts:
    total: int
    adults: int
    children: int
    by_category: tuple[CategoryCount, ...]
    by_option: tuple[tuple[Option, int], ...]

    def option(self, option: Option) -> int:
        return dict(self.by_option)[option]

    def category(self, category: Category) -> CategoryCount:
        return next(c for c in self.by_category if c.category is category)


@dataclass(frozen=True)
class PeopleSnapshot:
    at_period_end: PeopleCounts
    year_to_date: PeopleCounts


def _children(budgets: Iterable[Budget], on: date) -> set[str]:
    return {b.person_id for b in budgets if b.child_on(on)}


def count_people(
    budgets: Sequence[Budget], options_of: Callable[[Budget], frozenset[Option]], on: date
) -> PeopleCounts:
    """Distinct people over the given (live) budgets; a child if under 18 on `on` (the last day
    of the reporting period, model.is_child_on), as any of their budgets says."""
    people = {b.person_id for b in budgets}
    children = _children(budgets, on)
    by_category: dict[Category, list[Budget]] = {category: [] for category in Category}
    for b in budgets:  # one pass: 200,000 budgets a report at England's size (issue 17)
        by_category[category_of(b.cohort)].append(b)
    categories: list[CategoryCount] = []
    for category in Category:
        inside = by_category[category]
        who = {b.person_id for b in inside}
        kids = _children(inside, on)
        categories.append(CategoryCount(category, len(who), len(who - kids), len(kids)))
    options = tuple(
        (option, len({b.person_id for b in budgets if option in options_of(b)}))
        for option in Option
    )
    return PeopleCounts(
        len(people), len(people - children), len(children), tuple(categories), options
    )


def snapshot(
    budgets: Sequence[Budget],
    year: int,
    period_end: date,
    options_of: Callable[[Budget], frozenset[Option]],
) -> PeopleSnapshot:
    at_end = [b for b in budgets if live_between(b, period_end, period_end)]
    ytd = [b for b in budgets if live_between(b, periods.year_start(year), period_end)]
    # Child or adult by age on the period's last day, for the year-to-date counts too.
    return PeopleSnapshot(
        count_people(at_end, options_of, period_end), count_people(ytd, options_of, period_end)
    )


def nhs_options(budget: Budget) -> frozenset[Option]:
    return budget.nhs_options


def council_options(budget: Budget) -> frozenset[Option]:
    return budget.council_options


# -- commissioner --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FenceFigures:
    """One ring-fence: its target (the cohort's floor), what is left in it (target less what
    was drawn from it), what the cohort's budgets hold from every source (`agreed_pence`) and
    so how far above or below the floor the cohort is."""

    cohort: str
    basis_points: int
    target_pence: int
    balance_pence: int
    agreed_pence: int
    agreed_basis_points: int
    target_met: bool
    drawn_pence: int
    above_floor_pence: int


@dataclass(frozen=True)
class CommissionerFigures:
    commissioner: str
    year: int
    quarter: int
    period_end: date
    allocation_pence: int
    target_basis_points: int
    target_pence: int
    fences: tuple[FenceFigures, ...]
    nhs_agreed_pence: int
    nhs_agreed_basis_points: int
    nhs_agreed_ipb_pence: int
    nhs_paid_pence: int
    nhs_paid_basis_points: int
    target_met: bool
    phb_people: PeopleSnapshot
    ipb_people: PeopleSnapshot
    year_closed: bool
    nhs_beyond_ring_fences_pence: int


def _until(year: int, quarter: int) -> date | None:
    return None if quarter == periods.WHOLE_YEAR else periods.quarter_end(year, quarter)


def _fence_figures(
    allocation: Allocation,
    budgets: Sequence[Budget],
    commitments: Sequence[Movement],
    draws: Sequence[NhsDraw],
    until: date | None,
) -> tuple[FenceFigures, ...]:
    closed = allocation.closed_on is not None and (until is None or allocation.closed_on <= until)
    found: list[FenceFigures] = []
    for fence in allocation.ring_fences:
        ids = frozenset(b.budget_id for b in budgets if fence_cohort(b, allocation) == fence.cohort)
        agreed = total(commitments, Stream.NHS, until=until, budget_ids=ids)
        drawn = drawn_from(draws, budgets, allocation, cohort=fence.cohort, until=until)
        # After the close the ring-fence's rest went back to the allocation, and returns from
        # budgets pass straight through it: its balance stays zero.
        balance = 0 if closed else fence.target_pence - drawn
        found.append(
            FenceFigures(
                fence.cohort,
                fence.basis_points,
                fence.target_pence,
                balance,
                agreed,
                basis_points(agreed, allocation.allocation_pence),
                is_met(fence.target_pence, agreed),
                drawn,
                above_floor(fence.target_pence, agreed),
            )
        )
    return tuple(found)


def commissioner_figures(
    allocation: Allocation,
    budgets: Sequence[Budget],
    commitments: Sequence[Movement],
    payments: Sequence[Movement],
    quarter: int,
    draws: Sequence[NhsDraw] | None = None,
) -> CommissionerFigures:
    """`budgets` are the commissioner's for the year; movements are those budgets'; `draws` say
    which account each NHS commitment came from (None: each budget's own ring-fence).
    `payments` are only ever totalled, over every budget, up to one of `periods.cutoffs` or in
    full, so they may come summed per period (read_model.payments_by_period)."""
    if draws is None:
        draws = draws_from_commitments(commitments)
    year = allocation.year
    until = _until(year, quarter)
    period_end = periods.quarter_end(year, quarter)
    with_nhs = funded_by(commitments, [Stream.NHS])
    ipbs = with_nhs & funded_by(commitments, [Stream.COUNCIL, Stream.CLIENT])
    agreed = total(commitments, Stream.NHS, until=until)
    paid = total(payments, Stream.NHS, until=until)
    phb_budgets = [b for b in budgets if b.budget_id in with_nhs]
    return CommissionerFigures(
        commissioner=allocation.commissioner,
        year=year,
        quarter=quarter,
        period_end=period_end,
        allocation_pence=allocation.allocation_pence,
        target_basis_points=allocation.target_basis_points,
        target_pence=allocation.target_pence,
        fences=_fence_figures(allocation, budgets, commitments, draws, until),
        nhs_agreed_pence=agreed,
        nhs_agreed_basis_points=basis_points(agreed, allocation.allocation_pence),
        nhs_agreed_ipb_pence=total(commitments, Stream.NHS, until=until, budget_ids=ipbs),
        nhs_paid_pence=paid,
        nhs_paid_basis_points=basis_points(paid, allocation.allocation_pence),
        target_met=is_met(allocation.target_pence, agreed),
        phb_people=snapshot(phb_budgets, year, period_end, nhs_options),
        ipb_people=snapshot(
            [b for b in phb_budgets if b.budget_id in ipbs], year, period_end, nhs_options
        ),
        year_closed=allocation.closed_on is not None,
        nhs_beyond_ring_fences_pence=drawn_from(
            draws, budgets, allocation, cohort=None, until=until
        ),
    )


# -- council -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CouncilFigures:
    council: str
    year: int
    quarter: int
    period_end: date
    pot_pence: int
    council_agreed_pence: int
    council_agreed_basis_points: int
    client_agreed_pence: int
    nhs_agreed_ipb_pence: int
    council_paid_pence: int
    client_paid_pence: int
    personal_budget_people: PeopleSnapshot
    ipb_people: PeopleSnapshot


def council_figures(
    pot: CouncilPot,
    budgets: Sequence[Budget],
    commitments: Sequence[Movement],
    payments: Sequence[Movement],
    quarter: int,
) -> CouncilFigures:
    """`budgets` are those naming the council, for the year; movements are those budgets'.
    `payments` may come summed per period, as for `commissioner_figures`."""
    until = _until(pot.year, quarter)
    period_end = periods.quarter_end(pot.year, quarter)
    council_funded = funded_by(commitments, [Stream.COUNCIL, Stream.CLIENT])
    ipbs = council_funded & funded_by(commitments, [Stream.NHS])
    council_agreed = total(commitments, Stream.COUNCIL, until=until)
    funded = [b for b in budgets if b.budget_id in council_funded]
    return CouncilFigures(
        council=pot.council,
        year=pot.year,
        quarter=quarter,
        period_end=period_end,
        pot_pence=pot.pot_pence,
        council_agreed_pence=council_agreed,
        council_agreed_basis_points=basis_points(council_agreed, pot.pot_pence),
        client_agreed_pence=total(commitments, Stream.CLIENT, until=until),
        nhs_agreed_ipb_pence=total(commitments, Stream.NHS, until=until, budget_ids=ipbs),
        council_paid_pence=total(payments, Stream.COUNCIL, until=until),
        client_paid_pence=total(payments, Stream.CLIENT, until=until),
        personal_budget_people=snapshot(funded, pot.year, period_end, council_options),
        ipb_people=snapshot(
            [b for b in funded if b.budget_id in ipbs], pot.year, period_end, council_options
        ),
    )


# -- targets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuarterPoint:
    quarter: int
    period_end: date
    agreed_pence: int
    agreed_basis_points: int
    met: bool
    gap_pence: int
    above_floor_pence: int


@dataclass(frozen=True)
class CohortTarget:
    cohort: str  # ALL_COHORT, GENERAL_COHORT or a cohort name
    target_basis_points: int
    target_pence: int
    agreed_pence: int
    agreed_basis_points: int
    met: bool
    gap_pence: int
    trend: tuple[QuarterPoint, ...]
    above_floor_pence: int


def _target(
    allocation: Allocation,
    cohort: str,
    bp: int,
    target_pence: int,
    commitments: Sequence[Movement],
    ids: frozenset[str],
) -> CohortTarget:
    def reached(until: date | None) -> int:
        return total(commitments, Stream.NHS, until=until, budget_ids=ids)

    whole = allocation.allocation_pence
    trend = tuple(
        QuarterPoint(
            q,
            end,
            got,
            basis_points(got, whole),
            is_met(target_pence, got),
            gap(target_pence, got),
            above_floor(target_pence, got),
        )
        for q in periods.QUARTERS
        for end in [periods.quarter_end(allocation.year, q)]
        for got in [reached(end)]
    )
    got = reached(None)
    return CohortTarget(
        cohort,
        bp,
        target_pence,
        got,
        basis_points(got, whole),
        is_met(target_pence, got),
        gap(target_pence, got),
        trend,
        above_floor(target_pence, got),
    )


def target_status(
    allocation: Allocation, budgets: Sequence[Budget], commitments: Sequence[Movement]
) -> tuple[CohortTarget, ...]:
    """The overall target against every budget, then each ring-fence against its budgets."""
    every = frozenset(b.budget_id for b in budgets)
    targets = [
        _target(
            allocation,
            ALL_COHORT,
            allocation.target_basis_points,
            allocation.target_pence,
            commitments,
            every,
        )
    ]
    for fence in allocation.ring_fences:
        ids = frozenset(b.budget_id for b in budgets if fence_cohort(b, allocation) == fence.cohort)
        targets.append(
            _target(
                allocation, fence.cohort, fence.basis_points, fence.target_pence, commitments, ids
            )
        )
    return tuple(targets)


# -- reconciliation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    figure: str
    reported_pence: int
    ledger_pence: int

    @property
    def difference_pence(self) -> int:
        return self.reported_pence - self.ledger_pence


def money_figures(figures: CommissionerFigures) -> dict[str, int]:
    """Every money figure of a summary, by a stable name (what Reconcile compares)."""
    named = {
        "allocation_pence": figures.allocation_pence,
        "phb_target_pence": figures.target_pence,
        "nhs_agreed_pence": figures.nhs_agreed_pence,
        "nhs_agreed_ipb_pence": figures.nhs_agreed_ipb_pence,
        "nhs_paid_pence": figures.nhs_paid_pence,
        "nhs_beyond_ring_fences_pence": figures.nhs_beyond_ring_fences_pence,
    }
    for fence in figures.fences:
        name = f"ring_fence[{fence.cohort or 'GENERAL'}]"
        named[f"{name}.target_pence"] = fence.target_pence
        named[f"{name}.balance_pence"] = fence.balance_pence
        # What the ring-fence funded: the ledger knows a transfer's source, not the cohort of
        # the budget it funded, so the cohort's agreed_pence is checked through the totals.
        named[f"{name}.drawn_pence"] = fence.drawn_pence
    return named


def differences(reported: dict[str, int], ledger: dict[str, int]) -> list[Difference]:
    """Figures that differ, by name; a figure only one side has counts as 0 on the other."""
    return [
        Difference(name, reported.get(name, 0), ledger.get(name, 0))
        for name in sorted(reported.keys() | ledger.keys())
        if reported.get(name, 0) != ledger.get(name, 0)
    ]
