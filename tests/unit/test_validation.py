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


@pytest.mark.parametrize("text", ["20261126", "2026-11-26T00:00", "2026-13-01", "26-11-2026"])
def test_dates_are_exactly_iso(text: str) -> None:
    v = Violations()
    assert parse_date(text, "on", v) is None
    assert v


def test_empty_date_is_none_unless_required() -> None:
    optional, required = Violations(), Violations()
    assert parse_date("", "on", optional) is None
    assert not optional
    assert parse_date("", "on", required, required=True) is None
    assert required
    assert parse_date("2026-11-26", "on", Violations()) == date(2026, 11, 26)
