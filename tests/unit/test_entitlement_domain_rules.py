"""The pure entitlement rules (entitlement/domain) that the older tests left unguarded: which
eligibility decision holds on a date, the right to have a PHB, ages, reviews, calendar months.
Dates are England's calendar dates."""

from __future__ import annotations

from datetime import date

import pytest

from onebudget.entitlement.domain import errors
from onebudget.entitlement.domain.model import (
    Category,
    EligibilityRecord,
    Outcome,
    decide_phb_request,
    holds_granted,
)
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
