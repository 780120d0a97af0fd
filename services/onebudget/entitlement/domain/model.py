"""The entitlement rules, pure: categories, ages, the right to have a PHB, decisions on requests.

Sources: shared/domain.md ("Who has a right to a PHB"). Age rules apply on the decision date.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from onebudget.entitlement.domain import errors
from onebudget.entitlement.domain.dates import age_on
from onebudget.shared import standing
from onebudget.shared.errors import FailedPrecondition

ADULT_AGE_YEARS = 18


class Category(enum.StrEnum):
    CHC = "CHC"
    CHILDRENS_CC = "CHILDRENS_CC"
    S117 = "S117"
    WHEELCHAIR = "WHEELCHAIR"
    JOINT_PACKAGE = "JOINT_PACKAGE"
    LONG_TERM_CONDITION = "LONG_TERM_CONDITION"
    MENTAL_HEALTH = "MENTAL_HEALTH"
    LOCAL_OFFER = "LOCAL_OFFER"


class Outcome(enum.StrEnum):
    GRANTED = "GRANTED"
    REFUSED = "REFUSED"


class PersonState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
    DECEASED = "DECEASED"


class RequestState(enum.StrEnum):
    GRANTED = "GRANTED"
    REFUSED = "REFUSED"
    RECONSIDERATION_REQUESTED = "RECONSIDERATION_REQUESTED"


# Standing Rules reg 32A/32B: the legal right to have. A commissioner may add, never remove.
STATUTORY_RIGHT_TO_HAVE = frozenset(
    {Category.CHC, Category.CHILDRENS_CC, Category.S117, Category.WHEELCHAIR}
)


def right_to_have_categories(extended: Iterable[Category]) -> frozenset[Category]:
    """A commissioner's policy: the statutory categories plus the ones it extends the right to."""
    return STATUTORY_RIGHT_TO_HAVE | frozenset(extended)


def is_child(date_of_birth: date, on: date) -> bool:
    return age_on(date_of_birth, on) < ADULT_AGE_YEARS


def check_age_rule(category: Category, date_of_birth: date, decided_on: date) -> int:
    """Children's continuing care is for under-18s, CHC for adults; returns the age on the date."""
    if decided_on < date_of_birth:
        raise FailedPrecondition(
            reason=errors.DATE_BEFORE_BIRTH, message="the decision date is before the birth"
        )
    age = age_on(date_of_birth, decided_on)
    too_old = category is Category.CHILDRENS_CC and age >= ADULT_AGE_YEARS
    too_young = category is Category.CHC and age < ADULT_AGE_YEARS
    if too_old or too_young:
        rule = "under 18" if category is Category.CHILDRENS_CC else "18 or over"
        raise FailedPrecondition(
            reason=errors.AGE_OUTSIDE_CATEGORY_RULE,
            message=f"{category} is for people {rule} on the decision date; age was {age}",
            metadata={"category": category.value, "age": str(age)},
        )
    return age


@dataclass(frozen=True)
class EligibilityRecord:
    category: Category
    outcome: Outcome
    decided_on: date


def holds_granted(records: Iterable[EligibilityRecord], category: Category, on: date) -> bool:
    """The decision in force in the category on `on` (England's date) granted it.

    `records` come in recording order. The one rule of `onebudget.shared.standing` decides
    which decision is in force: the latest `decided_on` on or before `on`, ties by recording
    order (so a grant back-dated before a refusal does not undo the refusal). Allocation and
    payment fold entitlement's events with the same rule."""
    return standing.stands(
        standing.Decision(r.outcome is Outcome.GRANTED, r.decided_on, recorded)
        for recorded, r in enumerate(records, start=1)
        if r.category is category and r.decided_on <= on
    )


@dataclass(frozen=True)
class PhbDecision:
    right_to_have: bool
    outcome: Outcome
    reasons: tuple[str, ...]


def decide_phb_request(
    *,
    category: Category,
    policy: frozenset[Category],
    not_appropriate_reasons: tuple[str, ...],
    discretionary_outcome: Outcome | None,
    discretionary_reasons: tuple[str, ...],
) -> PhbDecision:
    """Where a right applies the commissioner must grant unless a PHB is not appropriate;
    elsewhere the request is the commissioner's discretion, given with reasons either way."""
    if category in policy:
        if discretionary_outcome is not None:
            raise FailedPrecondition(
                reason=errors.RIGHT_TO_HAVE_APPLIES,
                message=f"{category} carries a right to have a PHB: it is granted unless "
                "not_appropriate_reasons are given, not decided at discretion",
            )
        if not_appropriate_reasons:
            return PhbDecision(True, Outcome.REFUSED, not_appropriate_reasons)
        return PhbDecision(True, Outcome.GRANTED, ())
    if discretionary_outcome is None or not discretionary_reasons:
        raise FailedPrecondition(
            reason=errors.DISCRETIONARY_DECISION_REQUIRED,
            message=f"{category} carries no right to have a PHB under this commissioner's "
            "policy: give discretionary_outcome and discretionary_reasons",
        )
    return PhbDecision(False, discretionary_outcome, discretionary_reasons)


def clean_reasons(reasons: Iterable[str]) -> tuple[str, ...]:
    """Reasons as people typed them, minus blanks (a blank reason is no reason)."""
    return tuple(r.strip() for r in reasons if r.strip())


def categories_by_name() -> Mapping[str, Category]:
    return {c.value: c for c in Category}
