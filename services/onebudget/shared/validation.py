"""Parsing request fields into values, collecting every bad field as a violation (one answer
lists them all). Shared by every service so the same field fails the same way everywhere."""

from __future__ import annotations

import re
import uuid
from datetime import date

from onebudget.shared.errors import Violations
from onebudget.shared.money import PENCE_MAX, PENCE_MIN, pence_in_bounds

NIL_UUID = uuid.UUID(int=0)


def parse_uuid(
    value: str, field: str, violations: Violations, *, required: bool = True
) -> uuid.UUID | None:
    """The UUID; None when empty (a violation if `required`) or malformed (a violation)."""
    if not value:
        if required:
            violations.add(field, "required: a UUID")
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        violations.add(field, "must be a UUID")
        return None


def require_uuid(value: str, field: str, violations: Violations) -> uuid.UUID:
    """A required UUID. On a violation it returns NIL_UUID, which the caller never uses: it
    raises the collected violations before touching any value."""
    parsed = parse_uuid(value, field, violations)
    return NIL_UUID if parsed is None else parsed


# Every date any API takes lies in this range, set once: a date of birth of a living person at
# the earliest, the last day the ledger's financial years reach at the latest. Outside it a date
# is a typing error, and 0001-01-01 is worse: asyncpg stores date.min as -infinity, which once
# let a schedule pay 5,353 back-dated instalments (issue 15).
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2099, 12, 31)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(
    value: str, field: str, violations: Violations, *, required: bool = False
) -> date | None:
    """An ISO calendar date YYYY-MM-DD from DATE_MIN to DATE_MAX; None when empty (a violation
    if `required`), malformed or out of range (a violation)."""
    if not value:
        if required:
            violations.add(field, "required: a date YYYY-MM-DD")
        return None
    # Exactly YYYY-MM-DD in ASCII digits: Python 3.11 also takes "20261126", week dates such as
    # "2026-W48-3" and other digits, and calls each a date.
    if not _ISO_DATE.fullmatch(value) or not value.isascii():
        violations.add(field, "must be a date YYYY-MM-DD")
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        violations.add(field, "must be a date YYYY-MM-DD")
        return None
    if not DATE_MIN <= parsed <= DATE_MAX:
        violations.add(field, f"must be from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}")
        return None
    return parsed


def check_pence(
    value: int, field: str, violations: Violations, *, low: int = PENCE_MIN, high: int = PENCE_MAX
) -> None:
    """The one check of every amount field of every API: whole pence from `low` (0 or 1) to
    `high` (at most PENCE_MAX, £10bn, the ledger's AMOUNT_MAX), else a BadRequest violation
    on `field` (INVALID_ARGUMENT when raised)."""
    if not pence_in_bounds(value, low=low, high=high):
        violations.add(field, f"whole pence from {low} to {high}")
