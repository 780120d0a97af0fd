"""Ending a budget (issue 13, item 13), the pure rules: an end needs written notice and reasons
like any cut (SI 2013/1617 reg 13); what a direct payment paid in advance for days from the end
on is reclaimed, with grounds and repayer by why it ended (reg 15)."""

from __future__ import annotations

from datetime import date

from onebudget.allocation.domain.model import REASONS_MAX, end_notice_faults
from onebudget.entitlement.domain.reviews import is_direct_payment, review_is_due
from onebudget.payment.domain.schedules import (
    end_reclaim_terms,
    last_day_paid_for,
    unspent_after_end,
)

END = date(2026, 9, 30)
TODAY = date(2026, 10, 15)


def test_an_end_with_reasons_and_an_earlier_notice_may_go_ahead() -> None:
    assert end_notice_faults(["needs met"], date(2026, 9, 1), END, TODAY) == []
    assert end_notice_faults(["needs met"], END, END, TODAY) == []


def test_an_end_without_reasons_or_notice_is_refused() -> None:
    assert [f for f, _ in end_notice_faults([], None, END, TODAY)] == ["reasons", "notice_date"]
    assert [f for f, _ in end_notice_faults(["  "], date(2026, 9, 1), END, TODAY)] == ["reasons"]
    too_many = ["r"] * (REASONS_MAX + 1)
    assert [f for f, _ in end_notice_faults(too_many, date(2026, 9, 1), END, TODAY)] == ["reasons"]
    assert [f for f, _ in end_notice_faults(["x" * 201], date(2026, 9, 1), END, TODAY)] == [
        "reasons"
    ]


def test_a_notice_dated_in_the_future_is_refused() -> None:
    """A notice is one already given (found trying the stack: a notice dated a month ahead ended
    the budget at once); today's notice is fine."""
    ahead = date(2026, 10, 16)
    assert [f for f, _ in end_notice_faults(["needs met"], ahead, END, TODAY)] == ["notice_date"]
    assert end_notice_faults(["needs met"], TODAY, date(2026, 11, 1), TODAY) == []


def test_an_end_before_its_notice_is_refused() -> None:
    assert [f for f, _ in end_notice_faults(["needs met"], date(2026, 10, 1), END, TODAY)] == [
        "ended_on"
    ]


def test_a_budget_pays_for_the_days_before_its_end() -> None:
    assert last_day_paid_for(date(2026, 10, 1)) == date(2026, 9, 30)
    # 1 to 28 Sept paid for; an end on 22 Sept leaves 22 to 28 Sept (7 of 28 days) unspent.
    assert unspent_after_end(28_000, date(2026, 9, 1), 4, date(2026, 9, 22)) == 7_000
    # Paid for days wholly after the end: all of it comes back; wholly before: none.
    assert unspent_after_end(28_000, date(2026, 10, 1), 4, date(2026, 9, 22)) == 28_000
    assert unspent_after_end(28_000, date(2026, 8, 1), 4, date(2026, 9, 22)) == 0
    # Ends on the first day paid for: nothing of that instalment was for a live day.
    assert unspent_after_end(28_000, date(2026, 9, 1), 4, date(2026, 9, 1)) == 28_000


def test_who_repays_and_on_what_grounds_follows_why_the_budget_ended() -> None:
    assert end_reclaim_terms("PERSON_DIED") == ("DEATH", "ESTATE")
    assert end_reclaim_terms("CONSENT_WITHDRAWN") == ("CONSENT_WITHDRAWN", "PERSON")
    assert end_reclaim_terms("REQUESTED") == ("PLAN_CHANGED", "PERSON")
    assert end_reclaim_terms("SOMETHING_NEW") == ("PLAN_CHANGED", "PERSON")


def test_a_review_is_due_only_while_its_person_is_active_and_its_budget_live() -> None:
    assert review_is_due(person_active=True, budget_ended=False)
    assert not review_is_due(person_active=True, budget_ended=True)
    assert not review_is_due(person_active=False, budget_ended=False)


def test_a_payment_to_the_persons_direct_payment_account_is_a_direct_payment() -> None:
    """Issue 13, item 14: a one-off release there starts the direct-payment review."""
    assert is_direct_payment("DIRECT_PAYMENT_ACCOUNT")
    assert not is_direct_payment("PROVIDER")
    assert not is_direct_payment("THIRD_PARTY_ORGANISATION")
    assert not is_direct_payment("PERSONAL_ASSISTANT")
