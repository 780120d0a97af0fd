"""The one clock: every instant and every calendar date a service decides with comes from here.

OneBudget's dates are England's calendar dates (Europe/London: GMT in winter, BST from the last
Sunday of March to the last Sunday of October), because budgets, financial years (1 April to
31 March), deaths and notices are dated by England's calendar (design.md, "One clock"). Instants
(event `occurred_at`, row times) are aware UTC datetimes. So at 2027-03-31T23:30Z it is already
1 April 2027 in England (00:30 BST) and financial year 2027 has begun, while at
2026-12-31T23:30Z (GMT) it is still 31 December.

Services take a `Clock` (their app wiring passes `SYSTEM_CLOCK`); tests pass a `FixedClock`.
Nothing else in `services/onebudget` may call `date.today()`, `datetime.now()` or build a
ZoneInfo: tests/unit/test_clock.py greps for them.
"""

from __future__ import annotations

import abc
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ENGLAND = ZoneInfo("Europe/London")


def england_date(instant: datetime) -> date:
    """England's calendar date at an aware instant (Europe/London, BST or GMT as it applies)."""
    assert instant.tzinfo is not None, "a naive datetime has no instant: give it a timezone"
    return instant.astimezone(ENGLAND).date()


class Clock(abc.ABC):
    """Now as an aware UTC instant, and today as England's calendar date at that instant."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The current instant, an aware datetime in UTC."""

    def today(self) -> date:
        """England's calendar date now (Europe/London), never the UTC day."""
        return england_date(self.now())


class SystemClock(Clock):
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    """A clock that stands still until it is set or advanced (tests, replays)."""

    def __init__(self, at: datetime) -> None:
        self._at = _utc(at)

    @classmethod
    def on(cls, day: date) -> FixedClock:
        """Noon in England on `day`: the middle of the day, far from either midnight."""
        return cls(datetime.combine(day, time(12), tzinfo=ENGLAND))

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _utc(at)

    def advance(self, by: timedelta) -> None:
        self._at += by


def _utc(at: datetime) -> datetime:
    assert at.tzinfo is not None, "a clock is set to an instant: give the datetime a timezone"
    return at.astimezone(UTC)


SYSTEM_CLOCK: Clock = SystemClock()
