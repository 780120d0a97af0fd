"""When reviews fall due (shared/domain.md, "Reviews").

- Direct payment: within 3 months of its start when NHS money is paid (SI 2013/1617 reg 14), within
  6 months when council-only (Care Act direct payments); then at least every 12 months after the
  last completed review.
- Care plan: a light review 6 to 8 weeks after agreement (due by 8 weeks), then at least yearly.

A direct payment is money paid to the person's (or nominee's) direct-payment account, however
it is paid: by a schedule's instalments or by a one-off release (issue 13, item 14:
`is_direct_payment`); each budget's direct payments are reviewed as one, from the first.

Reviews end with the budget (issue 13, items 13-14): once a budget has ended there is no care
plan or direct payment of it left to review, so none of its reviews is due any more
(`review_is_due`); the reviews of a person who died or withdrew consent end too.

"Within N months" is the same day N calendar months later, clamped to the month's end, so the
due date is never later than the rule allows. A review completed before the first review's
window opens (a care plan reviewed in its first 6 weeks) does not count as that review.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from onebudget.entitlement.domain.dates import add_months

NHS_DIRECT_PAYMENT_FIRST_REVIEW_MONTHS = 3
COUNCIL_DIRECT_PAYMENT_FIRST_REVIEW_MONTHS = 6
CARE_PLAN_FIRST_REVIEW_OPENS_WEEKS = 6
CARE_PLAN_FIRST_REVIEW_DUE_WEEKS = 8
REVIEW_INTERVAL_MONTHS = 12


class ReviewKind(enum.StrEnum):
    DIRECT_PAYMENT = "DIRECT_PAYMENT"
    CARE_PLAN = "CARE_PLAN"


@dataclass(frozen=True)
class ReviewSchedule:
    """The next review: the earliest date it counts and the date it is due by."""

    window_opens_on: date
    due_on: date
    last_completed_on: date | None


def first_review(kind: ReviewKind, started_on: date, *, nhs_funded: bool) -> tuple[date, date]:
    """(window opens, due by) of the first review after a start or agreement."""
    if kind is ReviewKind.CARE_PLAN:
        return (
            started_on + timedelta(weeks=CARE_PLAN_FIRST_REVIEW_OPENS_WEEKS),
            started_on + timedelta(weeks=CARE_PLAN_FIRST_REVIEW_DUE_WEEKS),
        )
    months = (
        NHS_DIRECT_PAYMENT_FIRST_REVIEW_MONTHS
        if nhs_funded
        else COUNCIL_DIRECT_PAYMENT_FIRST_REVIEW_MONTHS
    )
    return started_on, add_months(started_on, months)


def next_review(
    kind: ReviewKind, started_on: date, *, nhs_funded: bool, completed: Iterable[date]
) -> ReviewSchedule:
    """The next review given every completed one (in any order)."""
    opens, due = first_review(kind, started_on, nhs_funded=nhs_funded)
    counted = [d for d in completed if d >= opens]
    if not counted:
        return ReviewSchedule(opens, due, None)
    last = max(counted)
    return ReviewSchedule(last, add_months(last, REVIEW_INTERVAL_MONTHS), last)


def review_is_due(*, person_active: bool, budget_ended: bool) -> bool:
    """Whether a review subject is still listed as due: its person is active (not deceased,
    consent not withdrawn) and its budget has not ended. ListReviewsDue applies the same rule
    in its SQL (entitlement/adapters/repository.py: list_reviews_due)."""
    return person_active and not budget_ended


DIRECT_PAYMENT_ACCOUNT = "DIRECT_PAYMENT_ACCOUNT"  # payment's payee kind for the person's account


def is_direct_payment(payee_kind: str) -> bool:
    """A payment to the person's (or nominee's) direct-payment account is a direct payment (SI
    2013/1617; Standing Rules reg 32B(2)): a one-off release starts the direct-payment review
    as the first instalment of a schedule does. Payments to providers or third parties do not."""
    return payee_kind == DIRECT_PAYMENT_ACCOUNT
