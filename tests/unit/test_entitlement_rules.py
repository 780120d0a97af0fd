"""The pure entitlement rules: ages, the right to have under policies, review schedules."""

from __future__ import annotations

from datetime import date

import pytest

from onebudget.entitlement.domain.dates import add_months, age_on, parse_iso_date
from onebudget.entitlement.domain.model import (
    STATUTORY_RIGHT_TO_HAVE,
    Category,
    EligibilityRecord,
    Outcome,
    check_age_rule,
    decide_phb_request,
    holds_granted,
    right_to_have_categories,
)
from onebudget.entitlement.domain.reviews import ReviewKind, next_review
from onebudget.shared.errors import FailedPrecondition, Violations
from onebudget.shared.paging import (
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    decode_token,
    encode_token,
    page_size,
)

D = date.fromisoformat


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("2006-04-02", "2024-04-02", 18),
        ("2006-04-03", "2024-04-02", 17),
        ("2008-02-29", "2026-02-28", 17),  # a leap-day birthday comes on 1 March
        ("2008-02-29", "2026-03-01", 18),
    ],
)
def test_age_in_whole_years(born: str, on: str, age: int) -> None:
    assert age_on(D(born), D(on)) == age


@pytest.mark.parametrize(
    ("category", "born", "allowed"),
    [
        (Category.CHC, "2006-04-02", True),
        (Category.CHC, "2006-04-03", False),
        (Category.CHILDRENS_CC, "2006-04-03", True),
        (Category.CHILDRENS_CC, "2006-04-02", False),
        (Category.S117, "2015-01-01", True),  # no age rule
        (Category.WHEELCHAIR, "1930-01-01", True),
    ],
)
def test_age_rules_on_the_decision_date(category: Category, born: str, allowed: bool) -> None:
    if allowed:
        check_age_rule(category, D(born), D("2024-04-02"))
        return
    with pytest.raises(FailedPrecondition) as caught:
        check_age_rule(category, D(born), D("2024-04-02"))
    assert caught.value.reason == "AGE_OUTSIDE_CATEGORY_RULE"


def test_policy_extends_never_removes_the_statutory_right() -> None:
    assert right_to_have_categories([]) == STATUTORY_RIGHT_TO_HAVE
    extended = right_to_have_categories([Category.JOINT_PACKAGE])
    assert extended == STATUTORY_RIGHT_TO_HAVE | {Category.JOINT_PACKAGE}


def test_right_to_have_is_granted_unless_not_appropriate() -> None:
    policy = right_to_have_categories([])
    granted = decide_phb_request(
        category=Category.S117,
        policy=policy,
        not_appropriate_reasons=(),
        discretionary_outcome=None,
        discretionary_reasons=(),
    )
    assert (granted.right_to_have, granted.outcome) == (True, Outcome.GRANTED)
    refused = decide_phb_request(
        category=Category.S117,
        policy=policy,
        not_appropriate_reasons=("detained in hospital",),
        discretionary_outcome=None,
        discretionary_reasons=(),
    )
    assert (refused.outcome, refused.reasons) == (Outcome.REFUSED, ("detained in hospital",))


@pytest.mark.parametrize(
    ("category", "extended", "outcome", "reason"),
    [
        (Category.JOINT_PACKAGE, [], None, "DISCRETIONARY_DECISION_REQUIRED"),
        (Category.CHC, [], Outcome.REFUSED, "RIGHT_TO_HAVE_APPLIES"),
        (
            Category.JOINT_PACKAGE,
            [Category.JOINT_PACKAGE],
            Outcome.GRANTED,
            "RIGHT_TO_HAVE_APPLIES",
        ),
    ],
)
def test_discretion_only_where_no_right(
    category: Category, extended: list[Category], outcome: Outcome | None, reason: str
) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        decide_phb_request(
            category=category,
            policy=right_to_have_categories(extended),
            not_appropriate_reasons=(),
            discretionary_outcome=outcome,
            discretionary_reasons=("local offer",),
        )
    assert caught.value.reason == reason


