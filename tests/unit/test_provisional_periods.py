"""Unfinished periods are not results (issue 16): a quarter (or the whole year) whose last day
is today or later, in England, is provisional; the day after its end it is final."""

from __future__ import annotations

from datetime import date

import pytest

from onebudget.reporting.domain.periods import WHOLE_YEAR, is_provisional

TODAY = date(2026, 11, 29)  # in Q3 of 2026-27


@pytest.mark.parametrize(
    ("year", "quarter", "provisional"),
    [
        (2026, 1, False),
        (2026, 2, False),
        (2026, 3, True),
        (2026, 4, True),
        (2026, WHOLE_YEAR, True),
        (2025, 4, False),
        (2025, WHOLE_YEAR, False),
        (2027, 1, True),
    ],
)
def test_on_29_november(year: int, quarter: int, provisional: bool) -> None:
    assert is_provisional(year, quarter, TODAY) is provisional


@pytest.mark.parametrize(
    ("quarter", "last_day"),
    [(1, date(2026, 6, 30)), (3, date(2026, 12, 31)), (4, date(2027, 3, 31))],
)
def test_a_quarter_is_provisional_through_its_last_day_and_final_after(
    quarter: int, last_day: date
) -> None:
    assert is_provisional(2026, quarter, last_day)
    assert not is_provisional(2026, quarter, date.fromordinal(last_day.toordinal() + 1))
