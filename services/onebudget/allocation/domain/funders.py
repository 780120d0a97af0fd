"""Who pays for a budget (pure): the PHB floor's order of NHS sources, what the person may be
charged, and the cohorts the NHS alone funds (issue 13, items 1-3).

Money is integer pence; splits are basis points of 10,000. Each rule is one function here and
raises a named refusal (a FAILED_PRECONDITION with a stable reason); the service layer loads
balances and plan lines, asks these functions, and moves the money they decide.

- **The PHB target is a floor, not a ceiling** (`/work/shared/domain.md`, Reporting: "a % of
  local CCG budgets be used for PHBs", seed 004; Standing Rules reg 32A/32B for the right to have
  a PHB). A budget's NHS money comes first from its cohort's ring-fence, then the general
  ring-fence, then the commissioner's general allocation (`nhs_sources`, `draw_nhs`); a budget
  is refused (`NhsAllocationExhausted`) only when all of them together cannot pay. Money going
  back goes to the sources that paid, the last one first (`give_back_nhs`), so what was drawn
  from a ring-fence is the last to leave a PHB.
- **The person pays no more than the financial assessment says, and never towards NHS care**
  (Care Act 2014 s14, s17; NHS Act 2006 s1(4)): a client part only on a line the council also
  funds (`client_part_allowed`), and the client stream over the whole budget never above the
  assessed contribution (`check_client_contribution`).
- **NHS-only cohorts are NHS-only** (NHS Continuing Healthcare is arranged and funded solely by
  the NHS: National Framework for NHS CHC; Standing Rules reg 32A): an adult CHC budget takes NHS
  money only (`NHS_ONLY_COHORTS`, `check_cohort_split`, `check_cohort_funders`). Children's
  continuing care, s117 after-care, wheelchairs and the offered cohorts may sit in a joint
  package with the council.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from onebudget.allocation.domain import errors
from onebudget.allocation.domain.model import GENERAL_COHORT, Cohort, Split
from onebudget.shared.errors import FailedPrecondition
from onebudget.shared.money import BASIS_POINTS_WHOLE

# -- named refusals ------------------------------------------------------------------------------


class FundingRefused(FailedPrecondition):
    """A budget's funding the money or the law does not allow (FAILED_PRECONDITION)."""

    REASON = ""

    def __init__(self, message: str, **metadata: object) -> None:
        super().__init__(
            reason=self.REASON,
            message=message,
            metadata={k: str(v) for k, v in metadata.items()},
        )


class NhsAllocationExhausted(FundingRefused):
    """Neither the ring-fences nor the commissioner's general allocation can pay."""

    REASON = errors.NHS_ALLOCATION_EXHAUSTED


class ClientContributionExceeded(FundingRefused):
    """The plan charges the person more than their financial assessment allows."""

    REASON = errors.CLIENT_CONTRIBUTION_EXCEEDED


class CohortNhsOnly(FundingRefused):
    """A cohort the NHS alone funds was given council or client money."""

    REASON = errors.COHORT_NHS_ONLY


# -- 1. the PHB floor: where a budget's NHS money comes from -------------------------------------

RING_FENCE: Final = "ring_fence"  # ledger.chart.RING_FENCE
ALLOCATION: Final = "allocation"  # ledger.chart.ALLOCATION


@dataclass(frozen=True)
class NhsSource:
    """One account that may fund a budget's NHS stream: a ring-fence (with its cohort, ""
    for the general one) or the commissioner's general allocation (cohort None)."""

    account_id: uuid.UUID
    kind: str
    cohort: str | None

    @property
    def ring_fenced(self) -> bool:
        return self.kind == RING_FENCE


def nhs_sources(
    cohort: str, fences: Mapping[str, uuid.UUID], allocation_account_id: uuid.UUID
) -> tuple[NhsSource, ...]:
    """The order in which a budget of `cohort` draws NHS money: its cohort's ring-fence where
    the commissioner set one, then the general ring-fence, then the general allocation.

    `fences` maps each ring-fence's cohort ("" for the general one) to its account."""
    order: list[NhsSource] = []
    if cohort != GENERAL_COHORT and cohort in fences:
        order.append(NhsSource(fences[cohort], RING_FENCE, cohort))
    if GENERAL_COHORT in fences:
        order.append(NhsSource(fences[GENERAL_COHORT], RING_FENCE, GENERAL_COHORT))
    order.append(NhsSource(allocation_account_id, ALLOCATION, None))
    return tuple(order)


