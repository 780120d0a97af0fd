"""The one clock: England's calendar date at the GMT/BST boundaries, and no other clock anywhere
in the services (issue 12, "more than one clock")."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onebudget.shared.clock import ENGLAND, SYSTEM_CLOCK, FixedClock, england_date

SERVICES = Path(__file__).resolve().parents[2] / "services" / "onebudget"
THE_CLOCK = SERVICES / "shared" / "clock.py"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "england"),
    [
        # BST starts at 01:00Z on the last Sunday of March (2027-03-28): 00:30Z is still GMT.
        ("2027-03-27T23:30:00", "2027-03-27"),
        ("2027-03-28T00:30:00", "2027-03-28"),
        ("2027-03-28T23:30:00", "2027-03-29"),  # 00:30 BST the next day
        # The financial year turns at midnight in England: 23:30Z on 31 March is 1 April (BST).
        ("2027-03-31T22:59:59", "2027-03-31"),
        ("2027-03-31T23:00:00", "2027-04-01"),
        ("2027-03-31T23:30:00", "2027-04-01"),
        ("2026-03-31T23:30:00", "2026-04-01"),
        # BST ends at 01:00Z on the last Sunday of October (2026-10-25).
        ("2026-10-24T23:30:00", "2026-10-25"),  # 00:30 BST
        ("2026-10-25T23:30:00", "2026-10-25"),  # 23:30 GMT
        # 29 February 2028 (a leap year, GMT): the day runs midnight to midnight UTC.
        ("2028-02-28T23:59:59", "2028-02-28"),
        ("2028-02-29T00:00:00", "2028-02-29"),
        ("2028-02-29T23:30:00", "2028-02-29"),
        ("2028-03-01T00:00:00", "2028-03-01"),
        # GMT in winter: 23:30Z on 31 December is still 31 December, not the new year.
        ("2026-12-31T23:30:00", "2026-12-31"),
        ("2027-01-01T00:00:00", "2027-01-01"),
    ],
)
def test_today_is_englands_date(instant: str, england: str) -> None:
    clock = FixedClock(_utc(instant))
    assert clock.today() == date.fromisoformat(england)
    assert clock.now() == _utc(instant)
    assert clock.now().tzinfo is UTC


def test_a_fixed_clock_is_set_and_advanced_in_instants() -> None:
    clock = FixedClock(_utc("2027-03-31T22:30:00"))
    assert clock.today() == date(2027, 3, 31)
    clock.advance(timedelta(hours=1))
    assert clock.today() == date(2027, 4, 1)
    clock.set(datetime(2026, 12, 31, 23, 30, tzinfo=ENGLAND))
    assert clock.now() == _utc("2026-12-31T23:30:00")
    assert clock.today() == date(2026, 12, 31)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_on_a_day_is_that_day_in_england(day: date) -> None:
    assert FixedClock.on(day).today() == day


def test_the_system_clock_is_aware_utc_and_englands_date() -> None:
    now = SYSTEM_CLOCK.now()
    assert now.tzinfo is UTC
    assert SYSTEM_CLOCK.today() in {england_date(now), england_date(SYSTEM_CLOCK.now())}


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(AssertionError):
        FixedClock(datetime(2027, 3, 31, 23, 30))
    with pytest.raises(AssertionError):
        england_date(datetime(2027, 3, 31, 23, 30))


# Any way of reading the machine's clock or naming a timezone, outside the one clock.
_OTHER_CLOCKS = re.compile(
    r"\bdate\.today\b"
    r"|datetime\.(?:now|utcnow|today)\("
    r"|\.now\((?:UTC|tz|timezone|_ENGLAND|ZoneInfo)"
    r"|ZoneInfo\("
    r"|time\.time\(\)"
    r"|\blocaltime\("
)


def _other_clocks(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == THE_CLOCK or path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _OTHER_CLOCKS.search(line):
                found.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    return found


def test_no_clock_but_the_one_clock() -> None:
    """Every date and instant a service decides with comes from onebudget.shared.clock."""
    assert _other_clocks(SERVICES) == []


def test_the_grep_finds_each_kind_of_other_clock(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(
        "a = date.today()\n"
        "def f(today=date.today): ...\n"
        "b = datetime.now(UTC).date()\n"
        "c = datetime.now()\n"
        "d = ZoneInfo('Europe/London')\n"
        "e = datetime.utcnow()\n"
        "f = time.time()\n"
        "ok = clock.today()\n"
    )
    assert len(_other_clocks(tmp_path / "pkg")) == 7