def test_discretionary_decision_carries_its_reasons() -> None:
    decision = decide_phb_request(
        category=Category.LONG_TERM_CONDITION,
        policy=right_to_have_categories([]),
        not_appropriate_reasons=(),
        discretionary_outcome=Outcome.GRANTED,
        discretionary_reasons=("diabetes pilot cohort",),
    )
    assert (decision.right_to_have, decision.outcome) == (False, Outcome.GRANTED)
    assert decision.reasons == ("diabetes pilot cohort",)


def test_the_latest_decision_in_a_category_holds() -> None:
    records = [
        EligibilityRecord(Category.CHC, Outcome.GRANTED, D("2024-01-01")),
        EligibilityRecord(Category.CHC, Outcome.REFUSED, D("2024-03-01")),
        EligibilityRecord(Category.S117, Outcome.GRANTED, D("2024-02-01")),
    ]
    assert holds_granted(records, Category.CHC, D("2024-02-15"))
    assert not holds_granted(records, Category.CHC, D("2024-03-01"))
    assert not holds_granted(records, Category.S117, D("2024-01-31"))
    assert not holds_granted(records, Category.WHEELCHAIR, D("2024-12-31"))


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-01-31", 1, "2024-02-29"),
        ("2023-11-30", 3, "2024-02-29"),
        ("2024-02-29", 12, "2025-02-28"),
    ],
)
def test_add_months_clamps_to_the_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(D(start), months) == D(expected)


def test_iso_dates_only() -> None:
    assert parse_iso_date("2024-02-29") == D("2024-02-29")
    for bad in ("2023-02-29", "20240229", "2024-2-9", "", "2024-02-29T00:00"):
        assert parse_iso_date(bad) is None


@pytest.mark.parametrize(
    ("kind", "nhs", "start", "opens", "due"),
    [
        (ReviewKind.DIRECT_PAYMENT, True, "2024-01-31", "2024-01-31", "2024-04-30"),
        (ReviewKind.DIRECT_PAYMENT, False, "2024-01-31", "2024-01-31", "2024-07-31"),
        (ReviewKind.CARE_PLAN, True, "2024-03-01", "2024-04-12", "2024-04-26"),
    ],
)
def test_first_review(kind: ReviewKind, nhs: bool, start: str, opens: str, due: str) -> None:
    schedule = next_review(kind, D(start), nhs_funded=nhs, completed=[])
    assert (schedule.window_opens_on, schedule.due_on) == (D(opens), D(due))
    assert schedule.last_completed_on is None


def test_yearly_after_the_last_completed_review() -> None:
    schedule = next_review(
        ReviewKind.DIRECT_PAYMENT,
        D("2024-01-31"),
        nhs_funded=True,
        completed=[D("2025-03-01"), D("2024-04-01")],
    )
    assert (schedule.last_completed_on, schedule.due_on) == (D("2025-03-01"), D("2026-03-01"))


def test_a_care_plan_reviewed_too_early_still_needs_its_light_review() -> None:
    schedule = next_review(
        ReviewKind.CARE_PLAN, D("2024-03-01"), nhs_funded=True, completed=[D("2024-03-08")]
    )
    assert schedule.due_on == D("2024-04-26")


def test_page_sizes_and_tokens() -> None:
    v = Violations()
    assert page_size(0, v) == PAGE_SIZE_DEFAULT
    assert page_size(10_000, v) == PAGE_SIZE_MAX
    assert not v
    token = encode_token(["a", "b"], "q1")
    assert decode_token(token, "q1", v) == ["a", "b"]
    assert not v
    assert decode_token(token, "q2", v) is None
    assert decode_token("%%%", "q1", v) is None
    page_size(-1, v)
    with pytest.raises(Exception, match="invalid fields"):
        v.raise_if_any()
