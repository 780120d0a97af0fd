"""The import's decision for a new person (entitlement importing.decide_new_person): the unary
calls' rules, in their order, on England's dates (NHS (Direct Payments) Regulations 2013;
Standing Rules reg 32A/32B; shared/domain.md "Who has a right to a PHB")."""

from __future__ import annotations

from datetime import date

import pytest

from onebudget.entitlement.domain import errors
from onebudget.entitlement.domain.model import (
    STATUTORY_RIGHT_TO_HAVE,
    Category,
    Outcome,
    right_to_have_categories,
)
from onebudget.entitlement.service_layer.handlers import EligibilityAsked, PhbAsked
from onebudget.entitlement.service_layer.importing import decide_new_person
from onebudget.shared.errors import FailedPrecondition

BORN = date(2006, 4, 2)  # 18 on 2 April 2024


def eligibility(
    category: Category = Category.CHC,
    outcome: Outcome = Outcome.GRANTED,
    on: date = date(2024, 4, 2),
) -> EligibilityAsked:
    return EligibilityAsked(category, outcome, ("imported",), on, "panel")


def phb(
    category: Category = Category.CHC,
    on: date = date(2024, 4, 2),
    discretionary: Outcome | None = None,
    reasons: tuple[str, ...] = (),
) -> PhbAsked:
    return PhbAsked(category, on, (), discretionary, reasons)


def refusal(*args: object) -> str:
    with pytest.raises(FailedPrecondition) as caught:
        decide_new_person(*args)  # type: ignore[arg-type]
    return caught.value.reason


def test_chc_on_the_eighteenth_birthday_is_granted_by_right() -> None:
    decided = decide_new_person(BORN, eligibility(), phb(), STATUTORY_RIGHT_TO_HAVE)
    assert decided.age == 18
    assert decided.phb.right_to_have
    assert decided.phb.outcome is Outcome.GRANTED


def test_age_rules_on_the_decision_date() -> None:
    day_before = eligibility(on=date(2024, 4, 1))
    assert refusal(BORN, day_before, phb(), STATUTORY_RIGHT_TO_HAVE) == (
        errors.AGE_OUTSIDE_CATEGORY_RULE
    )
    childrens = eligibility(Category.CHILDRENS_CC)
    assert refusal(BORN, childrens, phb(Category.CHILDRENS_CC), STATUTORY_RIGHT_TO_HAVE) == (
        errors.AGE_OUTSIDE_CATEGORY_RULE
    )


def test_the_request_needs_the_eligibility_granted_in_its_category_on_its_date() -> None:
    policy = STATUTORY_RIGHT_TO_HAVE
    refused = eligibility(outcome=Outcome.REFUSED)
    assert refusal(BORN, refused, phb(), policy) == errors.NO_GRANTED_ELIGIBILITY
    assert refusal(BORN, eligibility(), phb(Category.S117), policy) == (
        errors.NO_GRANTED_ELIGIBILITY
    )
    later = eligibility(on=date(2024, 5, 1))
    assert refusal(BORN, later, phb(on=date(2024, 4, 20)), policy) == (
        errors.NO_GRANTED_ELIGIBILITY
    )
    assert refusal(BORN, eligibility(), phb(on=date(2000, 1, 1)), policy) == (
        errors.DATE_BEFORE_BIRTH
    )


def test_right_to_have_or_discretion_by_the_commissioners_policy() -> None:
    ltc = eligibility(Category.LONG_TERM_CONDITION)
    ask = phb(Category.LONG_TERM_CONDITION)
    assert refusal(BORN, ltc, ask, STATUTORY_RIGHT_TO_HAVE) == (
        errors.DISCRETIONARY_DECISION_REQUIRED
    )
    extended = right_to_have_categories([Category.LONG_TERM_CONDITION])
    assert decide_new_person(BORN, ltc, ask, extended).phb.right_to_have
    given = phb(Category.LONG_TERM_CONDITION, discretionary=Outcome.GRANTED, reasons=("local",))
    decided = decide_new_person(BORN, ltc, given, STATUTORY_RIGHT_TO_HAVE)
    assert (decided.phb.right_to_have, decided.phb.outcome) == (False, Outcome.GRANTED)
    assert refusal(BORN, ltc, given, extended) == errors.RIGHT_TO_HAVE_APPLIES
