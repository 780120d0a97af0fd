"""Calendar arithmetic the rules need: ISO dates, whole-year ages, calendar months."""

from __future__ import annotations

import calendar
from datetime import date


def parse_iso_date(value: str) -> date | None:
    """`YYYY-MM-DD` exactly (no times, no other shapes), or None."""
    if len(value) != len("YYYY-MM-DD"):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def format_date(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def age_on(date_of_birth: date, on: date) -> int:
    """Age in whole years on a date (a 29 February birthday counts from 1 March)."""
    assert on >= date_of_birth, "age is undefined before birth"
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)


def add_months(start: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb).

    Clamping keeps every "within N months" date inside the calendar month N later, so a due date
    is never later than the rule allows.
    """
    assert months >= 0
    index = start.month - 1 + months
    year = start.year + index // 12
    month = index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)
