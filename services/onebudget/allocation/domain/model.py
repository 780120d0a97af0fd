"""Allocation's pure rules: financial years, ring-fence targets, plan line costs and splits.

Money is integer pence. Two rounding rules, both from onebudget.shared.money:
- a single share (a PHB target of an allocation) is `share_of`: basis points, half up;
- a cost split across funders is `split_by_basis_points`: largest remainder, so the parts sum
  to the cost exactly and each funder's share is within a penny of its exact share.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from onebudget.allocation.domain import errors
from onebudget.allocation.domain.errors import DateOutsideBudgetPeriod
from onebudget.ledger.domain import AMOUNT_MAX, FundingStream
from onebudget.shared.errors import AlreadyExists, FailedPrecondition
from onebudget.shared.money import BASIS_POINTS_WHOLE, share_of, split_by_basis_points
from onebudget.shared.standing import Decision

# Financial years are named by their starting year. CCGs began in April 2013; the ledger stores
# years up to 2100, so the last year that ends inside that range is 2099.
FINANCIAL_YEAR_MIN = 2013
FINANCIAL_YEAR_MAX = 2099
# One transfer carries at most the ledger's AMOUNT_MAX (£10bn), so an allocation does too.
ALLOCATION_PENCE_MAX = AMOUNT_MAX
COST_PER_OCCURRENCE_PENCE_MAX = 100_000_000  # £1m for one occurrence of one service
OCCURRENCES_MAX = 10_000  # enough for several visits a day over a year
PLAN_LINES_PER_BUDGET_MAX = 200
TEXT_LENGTH_MAX = 200
REASONS_MAX = 20
STREAMS: tuple[FundingStream, ...] = (
    FundingStream.NHS,
    FundingStream.COUNCIL,
    FundingStream.CLIENT,
)
GENERAL_COHORT = ""  # the ring-fence for the overall target less the cohort targets
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")
# What a budget may never buy is one policy shared with payment: onebudget.shared.policy.


class Cohort(enum.StrEnum):
    CHC = "CHC"
    CHILDRENS_CC = "CHILDRENS_CC"
    S117 = "S117"
    WHEELCHAIR = "WHEELCHAIR"
    JOINT_PACKAGE = "JOINT_PACKAGE"
    LONG_TERM_CONDITION = "LONG_TERM_CONDITION"
    MENTAL_HEALTH = "MENTAL_HEALTH"
    LOCAL_OFFER = "LOCAL_OFFER"


class BudgetStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    AGREED = "AGREED"
    ENDED = "ENDED"


class EndReason(enum.StrEnum):
    REQUESTED = "REQUESTED"
    PERSON_DIED = "PERSON_DIED"
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"


def is_financial_year(year: int) -> bool:
    return FINANCIAL_YEAR_MIN <= year <= FINANCIAL_YEAR_MAX


def financial_year_bounds(year: int) -> tuple[date, date]:
    """2026 -> (2026-04-01, 2027-03-31)."""
    assert is_financial_year(year)
    return date(year, 4, 1), date(year + 1, 3, 31)


def within_financial_year(year: int, day: date) -> bool:
    """Whether `day` (England's calendar) lies in financial year `year` (1 April to 31 March):
    where a budget's start and end dates must lie (CreateBudget, and the import's rows)."""
    first, last = financial_year_bounds(year)
    return first <= day <= last


def financial_year_of(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def financial_year_is_over(year: int, today: date) -> bool:
    return today > financial_year_bounds(year)[1]


# Budgets are planned ahead: a plan (and notice of a change to it) may be agreed up to one
# financial year before the budget's own year begins.
PLANNING_YEARS_AHEAD = 1


def budget_dates_window(year: int, end_date: date) -> tuple[date, date]:
    """The days on which a budget of financial `year` ending on `end_date` may be agreed,
    revised (the notice's date) or ended: from 1 April of the year before (planning ahead,
    `PLANNING_YEARS_AHEAD`) to the budget's end date, both inclusive (England's dates)."""
    return date(year - PLANNING_YEARS_AHEAD, 4, 1), end_date


def budget_date_refusal(
    field: str, day: date, *, year: int, end_date: date, start_date: date | None = None
) -> DateOutsideBudgetPeriod | None:
    """FAILED_PRECONDITION reason DATE_OUTSIDE_BUDGET_PERIOD (metadata: field, date, earliest,
    latest) when `day` (an agreement, a revision notice or an end) is outside
    `budget_dates_window`, else None.

    An agreement after the budget's period ended is never live (the national return counts a
    budget live from its agreement to its end, NHS Digital PHB collection; a 2031 agreement on a
    2026-27 budget would leave the year's money agreed and no quarter with the budget). A
    written notice of a change (SI 2013/1617 reg 13: cuts need notice and reasons) is about
    the budget's period, so it is dated within the window too; so is an end, and an end (given
    `start_date`, the budget's first day) is not before the budget starts: a budget cannot end
    before it begins."""
    earliest, latest = budget_dates_window(year, end_date)
    if start_date is not None:
        earliest = max(earliest, start_date)
    if earliest <= day <= latest:
        return None
    return DateOutsideBudgetPeriod(
        f"{field} must fall between {earliest.isoformat()} and the budget's end",
        field=field,
        date=day.isoformat(),
        earliest=earliest.isoformat(),
        latest=latest.isoformat(),
    )


@dataclass(frozen=True)
class RingFenceTarget:
    cohort: str  # GENERAL_COHORT or a Cohort value
    basis_points: int
    target_pence: int


def ring_fence_targets(
    allocation_pence: int, overall_bp: int, cohort_bps: Mapping[str, int]
) -> list[RingFenceTarget] | None:
    """The ring-fences and their exact pence: each cohort gets share_of(allocation, its bp); the
    general ring-fence gets share_of(allocation, overall) less those, so together they are the
    overall target to the penny. None when the cohort shares would exceed the overall target."""
    overall = share_of(allocation_pence, overall_bp)
    cohorts = [
        RingFenceTarget(c, bp, share_of(allocation_pence, bp)) for c, bp in cohort_bps.items()
    ]
    general = overall - sum(t.target_pence for t in cohorts)
    general_bp = overall_bp - sum(cohort_bps.values())
    if general < 0 or general_bp < 0:
        return None
    targets = [RingFenceTarget(GENERAL_COHORT, general_bp, general), *cohorts]
    assert sum(t.target_pence for t in targets) == overall
    return targets


@dataclass(frozen=True)
class Split:
    nhs_bp: int
    council_bp: int
    client_bp: int

    def as_list(self) -> list[int]:
        return [self.nhs_bp, self.council_bp, self.client_bp]

    @property
    def whole(self) -> bool:
        return sum(self.as_list()) == BASIS_POINTS_WHOLE and min(self.as_list()) >= 0


@dataclass(frozen=True)
class PlanLineTerms:
    description: str
    category: str
    cost_per_occurrence_pence: int
    frequency: str
    occurrences: int
    split: Split
    management_option: str
    allowed_payee_id: str
    allowed_payee_kind: str  # "" when only a named payee is allowed

    @property
    def cost_pence(self) -> int:
        return self.cost_per_occurrence_pence * self.occurrences

    def stream_pence(self) -> dict[FundingStream, int]:
        """The cost split exactly across the streams (largest remainder)."""
        nhs, council, client = split_by_basis_points(self.cost_pence, self.split.as_list())
        assert nhs + council + client == self.cost_pence
        return {
            FundingStream.NHS: nhs,
            FundingStream.COUNCIL: council,
            FundingStream.CLIENT: client,
        }


def is_category_code(value: str) -> bool:
    return bool(_CATEGORY.match(value))


def plan_totals(lines: Iterable[PlanLineTerms]) -> dict[FundingStream, int]:
    """What a costed plan asks of each stream."""
    totals = dict.fromkeys(STREAMS, 0)
    for line in lines:
        for stream, pence in line.stream_pence().items():
            totals[stream] += pence
    return totals


# The plan's payee kinds a direct payment goes to: the person or their nominee, through the
# account that holds only their direct payment (payment pays such lines to that account only).
DIRECT_PAYMENT_PAYEE_KINDS = frozenset({"PERSON", "NOMINEE"})


def payee_kind_fits_option(management_option: str, allowed_payee_kind: str) -> bool:
    """Whether a plan line's payee kind agrees with how its money is held (Standing Rules
    reg 32B(2)): a DIRECT_PAYMENT line is paid to the person or their nominee; a NOTIONAL or
    THIRD_PARTY line to a provider, personal assistant, family member or third party, never to
    the person's direct payment. A line naming only a payee id (no kind) fits any option (payment
    checks the payee it names)."""
    if not management_option or not allowed_payee_kind:
        return True
    direct = management_option == "DIRECT_PAYMENT"
    return (allowed_payee_kind in DIRECT_PAYMENT_PAYEE_KINDS) == direct


def uses_council_money(split: Split) -> bool:
    return split.council_bp > 0 or split.client_bp > 0


# -- ending a budget (issue 13, item 13) -----------------------------------------------------------


def end_notice_faults(
    reasons: Iterable[str], notice_date: date | None, ended_on: date, today: date
) -> list[tuple[str, str]]:
    """What is wrong with the notice of a budget's end, as (field, description) pairs; empty
    when it may end. Ending a budget is the deepest cut, and a cut needs written notice and
    reasons (SI 2013/1617 reg 13; shared/domain.md, "Payments"): at least one reason (1 to
    REASONS_MAX, each 1 to TEXT_LENGTH_MAX characters), the date of the written notice, and an
    end date not before that notice. The notice is one already given: not dated after `today`
    (England's date), as a stop of payments is not. How long the notice must run is local
    practice, not checked here."""
    given = [r.strip() for r in reasons]
    faults: list[tuple[str, str]] = []
    if not 1 <= len(given) <= REASONS_MAX:
        faults.append(("reasons", f"1 to {REASONS_MAX} reasons: why the budget ends"))
    if not all(0 < len(r) <= TEXT_LENGTH_MAX for r in given):
        faults.append(("reasons", f"each reason is 1 to {TEXT_LENGTH_MAX} characters"))
    if notice_date is None:
        faults.append(("notice_date", "required: the date of the written notice of the end"))
    elif notice_date > today:
        faults.append(("notice_date", "must not be in the future: the notice already given"))
    elif ended_on < notice_date:
        faults.append(("ended_on", "must not be before notice_date: notice comes first"))
    return faults


# -- what a budget rests on (docs/adr/0010) ------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """A person's decisions in force in one category, as entitlement's events told allocation
    (each the latest by date, ties by recording order: `onebudget.shared.standing`)."""

    category: str
    eligibility: Decision | None
    phb: Decision | None
    child: bool = False


def budget_cohort(requested: str, standings: Sequence[Standing]) -> Standing:
    """The cohort a budget is for: the requested one ("" = the most recently decided), where the
    person holds both a granted eligibility and a granted PHB.

    A PHB is an amount the commissioner identifies after granting a request for one, by right
    (Standing Rules reg 32A/32B: CHC, children's continuing care, s117, wheelchairs) or at its
    discretion; eligibility alone is not a PHB. Raises FAILED_PRECONDITION `NO_ELIGIBILITY` when
    no granted eligibility stands (in the requested cohort), else `NO_PHB_GRANTED` when no
    granted PHB request stands with it."""
    eligible = [
        s
        for s in standings
        if s.eligibility is not None
        and s.eligibility.granted
        and (not requested or s.category == requested)
    ]
    scope = f" for {requested}" if requested else ""
    if not eligible:
        raise FailedPrecondition(
            reason=errors.NO_ELIGIBILITY,
            message="the person holds no granted eligibility" + scope,
            metadata={"cohort": requested},
        )
    with_phb = [s for s in eligible if s.phb is not None and s.phb.granted]
    if not with_phb:
        raise FailedPrecondition(
            reason=errors.NO_PHB_GRANTED,
            message="no PHB request of the person is granted"
            + scope
            + ": a budget follows the commissioner's grant of a PHB (by right or discretion)",
            metadata={"cohort": requested},
        )
    return max(with_phb, key=lambda s: _recency(s.eligibility))


def _recency(decision: Decision | None) -> tuple[date, int]:
    assert decision is not None
    return decision.decided_on, decision.recorded


def check_one_budget_per_year(year: int, open_budget_ids: Sequence[str]) -> None:
    """One integrated budget per person per financial year (README; shared/domain.md "IPB": one
    budget funded by NHS and council with separate streams). A change to the care plan is a
    revision of that budget (ReviseBudget), across cohorts too; a new budget in the year is
    possible only once the open one has ended. Raises ALREADY_EXISTS `BUDGET_EXISTS_FOR_YEAR`
    naming the open budget."""
    if open_budget_ids:
        raise AlreadyExists(
            reason=errors.BUDGET_EXISTS_FOR_YEAR,
            message=f"the person already holds an integrated budget for {year}: revise it "
            "(ReviseBudget), or end it before creating another",
            metadata={"budget_id": open_budget_ids[0], "financial_year": str(year)},
        )
