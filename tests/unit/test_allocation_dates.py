"""Allocation's date rule (allocation/domain/model.py `budget_date_refusal`): an agreement, a
revision notice and an end fall from 1 April of the year before the budget's financial year
(planning ahead) to the budget's end date. England's dates."""

from __future__ import annotations

from datetime import date

import pytest

from onebudget.allocation.domain import errors
from onebudget.allocation.domain.model import budget_date_refusal, budget_dates_window
from onebudget.shared.errors import FailedPrecondition

D = date.fromisoformat
END = D("2027-03-31")


def test_the_window_runs_from_a_year_ahead_to_the_budgets_end() -> None:
    assert budget_dates_window(2026, END) == (D("2025-04-01"), END)
    assert budget_dates_window(2026, D("2026-09-30")) == (D("2025-04-01"), D("2026-09-30"))
    assert budget_dates_window(2013, D("2014-03-31")) == (D("2012-04-01"), D("2014-03-31"))


@pytest.mark.parametrize(
    ("field", "day", "refused"),
    [
        ("agreed_on", "2031-05-01", True),  # the reproduction: a 2031 agreement, 2026 budget
        ("agreed_on", "2027-04-01", True),
        ("agreed_on", "2027-03-31", False),
        ("agreed_on", "2026-03-15", False),  # agreed ahead of its year
        ("agreed_on", "2025-04-01", False),
        ("agreed_on", "2025-03-31", True),
        ("notice_date", "2019-06-01", True),  # the reproductions: notices in 2019 and 2099
        ("notice_date", "2099-12-31", True),
        ("notice_date", "2026-11-01", False),
        ("ended_on", "2027-06-01", True),
        ("ended_on", "2026-12-01", False),
    ],
)
def test_a_budget_date_falls_inside_its_window(field: str, day: str, refused: bool) -> None:
    got = budget_date_refusal(field, D(day), year=2026, end_date=END)
    assert (got is not None) == refused
    if got is not None:
        assert isinstance(got, FailedPrecondition)
        assert got.reason == errors.DATE_OUTSIDE_BUDGET_PERIOD
        assert got.metadata == {
            "field": field,
            "date": day,
            "earliest": "2025-04-01",
            "latest": "2027-03-31",
        }


def test_a_shorter_budget_ends_its_window_at_its_own_end() -> None:
    assert budget_date_refusal("agreed_on", D("2026-10-01"), year=2026, end_date=D("2026-09-30"))
