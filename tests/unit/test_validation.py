"""Request fields parse the same way in every service."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from onebudget.shared.errors import InvalidArgument, Violations
from onebudget.shared.validation import NIL_UUID, parse_date, parse_uuid, require_uuid


def test_uuid_fields() -> None:
    v = Violations()
    good = uuid.uuid4()
    assert parse_uuid(str(good), "a", v) == good
    assert parse_uuid("", "b", v, required=False) is None
    assert parse_uuid("", "c", v) is None
    assert require_uuid("nope", "d", v) == NIL_UUID
    with pytest.raises(InvalidArgument) as caught:
        v.raise_if_any()
    violations = {x.field: x.description for x in caught.value.violations}
    assert violations == {"c": "required: a UUID", "d": "must be a UUID"}


@pytest.mark.parametrize(
    "text",
    [
        "20261126",
        "2026-11-26T00:00",
        "2026-13-01",
        "26-11-2026",
        "2026-W48-3",  # an ISO week date: Python 3.11 took it for 2026-11-25
        "2026-W48",
        "2026-330",  # an ordinal date
        "2026-02-29",  # not a leap year
        "\u0662\u0660\u0662\u0666-11-26",  # Arabic-Indic digits
        " 2026-11-26",
        "2026-11-26\x00",
    ],
)
def test_dates_are_exactly_iso(text: str) -> None:
    v = Violations()
    assert parse_date(text, "on", v) is None
    assert v


@pytest.mark.parametrize("text", ["0001-01-01", "1899-12-31", "2100-01-01", "9999-12-31"])
def test_dates_outside_the_sane_range_are_refused(text: str) -> None:
    """0001-01-01 reached PostgreSQL as -infinity through asyncpg and a schedule dated so paid
    5,353 back-dated instalments (issue 15): no date outside 1900-2099 passes the edge."""
    v = Violations()
    assert parse_date(text, "on", v) is None
    with pytest.raises(InvalidArgument) as caught:
        v.raise_if_any()
    assert caught.value.violations[0].description == "must be from 1900-01-01 to 2099-12-31"


def test_the_ends_of_the_range_and_a_leap_day_are_dates() -> None:
    v = Violations()
    assert parse_date("1900-01-01", "on", v) == date(1900, 1, 1)
    assert parse_date("2099-12-31", "on", v) == date(2099, 12, 31)
    assert parse_date("2028-02-29", "on", v) == date(2028, 2, 29)
    assert not v


def test_empty_date_is_none_unless_required() -> None:
    optional, required = Violations(), Violations()
    assert parse_date("", "on", optional) is None
    assert not optional
    assert parse_date("", "on", required, required=True) is None
    assert required
    assert parse_date("2026-11-26", "on", Violations()) == date(2026, 11, 26)
