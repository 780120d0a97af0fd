"""Allocation's rules of how a budget's money is held (allocation/domain/model.py): a plan
line's payee kind agrees with its management option (`payee_kind_fits_option`, Standing Rules
reg 32B(2)); an agreement, a revision notice and an end fall from 1 April of the year before the
budget's financial year (planning ahead) to the budget's end date (`budget_date_refusal`).
England's dates."""

from __future__ import annotations

from datetime import date

import pytest

from onebudget.allocation.domain import errors
from onebudget.allocation.domain.model import (
    budget_date_refusal,
    budget_dates_window,
    payee_kind_fits_option,
)
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


@pytest.mark.parametrize(
    ("option", "kind", "fits"),
    [
        ("DIRECT_PAYMENT", "PERSON", True),
        ("DIRECT_PAYMENT", "NOMINEE", True),
        ("DIRECT_PAYMENT", "PROVIDER", False),
        ("DIRECT_PAYMENT", "PERSONAL_ASSISTANT", False),
        ("DIRECT_PAYMENT", "THIRD_PARTY_ORGANISATION", False),
        ("NOTIONAL", "PROVIDER", True),
        ("NOTIONAL", "FAMILY_MEMBER", True),
        ("NOTIONAL", "PERSON", False),
        ("THIRD_PARTY", "THIRD_PARTY_ORGANISATION", True),
        ("THIRD_PARTY", "NOMINEE", False),
        ("DIRECT_PAYMENT", "", True),  # a named payee only: payment checks the payee it names
    ],
)
def test_a_lines_payee_kind_agrees_with_how_its_money_is_held(
    option: str, kind: str, fits: bool
) -> None:
    assert payee_kind_fits_option(option, kind) is fits


def test_a_budget_cannot_end_before_it_starts() -> None:
    """Found trying the stack: a 2026 budget that started on 22 April was ended on 1 March 2026
    (inside the planning window, before the budget began); an end is not before the start."""
    start = D("2026-04-22")
    early = budget_date_refusal(
        "ended_on", D("2026-03-01"), year=2026, end_date=END, start_date=start
    )
    assert early is not None
    assert early.metadata["earliest"] == "2026-04-22"
    assert budget_date_refusal("ended_on", start, year=2026, end_date=END, start_date=start) is None
    # Without a start (agreements, notices) the planning window still holds.
    assert budget_date_refusal("agreed_on", D("2026-03-01"), year=2026, end_date=END) is None
