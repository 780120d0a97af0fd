"""Which decision holds: the one rule every service uses for eligibility and PHB decisions.

A person's eligibility in a category (and their PHB in a category) is whatever the *latest*
decision says: the one with the latest `decided_on` (England's calendar date), and between
decisions of the same day the one recorded later. A decision recorded today but dated before a
refusal does not undo the refusal (a grant dated 1 April recorded after a refusal dated 1 May:
the refusal holds). Source: shared/domain.md ("Who has a right to a PHB": a commissioner decides,
and may reconsider, a decision; the latest decision in time is the one in force); docs/adr/0010.

Entitlement decides with it over its stored decisions (`seq` is the recording order);
allocation and payment fold entitlement's events with it (the person's event version is the
recording order), so the three agree whatever order the events are delivered in: `latest` is a
maximum, and a maximum does not depend on the order it is taken in.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Decision:
    """One decision: granted or refused, its date, and where it came in the recording order.

    `recorded` grows with recording order (entitlement's row sequence, or the person's event
    version); 0 means "not known", and then the decision seen later counts as recorded later."""

    granted: bool
    decided_on: date
    recorded: int = 0


def holds_over(new: Decision, held: Decision | None) -> bool:
    """Whether `new` takes the place of `held` (the decision holding so far).

    A later `decided_on` wins; on the same date the later-recorded wins; when the recording
    order is unknown on either side (0) or equal, `new`, seen later, wins."""
    if held is None:
        return True
    if new.decided_on < held.decided_on:
        return False
    if new.decided_on > held.decided_on:
        return True
    if new.recorded and held.recorded:
        return new.recorded >= held.recorded
    return True


def latest(decisions: Iterable[Decision]) -> Decision | None:
    """The decision that holds among `decisions` given in recording order (None if none)."""
    held: Decision | None = None
    for decision in decisions:
        if holds_over(decision, held):
            held = decision
    return held


def stands(decisions: Iterable[Decision]) -> bool:
    """Whether the decision that holds is a grant (no decision: nothing is granted)."""
    held = latest(decisions)
    return held is not None and held.granted
