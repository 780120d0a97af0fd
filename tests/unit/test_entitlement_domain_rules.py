"""The pure entitlement rules (entitlement/domain) that the older tests left unguarded: which
eligibility decision holds on a date, the right to have a PHB, ages, reviews, calendar months.
Dates are England's calendar dates."""

from __future__ import annotations

from datetime import date

import pytest

from onebudget.entitlement.domain import errors
from onebudget.entitlement.domain.dates import add_months, age_on, format_date
from onebudget.entitlement.domain.model import (
    Category,
    EligibilityRecord,
    Outcome,
    check_age_rule,
    clean_reasons,
    decide_phb_request,
    holds_granted,
    is_child,
)
from onebudget.entitlement.domain.reviews import ReviewKind, ReviewSchedule, next_review
from onebudget.shared.errors import FailedPrecondition

D = date.fromisoformat
GRANTED, REFUSED = Outcome.GRANTED, Outcome.REFUSED


def _record(outcome: Outcome, on: str, category: Category = Category.CHC) -> EligibilityRecord:
    return EligibilityRecord(category, outcome, D(on))


# -- the latest decision by its date holds, not the latest recorded -------------------------------


def test_a_back_dated_grant_recorded_after_a_later_refusal_does_not_hold() -> None:
    """Decisions are ordered by the date they were decided, not by arrival: a grant dated
    January, recorded after a refusal dated March, is overridden by that refusal from March."""
    recorded = [_record(REFUSED, "2024-03-01"), _record(GRANTED, "2024-01-01")]
    assert holds_granted(recorded, Category.CHC, D("2024-02-01"))
    assert not holds_granted(recorded, Category.CHC, D("2024-03-01"))
    assert not holds_granted(recorded, Category.CHC, D("2024-12-31"))


def test_a_back_dated_refusal_recorded_after_a_later_grant_does_not_undo_it() -> None:
    """The same rule the other way round: a late-recorded refusal dated before a grant leaves
    the grant holding from its own date."""
    recorded = [_record(GRANTED, "2024-03-01"), _record(REFUSED, "2024-01-01")]
    assert not holds_granted(recorded, Category.CHC, D("2024-02-01"))
    assert holds_granted(recorded, Category.CHC, D("2024-03-01"))
    assert holds_granted(recorded, Category.CHC, D("2024-12-31"))


def test_on_the_same_date_the_later_recorded_decision_wins() -> None:
    refused_last = [_record(GRANTED, "2024-03-01"), _record(REFUSED, "2024-03-01")]
    granted_last = [_record(REFUSED, "2024-03-01"), _record(GRANTED, "2024-03-01")]
    assert not holds_granted(refused_last, Category.CHC, D("2024-03-01"))
    assert holds_granted(granted_last, Category.CHC, D("2024-03-01"))


def test_a_decision_holds_from_its_own_date_and_only_in_its_category() -> None:
    recorded = [_record(GRANTED, "2024-03-01")]
    assert not holds_granted(recorded, Category.CHC, D("2024-02-29"))
    assert holds_granted(recorded, Category.CHC, D("2024-03-01"))
    assert not holds_granted(recorded, Category.S117, D("2024-03-01"))
    assert not holds_granted([], Category.CHC, D("2024-03-01"))


# -- the right to have a PHB ----------------------------------------------------------------------


def test_where_the_right_applies_the_request_is_granted_without_reasons() -> None:
    decision = decide_phb_request(
        category=Category.CHC,
        policy=frozenset({Category.CHC}),
        not_appropriate_reasons=(),
        discretionary_outcome=None,
        discretionary_reasons=(),
    )
    assert (decision.right_to_have, decision.outcome, decision.reasons) == (True, GRANTED, ())


def test_where_the_right_applies_only_not_appropriate_reasons_refuse() -> None:
    decision = decide_phb_request(
        category=Category.CHC,
        policy=frozenset({Category.CHC}),
        not_appropriate_reasons=("a risk to health",),
        discretionary_outcome=None,
        discretionary_reasons=(),
    )
    assert (decision.right_to_have, decision.outcome) == (True, REFUSED)
    assert decision.reasons == ("a risk to health",)
    with pytest.raises(FailedPrecondition) as caught:
        decide_phb_request(
            category=Category.CHC,
            policy=frozenset({Category.CHC}),
            not_appropriate_reasons=(),
            discretionary_outcome=REFUSED,
            discretionary_reasons=("budget pressure",),
        )
    assert caught.value.reason == errors.RIGHT_TO_HAVE_APPLIES


