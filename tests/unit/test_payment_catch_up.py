"""The catch-up limit (issue 15, item 5): one scheduler run pays at most `catch_up_max`
back-dated instalments of a schedule; an instalment due today is always paid; the held ones are
counted for the operator (domain/schedules.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onebudget.payment.domain.schedules import (
    CATCH_UP_MAX_DEFAULT,
    backdated_unpaid,
    due_date,
    is_backdated,
    may_pay_now,
)

TODAY = date(2026, 11, 29)


def test_an_instalment_due_today_or_later_is_always_paid() -> None:
    assert may_pay_now(TODAY, TODAY, backdated_paid_this_run=10**6, catch_up_max=1)
    assert may_pay_now(TODAY + timedelta(days=1), TODAY, 5, 5)


def test_a_run_pays_back_dated_instalments_up_to_the_limit_only() -> None:
    yesterday = TODAY - timedelta(days=1)
    assert is_backdated(yesterday, TODAY)
    assert not is_backdated(TODAY, TODAY)
    assert [may_pay_now(yesterday, TODAY, n, 3) for n in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert may_pay_now(date(1900, 1, 1), TODAY, CATCH_UP_MAX_DEFAULT - 1, CATCH_UP_MAX_DEFAULT)
    assert not may_pay_now(date(1900, 1, 1), TODAY, CATCH_UP_MAX_DEFAULT, CATCH_UP_MAX_DEFAULT)


@pytest.mark.parametrize(
    ("start", "every_weeks", "next_no", "end", "held"),
    [
        (TODAY, 1, 1, None, 0),  # due today: not back-dated
        (TODAY - timedelta(days=1), 1, 1, None, 1),
        (TODAY - timedelta(weeks=30), 1, 1, None, 30),  # 31 due, today's is not back-dated
        (TODAY - timedelta(weeks=30), 1, 11, None, 20),
        (TODAY - timedelta(weeks=30), 4, 1, None, 8),  # weeks 0, 4, ..., 28
        (TODAY - timedelta(weeks=30), 1, 1, TODAY - timedelta(weeks=25), 6),  # ended
        (TODAY - timedelta(weeks=30), 1, 31, None, 0),  # caught up
        (date(1900, 1, 1), 1, 1, None, 6_622),
    ],
)
def test_back_dated_instalments_not_yet_paid_are_counted(
    start: date, every_weeks: int, next_no: int, end: date | None, held: int
) -> None:
    assert backdated_unpaid(start, every_weeks, next_no, end, TODAY) == held


@given(
    days_back=st.integers(0, 3_000),
    every_weeks=st.integers(1, 52),
    next_no=st.integers(1, 400),
)
def test_the_count_is_the_back_dated_due_dates(
    days_back: int, every_weeks: int, next_no: int
) -> None:
    start = TODAY - timedelta(days=days_back)
    expected = 0
    n = next_no
    while due_date(start, every_weeks, n) < TODAY:
        expected += 1
        n += 1
    assert backdated_unpaid(start, every_weeks, next_no, None, TODAY) == expected


@given(backlog=st.integers(0, 400), limit=st.integers(1, 40), every_weeks=st.integers(1, 8))
def test_runs_catch_up_a_backlog_at_most_limit_a_run(
    backlog: int, limit: int, every_weeks: int
) -> None:
    """A schedule `backlog` instalments behind, run after run as the scheduler loops: each run
    pays at most `limit` back-dated ones, today's comes with the run that catches up, nothing
    is paid twice or skipped, and the flag counts exactly what is left."""
    start = TODAY - timedelta(weeks=every_weeks * backlog)
    next_no, runs = 1, 0
    while due_date(start, every_weeks, next_no) <= TODAY:
        runs += 1
        paid_backdated = 0
        while due_date(start, every_weeks, next_no) <= TODAY:
            due = due_date(start, every_weeks, next_no)
            if not may_pay_now(due, TODAY, paid_backdated, limit):
                break
            paid_backdated += is_backdated(due, TODAY)
            next_no += 1
        assert paid_backdated <= limit
        left = backdated_unpaid(start, every_weeks, next_no, None, TODAY)
        assert left == max(0, backlog - runs * limit)
    assert next_no == backlog + 2  # every back-dated instalment and today's, once each
    assert runs == max(1, -(-backlog // limit))
