"""`next_parts`: the parts of the next amount of a fixed whole (ADR 7), exact over its life."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from onebudget.shared.money import (
    MoneyError,
    next_parts,
    split_by_basis_points,
    split_largest_remainder,
)


@st.composite
def wholes_and_steps(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """A whole (1-4 parts, pence) and a sequence of positive amounts that spend it all."""
    whole = draw(st.lists(st.integers(0, 20_000), min_size=1, max_size=4).filter(lambda w: sum(w)))
    total = sum(whole)
    steps: list[int] = []
    spent = 0
    while spent < total:
        step = draw(
            st.integers(1, max(1, min(total - spent, draw(st.sampled_from([1, 7, 5_000])))))
        )
        steps.append(step)
        spent += step
    return whole, steps


def test_the_issues_line_of_three_payments_of_1001_at_60_40() -> None:
    whole = split_by_basis_points(3_003, [6_000, 4_000, 0])
    assert whole == [1_802, 1_201, 0]
    done = [0, 0, 0]
    for _ in range(3):
        parts = next_parts(whole, done, 1_001)
        done = [d + p for d, p in zip(done, parts, strict=True)]
    assert done == [1_802, 1_201, 0]


def test_the_issues_line_of_fifty_payments_of_10001_at_60_30_10() -> None:
    whole = split_by_basis_points(50 * 10_001, [6_000, 3_000, 1_000])
    done = [0, 0, 0]
    for _ in range(50):
        parts = next_parts(whole, done, 10_001)
        assert sum(parts) == 10_001
        done = [d + p for d, p in zip(done, parts, strict=True)]
    assert done == whole


def test_the_alabama_paradox_falls_back_to_what_each_part_lacks() -> None:
    # Largest remainder over (1, 3, 3): 3 -> (1, 1, 1) but 4 -> (0, 2, 2): one part less at a
    # larger total. target - done would be (-1, 1, 1); the fallback splits over what is lacking.
    whole = [1, 3, 3]
    done = split_largest_remainder(3, whole)
    assert done == [1, 1, 1]
    assert split_largest_remainder(4, whole) == [0, 2, 2]
    parts = next_parts(whole, done, 1)
    assert parts == [0, 1, 0]  # room (0, 2, 2): the tie goes to the earlier part
    assert next_parts(whole, [1, 2, 1], 3) == [0, 1, 2]  # and the whole is reached exactly


@pytest.mark.parametrize(
    ("whole", "done", "amount", "says"),
    [
        ([10, 10], [0, 0], 0, "amount must be positive"),
        ([10, 10], [0, 0], -3, "amount must be positive"),
        ([10, 10], [0, 0], 21, "done plus amount exceeds the whole"),
        ([10, 10], [5, 5], 11, "done plus amount exceeds the whole"),
        ([10, 10], [-1, 0], 1, "done must not be negative"),
        ([10], [0, 0], 1, "whole and done must have one entry per part"),
        ([10, 10], [0, 0], 1.5, "amount must be integer pence, got float"),
        ([10, 10], [0, 0], True, "amount must be integer pence, got bool"),
        ([10, 10], [0.5, 0], 1, "done must be integer pence, got float"),
    ],
)
def test_bad_inputs_are_refused_saying_why(
    whole: list[int], done: list[Any], amount: Any, says: str
) -> None:
    with pytest.raises(MoneyError) as caught:
        next_parts(whole, done, amount)
    assert str(caught.value) == says


@settings(max_examples=400)
@given(wholes_and_steps())
def test_over_any_sequence_parts_are_exact_and_never_overshoot(
    case: tuple[list[int], list[int]],
) -> None:
    whole, steps = case
    done = [0] * len(whole)
    for step in steps:
        parts = next_parts(whole, done, step)
        assert all(p >= 0 for p in parts)
        assert sum(parts) == step
        done = [d + p for d, p in zip(done, parts, strict=True)]
        assert all(d <= w for d, w in zip(done, whole, strict=True))
    assert done == whole  # fully spent: each part is exactly its whole


@settings(max_examples=400)
@given(
    st.lists(st.integers(0, 10**9), min_size=1, max_size=4).filter(lambda w: sum(w)),
    st.data(),
)
def test_in_the_common_case_the_running_total_is_within_a_penny_of_its_share(
    whole: list[int], data: st.DataObject
) -> None:
    total = sum(whole)
    done_total = data.draw(st.integers(0, total - 1))
    done = split_largest_remainder(done_total, whole)  # a history that followed the rule
    amount = data.draw(st.integers(1, total - done_total))
    parts = next_parts(whole, done, amount)
    after = [d + p for d, p in zip(done, parts, strict=True)]
    target = split_largest_remainder(done_total + amount, whole)
    if all(t >= d for t, d in zip(target, done, strict=True)):
        assert after == target
        for a, w in zip(after, whole, strict=True):
            assert abs(a - Fraction((done_total + amount) * w, total)) < 1
    assert all(a <= w for a, w in zip(after, whole, strict=True))


@settings(max_examples=400)
@given(
    st.lists(st.integers(0, 5_000), min_size=3, max_size=3).filter(lambda w: sum(w)),
    st.lists(st.integers(0, 5_000), min_size=3, max_size=3),
    st.data(),
)
def test_a_done_above_its_whole_after_a_cut_still_gives_valid_parts(
    whole: list[int], done: list[int], data: st.DataObject
) -> None:
    room = sum(whole) - sum(done)
    assume(room > 0)
    amount = data.draw(st.integers(1, room))
    parts = next_parts(whole, done, amount)
    assert sum(parts) == amount
    assert all(0 <= p <= max(0, w - d) for p, w, d in zip(parts, whole, done, strict=True))