@pytest.mark.parametrize(
    ("outcome", "reasons"),
    [(None, ("x",)), (GRANTED, ()), (REFUSED, ())],
)
def test_without_the_right_a_decision_needs_an_outcome_and_reasons(
    outcome: Outcome | None, reasons: tuple[str, ...]
) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        decide_phb_request(
            category=Category.MENTAL_HEALTH,
            policy=frozenset({Category.CHC}),
            not_appropriate_reasons=(),
            discretionary_outcome=outcome,
            discretionary_reasons=reasons,
        )
    assert caught.value.reason == errors.DISCRETIONARY_DECISION_REQUIRED


def test_without_the_right_the_commissioner_decides_with_reasons() -> None:
    decision = decide_phb_request(
        category=Category.MENTAL_HEALTH,
        policy=frozenset({Category.CHC}),
        not_appropriate_reasons=(),
        discretionary_outcome=GRANTED,
        discretionary_reasons=("fits the local offer",),
    )
    assert (decision.right_to_have, decision.outcome) == (False, GRANTED)
    assert decision.reasons == ("fits the local offer",)


def test_each_phb_refusal_says_what_to_do() -> None:
    with pytest.raises(FailedPrecondition) as right:
        decide_phb_request(
            category=Category.CHC,
            policy=frozenset({Category.CHC}),
            not_appropriate_reasons=(),
            discretionary_outcome=GRANTED,
            discretionary_reasons=("x",),
        )
    assert right.value.message == (
        "CHC carries a right to have a PHB: it is granted unless not_appropriate_reasons are "
        "given, not decided at discretion"
    )
    with pytest.raises(FailedPrecondition) as discretion:
        decide_phb_request(
            category=Category.S117,
            policy=frozenset(),
            not_appropriate_reasons=(),
            discretionary_outcome=None,
            discretionary_reasons=(),
        )
    assert discretion.value.message == (
        "S117 carries no right to have a PHB under this commissioner's policy: give "
        "discretionary_outcome and discretionary_reasons"
    )


# -- ages on the decision date --------------------------------------------------------------------


def test_a_decision_on_the_day_of_birth_is_allowed_and_before_it_is_refused() -> None:
    born = D("2020-06-01")
    assert check_age_rule(Category.S117, born, born) == 0
    assert age_on(born, born) == 0
    with pytest.raises(FailedPrecondition) as caught:
        check_age_rule(Category.S117, born, D("2020-05-31"))
    assert (caught.value.reason, caught.value.message) == (
        errors.DATE_BEFORE_BIRTH,
        "the decision date is before the birth",
    )
    assert caught.value.metadata == {}
    with pytest.raises(AssertionError) as undefined:
        age_on(born, D("2020-05-31"))
    assert str(undefined.value) == "age is undefined before birth"


@pytest.mark.parametrize(
    ("category", "born", "message", "age"),
    [
        (
            Category.CHILDRENS_CC,
            "2006-04-02",
            "CHILDRENS_CC is for people under 18 on the decision date; age was 18",
            "18",
        ),
        (
            Category.CHC,
            "2006-04-03",
            "CHC is for people 18 or over on the decision date; age was 17",
            "17",
        ),
    ],
)
def test_an_age_outside_the_category_rule_says_the_rule_and_the_age(
    category: Category, born: str, message: str, age: str
) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_age_rule(category, D(born), D("2024-04-02"))
    assert caught.value.reason == errors.AGE_OUTSIDE_CATEGORY_RULE
    assert caught.value.message == message
    assert caught.value.metadata == {"category": category.value, "age": age}


def test_a_child_is_under_18_on_the_date() -> None:
    assert is_child(D("2006-04-03"), D("2024-04-02"))
    assert not is_child(D("2006-04-02"), D("2024-04-02"))


def test_blank_reasons_are_no_reasons() -> None:
    assert clean_reasons([" needs changed ", "", "   ", "x"]) == ("needs changed", "x")


def test_dates_are_written_iso_or_empty() -> None:
    assert format_date(D("2026-04-01")) == "2026-04-01"
    assert format_date(None) == ""


# -- calendar months and reviews ------------------------------------------------------------------


def test_zero_months_is_the_same_day_and_twelve_cross_the_year() -> None:
    assert add_months(D("2026-01-31"), 0) == D("2026-01-31")
    assert add_months(D("2026-01-31"), 12) == D("2027-01-31")
    assert add_months(D("2026-12-15"), 1) == D("2027-01-15")
    assert add_months(D("2026-11-30"), 14) == D("2028-01-30")


def test_a_review_on_the_day_its_window_opens_counts() -> None:
    started = D("2024-03-01")  # a care plan's light review opens six weeks on: 12 April
    schedule = next_review(
        ReviewKind.CARE_PLAN, started, nhs_funded=True, completed=[D("2024-04-12")]
    )
    assert schedule == ReviewSchedule(D("2024-04-12"), D("2025-04-12"), D("2024-04-12"))