def draw_nhs(
    need_pence: int, available: Sequence[tuple[NhsSource, int]]
) -> list[tuple[NhsSource, int]]:
    """How much of `need_pence` each source pays, in order (each as much as it has left, the
    first first), leaving out sources that pay nothing.

    `available` is each source with its available balance in pence, in `nhs_sources` order.
    Raises NhsAllocationExhausted (NHS_ALLOCATION_EXHAUSTED) only when the sources together
    hold less than `need_pence`: a budget is never refused for an empty ring-fence while the
    allocation can pay."""
    assert need_pence >= 0
    assert all(pence >= 0 for _, pence in available)
    held = sum(pence for _, pence in available)
    if held < need_pence:
        raise NhsAllocationExhausted(
            "the commissioner's PHB ring-fences and general NHS allocation together have not"
            " enough money left for this",
            needed_pence=need_pence,
            available_pence=held,
        )
    drawn: list[tuple[NhsSource, int]] = []
    left = need_pence
    for source, pence in available:
        take = min(pence, left)
        if take > 0:
            drawn.append((source, take))
            left -= take
    assert left == 0
    return drawn


def give_back_nhs(
    amount_pence: int, funded: Sequence[tuple[NhsSource, int]]
) -> list[tuple[NhsSource, int]]:
    """Where `amount_pence` of a budget's NHS money goes back to: the sources that paid in (net
    of what already went back), the last in the drawing order first, each at most what it paid.

    `funded` is each source with its net pence in the budget, in `nhs_sources` order. A budget
    never holds more NHS money than its sources paid in, so the amount always fits (asserted)."""
    assert amount_pence >= 0
    given: list[tuple[NhsSource, int]] = []
    left = amount_pence
    for source, pence in reversed(funded):
        take = min(max(pence, 0), left)
        if take > 0:
            given.append((source, take))
            left -= take
    assert left == 0, (amount_pence, funded)
    return given


# -- 2. what the person pays ---------------------------------------------------------------------


def client_part_allowed(split: Split) -> bool:
    """A client part only where the council funds part of the line: the person's contribution
    is towards council-funded care (Care Act 2014 s14, s17), and NHS care is free at the point
    of use (NHS Act 2006 s1(4)), so a share without a council part carries no client part.
    Checked with the request's fields (INVALID_ARGUMENT on `split.client_basis_points`)."""
    return split.client_bp == 0 or split.council_bp > 0


def check_client_contribution(plan_client_pence: int, assessed_pence: int) -> None:
    """The client stream over the whole budget (pence, every active plan line) never exceeds
    the contribution the financial assessment set (`client_contribution_pence`, Care Act 2014
    s17: the person pays no more than they are assessed to pay).

    Raises ClientContributionExceeded (CLIENT_CONTRIBUTION_EXCEEDED)."""
    if plan_client_pence > assessed_pence:
        raise ClientContributionExceeded(
            "the plan charges the person more than their assessed contribution",
            plan_client_pence=plan_client_pence,
            client_contribution_pence=assessed_pence,
        )


# -- 3. NHS-only cohorts -------------------------------------------------------------------------

# Adult NHS Continuing Healthcare is a package of care arranged and funded solely by the NHS
# (National Framework for NHS CHC and FNC; Standing Rules reg 32A): no council money, and so no
# client contribution. Children's continuing care may sit in a joint package with social care
# and education; s117 after-care is a joint NHS and council duty; the other cohorts are joint
# packages or local offers.
NHS_ONLY_COHORTS: Final[frozenset[str]] = frozenset({Cohort.CHC})


def is_nhs_only(cohort: str) -> bool:
    return cohort in NHS_ONLY_COHORTS


def check_cohort_split(cohort: str, split: Split) -> None:
    """A plan line of an NHS-only cohort's budget is 100% NHS.

    Raises CohortNhsOnly (COHORT_NHS_ONLY)."""
    if is_nhs_only(cohort) and split.nhs_bp != BASIS_POINTS_WHOLE:
        raise CohortNhsOnly(
            f"a {cohort} budget is funded solely by the NHS: every line is 100% NHS",
            cohort=cohort,
            nhs_basis_points=split.nhs_bp,
        )


def check_cohort_funders(cohort: str, *, council_named: bool, council_pence: int) -> None:
    """A budget of an NHS-only cohort names no council and takes no council or client pence
    (`council_pence`: the indicative council budget plus the assessed contribution).

    Raises CohortNhsOnly (COHORT_NHS_ONLY)."""
    if is_nhs_only(cohort) and (council_named or council_pence > 0):
        raise CohortNhsOnly(
            f"a {cohort} budget is funded solely by the NHS: no council, no council money and"
            " no client contribution",
            cohort=cohort,
        )
