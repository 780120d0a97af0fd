"""The last edges of allocation's pure rules that no other unit test pinned (docs/quality.md:
mutation testing of the domain): the exact fault of an end notice dated in the future, and a
source that pays or takes back exactly one penny when NHS money is drawn or given back."""

from __future__ import annotations

import uuid
from datetime import date

from onebudget.allocation.domain.funders import (
    ALLOCATION,
    RING_FENCE,
    NhsSource,
    draw_nhs,
    give_back_nhs,
)
from onebudget.allocation.domain.model import GENERAL_COHORT, end_notice_faults

TODAY = date(2026, 6, 1)
FENCE = NhsSource(uuid.UUID("00000000-0000-4000-8000-0000000000f2"), RING_FENCE, GENERAL_COHORT)
ALLOCATION_SOURCE = NhsSource(uuid.UUID("00000000-0000-4000-8000-0000000000f3"), ALLOCATION, None)


def test_an_end_notice_dated_after_today_is_faulted_exactly() -> None:
    """The notice is one already given (reg 13): dated tomorrow it is the only fault, even with
    an end date before it (the future date is named first, the end date is not checked)."""
    tomorrow = date(2026, 6, 2)
    expected = [("notice_date", "must not be in the future: the notice already given")]
    assert end_notice_faults(["moved away"], tomorrow, date(2026, 7, 1), TODAY) == expected
    assert end_notice_faults(["moved away"], tomorrow, TODAY, TODAY) == expected


def test_a_source_with_one_penny_left_pays_that_penny() -> None:
    assert draw_nhs(3, [(FENCE, 1), (ALLOCATION_SOURCE, 5)]) == [
        (FENCE, 1),
        (ALLOCATION_SOURCE, 2),
    ]
    assert draw_nhs(1, [(FENCE, 1), (ALLOCATION_SOURCE, 5)]) == [(FENCE, 1)]


def test_a_source_that_paid_one_penny_takes_that_penny_back() -> None:
    """The last source in the drawing order is refilled first, each up to what it paid."""
    assert give_back_nhs(3, [(FENCE, 5), (ALLOCATION_SOURCE, 1)]) == [
        (ALLOCATION_SOURCE, 1),
        (FENCE, 2),
    ]
    assert give_back_nhs(1, [(FENCE, 5), (ALLOCATION_SOURCE, 1)]) == [(ALLOCATION_SOURCE, 1)]
