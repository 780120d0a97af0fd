"""Checks of request fields; every fault of a request is reported at once (BadRequest)."""

from __future__ import annotations

from onebudget.reporting.domain import periods
from onebudget.shared.errors import Violations
from onebudget.shared.identifiers import is_valid_gss_council_code, is_valid_ods_code


def check_ods(code: str, v: Violations, field: str = "commissioner_ods_code") -> None:
    v.check(is_valid_ods_code(code), field, "an ODS code: 3 or 5 upper-case letters/digits")


def check_gss(code: str, v: Violations, field: str = "council_gss_code") -> None:
    v.check(
        is_valid_gss_council_code(code),
        field,
        "a social-services council GSS code: E06, E08, E09 or E10 and 6 digits",
    )


def check_year(year: int, v: Violations, field: str = "financial_year") -> None:
    v.check(
        periods.is_financial_year(year),
        field,
        f"a financial year named by its starting year, {periods.FINANCIAL_YEAR_MIN}"
        f"..{periods.FINANCIAL_YEAR_MAX} (2026 is 2026-04-01..2027-03-31)",
    )


def check_quarter(quarter: int, v: Violations, *, whole_year_allowed: bool = True) -> None:
    if whole_year_allowed:
        v.check(
            periods.is_quarter_or_whole_year(quarter), "quarter", "1 to 4, or 0 for the whole year"
        )
    else:
        v.check(quarter in periods.QUARTERS, "quarter", "1 to 4")
