"""The facts the read model keeps (pure): what allocation and payment said, keyed by ids.

Figures are computed from these at query time (figures.py), never accumulated in place: so the
order in which events arrive across streams, and how often, cannot change a figure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

GENERAL_COHORT = ""  # the ring-fence for the overall target less the cohort targets


class Stream(enum.StrEnum):
    NHS = "NHS"
    COUNCIL = "COUNCIL"
    CLIENT = "CLIENT"


class Option(enum.StrEnum):
    """How the money of a plan line is held (Standing Rules reg 32B(2))."""

    NOTIONAL = "NOTIONAL"
    THIRD_PARTY = "THIRD_PARTY"
    DIRECT_PAYMENT = "DIRECT_PAYMENT"


class Category(enum.StrEnum):
    """What a budget is counted under: its cohort; anything not listed is OTHER."""

    CHC = "CHC"
    CHILDRENS_CC = "CHILDRENS_CC"
    S117 = "S117"
    WHEELCHAIR = "WHEELCHAIR"
    JOINT_PACKAGE = "JOINT_PACKAGE"
    LONG_TERM_CONDITION = "LONG_TERM_CONDITION"
    MENTAL_HEALTH = "MENTAL_HEALTH"
    OTHER = "OTHER"


_CATEGORIES = {category.value: category for category in Category}


def category_of(cohort: str) -> Category:
    """The category a budget of `cohort` is counted under (OTHER for a cohort not listed)."""
    return _CATEGORIES.get(cohort, Category.OTHER)


@dataclass(frozen=True)
class RingFence:
    cohort: str  # GENERAL_COHORT or a cohort name such as "MENTAL_HEALTH"
    basis_points: int
    target_pence: int
    account_id: str


@dataclass(frozen=True)
class Allocation:
    commissioner: str
    year: int
    allocation_pence: int
    target_basis_points: int
    target_pence: int
    ring_fences: tuple[RingFence, ...]
    closed_on: date | None


@dataclass(frozen=True)
class CouncilPot:
    council: str
    year: int
    pot_pence: int


@dataclass(frozen=True)
class Budget:
    budget_id: str
    person_id: str
    commissioner: str
    council: str
    year: int
    cohort: str
    child: bool
    start_date: date | None
    end_date: date | None
    agreed_on: date | None
    ended_on: date | None
    # Management options of the active plan lines that carry NHS money / council or client money.
    nhs_options: frozenset[Option] = frozenset()
    council_options: frozenset[Option] = frozenset()
    # The person's date of birth (entitlement's PersonRegistered / PersonDetailsUpdated), when
    # reporting has seen it; `child` is what the eligibility decision said when it was made.
    date_of_birth: date | None = None

    def child_on(self, day: date) -> bool:
        """Is the person a child on `day` (England's date)? See `is_child_on`."""
        return is_child_on(self.date_of_birth, day, child_when_decided=self.child)


ADULT_AGE_YEARS = 18


def age_on(date_of_birth: date, on: date) -> int:
    """Age in whole years on a date (a 29 February birthday counts from 1 March)."""
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)


def is_child_on(date_of_birth: date | None, day: date, *, child_when_decided: bool) -> bool:
    """Child or adult, judged when it is reported (issue 13, item 15): under 18 on `day`, the
    last day of the reporting period (docs/quarterly-return.md says why). A person granted
    children's continuing care at 17 is an adult in every return whose period ends on or after
    their 18th birthday. Without a known date of birth, what the eligibility decision said."""
    if date_of_birth is None:
        return child_when_decided
    return age_on(date_of_birth, day) < ADULT_AGE_YEARS


@dataclass(frozen=True)
class Movement:
    """Signed pence per stream on a business date: a commitment change (agreed, revised, ended)
    or a payment (paid positive, returned or repaid negative)."""

    budget_id: str
    on: date
    nhs_pence: int
    council_pence: int
    client_pence: int

    def pence(self, stream: Stream) -> int:
        if stream is Stream.NHS:
            return self.nhs_pence
        if stream is Stream.COUNCIL:
            return self.council_pence
        return self.client_pence


@dataclass(frozen=True)
class NhsDraw:
    """NHS money between a budget and one of its commissioner's funding accounts, on a business
    date: signed pence, positive into the budget (drawn), negative back to the account.

    `ring_fence` False is the general allocation (money beyond the PHB floor, issue 13).
    `cohort` is the ring-fence's cohort (GENERAL_COHORT for the general one); None where the
    event named no source (allocation's events before issue 13): the budget's own ring-fence,
    the only source there was."""

    budget_id: str
    on: date
    ring_fence: bool
    cohort: str | None
    pence: int
