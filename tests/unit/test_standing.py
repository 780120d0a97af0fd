"""The one rule of which eligibility or PHB decision holds (shared/standing.py, docs/adr/0010):
the latest `decided_on` (England's dates), ties by recording order; entitlement, allocation and
payment all decide with it, so they cannot disagree about a person (issue 13 item 4)."""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from onebudget.shared.standing import Decision, holds_over, latest, stands

D = date.fromisoformat


def test_a_grant_dated_before_a_refusal_and_recorded_after_it_does_not_hold() -> None:
    """The issue's reproduction: refused 1 May, then a grant dated 1 April recorded second."""
    refusal = Decision(False, D("2026-05-01"), recorded=1)
    grant = Decision(True, D("2026-04-01"), recorded=2)
    assert latest([refusal, grant]) == refusal
    assert not stands([refusal, grant])
    assert not holds_over(grant, refusal)


def test_a_refusal_dated_before_a_grant_and_recorded_after_it_does_not_undo_it() -> None:
    grant = Decision(True, D("2026-06-01"), recorded=3)
    refusal = Decision(False, D("2026-02-01"), recorded=7)
    assert stands([grant, refusal])
    assert holds_over(grant, refusal)


def test_a_later_dated_decision_holds_whatever_its_recording_order() -> None:
    early = Decision(True, D("2026-04-01"), recorded=9)
    later = Decision(False, D("2026-04-02"), recorded=1)
    assert holds_over(later, early)
    assert not holds_over(early, later)


def test_on_one_date_the_later_recorded_holds_and_unknown_order_means_seen_later() -> None:
    first = Decision(True, D("2026-05-01"), recorded=4)
    second = Decision(False, D("2026-05-01"), recorded=5)
    assert holds_over(second, first)
    assert not holds_over(first, second)
    # Recording order unknown (0) on either side: the decision seen later counts as later.
    assert holds_over(Decision(True, D("2026-05-01")), second)
    assert holds_over(
        Decision(False, D("2026-05-01"), recorded=2), Decision(True, first.decided_on)
    )
    # Equal recording order (a replay of the same decision) changes nothing that matters.
    assert holds_over(first, first)


def test_nothing_decided_grants_nothing() -> None:
    assert latest([]) is None
    assert not stands([])
    assert holds_over(Decision(False, D("2026-05-01")), None)


_decisions = st.lists(
    st.tuples(st.booleans(), st.dates(date(2025, 1, 1), date(2025, 1, 5))), max_size=6
)


@given(_decisions)
def test_any_delivery_order_folds_to_the_latest_by_date_then_recording(
    made: list[tuple[bool, date]],
) -> None:
    """A consumer may see decisions in any order (redelivery): folding with `holds_over` from
    any order gives the decision with the greatest (decided_on, recorded)."""
    decisions = [Decision(g, d, recorded=i + 1) for i, (g, d) in enumerate(made)]
    expected = max(decisions, key=lambda x: (x.decided_on, x.recorded)) if decisions else None
    for order in itertools.islice(itertools.permutations(decisions), 24):
        assert latest(order) == expected
