"""Property: whatever the start and the completed reviews, no review is ever due later than the
rules allow (3 or 6 months after a direct payment starts, 8 weeks after a plan is agreed, then
12 months after the last completed review), and never before the last one."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from onebudget.entitlement.domain.reviews import ReviewKind, next_review

STARTS = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))
# 92 days is the longest any 3 calendar months can be, 184 for 6, 366 for 12.
LONGEST_DAYS = {3: 92, 6: 184, 12: 366}


def _first_limit_days(kind: ReviewKind, nhs_funded: bool) -> int:
    if kind is ReviewKind.CARE_PLAN:
        return 8 * 7
    return LONGEST_DAYS[3] if nhs_funded else LONGEST_DAYS[6]


@given(
    kind=st.sampled_from(list(ReviewKind)),
    nhs_funded=st.booleans(),
    start=STARTS,
    offsets=st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
)
def test_no_review_is_due_later_than_the_rules_allow(
    kind: ReviewKind, nhs_funded: bool, start: date, offsets: list[int]
) -> None:
    completed = [start + timedelta(days=d) for d in offsets]
    schedule = next_review(kind, start, nhs_funded=nhs_funded, completed=completed)
    if schedule.last_completed_on is None:
        assert start < schedule.due_on <= start + timedelta(_first_limit_days(kind, nhs_funded))
        return
    assert schedule.last_completed_on in completed
    assert schedule.last_completed_on == max(
        d for d in completed if d >= schedule.last_completed_on
    )
    assert schedule.last_completed_on < schedule.due_on
    assert schedule.due_on <= schedule.last_completed_on + timedelta(LONGEST_DAYS[12])


@given(
    kind=st.sampled_from(list(ReviewKind)),
    nhs_funded=st.booleans(),
    start=STARTS,
    lateness=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=6),
)
def test_reviewing_on_or_before_each_due_date_keeps_every_gap_within_the_rules(
    kind: ReviewKind, nhs_funded: bool, start: date, lateness: list[int]
) -> None:
    """Walk a timeline: each review is done some days before it is due (never after)."""
    completed: list[date] = []
    previous = start
    limit = _first_limit_days(kind, nhs_funded)
    for early in lateness:
        schedule = next_review(kind, start, nhs_funded=nhs_funded, completed=completed)
        assert schedule.due_on - previous <= timedelta(limit)
        done = max(schedule.window_opens_on, schedule.due_on - timedelta(early))
        completed.append(done)
        previous = done
        limit = LONGEST_DAYS[12]
