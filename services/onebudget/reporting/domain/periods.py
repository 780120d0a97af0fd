"""Financial years and quarters (pure).

A financial year is named by its starting year: 2026 is 2026-04-01 .. 2027-03-31. Quarters are
Q1 Apr-Jun, Q2 Jul-Sep, Q3 Oct-Dec, Q4 Jan-Mar (of the following calendar year). Quarter 0 means
the whole year.
"""

from __future__ import annotations

from datetime import date, timedelta

# CCGs began in April 2013; the ledger stores years up to 2100, so 2099 is the last whole one.
FINANCIAL_YEAR_MIN = 2013
FINANCIAL_YEAR_MAX = 2099
QUARTERS = (1, 2, 3, 4)
WHOLE_YEAR = 0
# First month of each quarter, as (month, years after the financial year's start year).
_QUARTER_START = {1: (4, 0), 2: (7, 0), 3: (10, 0), 4: (1, 1)}


def is_financial_year(year: int) -> bool:
    return FINANCIAL_YEAR_MIN <= year <= FINANCIAL_YEAR_MAX


def is_quarter_or_whole_year(quarter: int) -> bool:
    return quarter == WHOLE_YEAR or quarter in QUARTERS


def year_start(year: int) -> date:
    assert is_financial_year(year)
    return date(year, 4, 1)


def year_end(year: int) -> date:
    assert is_financial_year(year)
    return date(year + 1, 3, 31)


def quarter_start(year: int, quarter: int) -> date:
    assert quarter in QUARTERS
    month, offset = _QUARTER_START[quarter]
    return date(year + offset, month, 1)


def quarter_end(year: int, quarter: int) -> date:
    """The quarter's last day; quarter 0 (whole year) ends on 31 March."""
    if quarter == WHOLE_YEAR:
        return year_end(year)
    if quarter == 4:
        return year_end(year)
    return quarter_start(year, quarter + 1) - timedelta(days=1)


def cutoffs(year: int) -> tuple[date, ...]:
    """The only days a figure of financial `year` is cut at: each quarter's end (Q4's is the
    year's end; a figure of the whole year takes everything). Money dated between two of them
    may be summed ahead of a report without changing any figure (read_model.payments_by_period)."""
    return tuple(quarter_end(year, quarter) for quarter in QUARTERS)


def financial_year_of(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def quarter_of(day: date) -> int:
    """1-4: the quarter of its financial year that `day` falls in."""
    return {4: 1, 5: 1, 6: 1, 7: 2, 8: 2, 9: 2, 10: 3, 11: 3, 12: 3}.get(day.month, 4)


def is_provisional(year: int, quarter: int, today: date) -> bool:
    """Whether the period (quarter 1-4, or 0: the whole year) of financial `year` has not ended
    on `today` (England's date, from the one clock): its last day is today or later, so its
    figures are to date, not the period's result. The national PHB collection reports each
    quarter after it ends (DAPB2184, quarterly, year to date at the quarter's end: domain.md,
    "Reporting"); a quarter's target is judged on its figures at its end."""
    return today <= quarter_end(year, quarter)


def label(year: int) -> str:
    """2026 -> "2026-27" (as the national collections name a year)."""
    return f"{year}-{(year + 1) % 100:02d}"
