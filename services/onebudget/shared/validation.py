"""Parsing request fields into values, collecting every bad field as a violation (one answer
lists them all). Shared by every service so the same field fails the same way everywhere."""

from __future__ import annotations

import uuid
from datetime import date

from onebudget.shared.errors import Violations
from onebudget.shared.money import PENCE_MAX, pence_in_bounds

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


def parse_date(
    value: str, field: str, violations: Violations, *, required: bool = False
) -> date | None:
    """An ISO date YYYY-MM-DD; None when empty (a violation if `required`) or malformed."""
    if not value:
        if required:
            violations.add(field, "required: a date YYYY-MM-DD")
        return None
    try:
        # Exactly YYYY-MM-DD: Python 3.11 would also take "20261126" and call it a date.
        if len(value) != len("YYYY-MM-DD"):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        violations.add(field, "must be a date YYYY-MM-DD")
        return None


def check_pence(
    value: int, field: str, violations: Violations, *, low: int = 1, high: int = PENCE_MAX
) -> None:
    """The one check of every amount field of every API: whole pence from `low` (0 or 1) to
    `high` (at most PENCE_MAX, £10bn, the ledger's AMOUNT_MAX), else a BadRequest violation
    on `field` (INVALID_ARGUMENT when raised)."""
    if not pence_in_bounds(value, low=low, high=high):
        violations.add(field, f"whole pence from {low} to {high}")
