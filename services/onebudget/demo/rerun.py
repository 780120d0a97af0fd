"""Running the demo again: the same world, or a clear word on what to do (issue 16).

Pure: no I/O. The demo's request ids are derived from the person's index (loader.request_id), so
a rerun is a retry of the same requests only if it asks the same things: the same people (their
count: the synthetic people depend on it only through the funders' sizes) and the same day (the
dates of decisions and the amounts paid so far depend on it). `demo_day` decides which day a
load is made as of, from what the stack's last load recorded; `in_seeded_order` and
`every_nth` are the demo's choices of refunds and reclaims, made in the people's seeded order
(synthetic.people), never in the order concurrent tasks happened to finish.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

T = TypeVar("T")
RETURNS_WANTED = 20  # about this many provider refunds in a demo year


@dataclass(frozen=True)
class DemoRecord:
    """What a stack's demo was loaded with: how many people, as of which day (England)."""

    people: int
    today: date


class DemoMismatch(Exception):
    """The demo asked for is not the one the stack holds; the message says what to do."""


def demo_day(recorded: DemoRecord | None, people: int, today: date, where: str) -> date:
    """The day to load the demo as of: `today` for a first load; the recorded day for a rerun of
    the same size, so every request is a retry answered as the first time (the same world, the
    same figures). A different size raises DemoMismatch naming the loaded size, `where` it is
    and the option that loads the new one (--fresh)."""
    if recorded is None:
        return today
    if recorded.people == people:
        return recorded.today
    raise DemoMismatch(
        f"the demo in {where} was loaded with {recorded.people} people on"
        f" {recorded.today.isoformat()}; run with --fresh to load {people}"
        f" (or with --people {recorded.people} to run the same demo again)"
    )


def in_seeded_order(by_person: Mapping[int, Sequence[T]]) -> list[T]:
    """Items gathered per person (by the person's index in the seeded synthetic order),
    flattened in that order whatever order they were gathered in."""
    return [item for index in sorted(by_person) for item in by_person[index]]


def every_nth(items: Sequence[T], wanted: int = RETURNS_WANTED) -> list[T]:
    """About `wanted` items spread evenly over `items` (every n-th, from the first)."""
    if wanted <= 0:
        return []
    return list(items[:: max(1, len(items) // wanted)])


# Why a budget ended (allocation's EndReason, without its prefix), as a rerun's note says it.
_ENDED_BECAUSE = {
    "PERSON_DIED": "ended by the person's death",
    "CONSENT_WITHDRAWN": "ended: the person withdrew consent",
    "REQUESTED": "ended on request",
}


@dataclass(frozen=True)
class EndedBudget:
    """A demo budget found ended when the demo ran (again): its id, the day it ended (England,
    YYYY-MM-DD, "" when unknown) and allocation's end reason (PERSON_DIED, CONSENT_WITHDRAWN,
    REQUESTED, or "" / UNSPECIFIED)."""

    budget_id: str
    ended_on: str
    reason: str


def ended_notes(ended: Sequence[EndedBudget], noted: Collection[str]) -> list[str]:
    """One line per ended budget not already in a note (`noted`: the notes so far), in the
    order given: a rerun answers every request as the first time, so a budget ended since (by
    a death, withdrawn consent or on request) is refused nothing and would pass unsaid."""
    lines = []
    for budget in ended:
        if any(budget.budget_id in note for note in noted):
            continue
        why = _ENDED_BECAUSE.get(budget.reason, "ended")
        on = f" on {budget.ended_on}" if budget.ended_on else ""
        lines.append(
            f"  budget {budget.budget_id}: {why}{on} since the demo loaded it;"
            " it is left as it is (nothing more is paid from it)"
        )
    return lines
