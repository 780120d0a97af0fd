"""Largest-remainder splits of integer pence: exact, fair, deterministic."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onebudget.shared.money import (
    MoneyError,
    format_pence,
    share_of,
    split_by_basis_points,
    split_largest_remainder,
)

totals = st.integers(min_value=0, max_value=10**13)
weight_lists = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6).filter(
    lambda ws: sum(ws) > 0
)


@given(totals, weight_lists)
def test_parts_sum_exactly_to_the_total(total: int, weights: list[int]) -> None:
    assert sum(split_largest_remainder(total, weights)) == total


@given(totals, weight_lists)
def test_each_part_within_one_penny_of_its_exact_share(total: int, weights: list[int]) -> None:
    parts = split_largest_remainder(total, weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total * weight, sum(weights))
        assert abs(part - exact) < 1


@given(totals, weight_lists)
def test_zero_weight_gets_zero(total: int, weights: list[int]) -> None:
    parts = split_largest_remainder(total, weights)
    for part, weight in zip(parts, weights, strict=True):
        if weight == 0:
            assert part == 0


@given(totals, weight_lists)
def test_deterministic(total: int, weights: list[int]) -> None:
    assert split_largest_remainder(total, weights) == split_largest_remainder(total, weights)


def test_sixty_forty_of_an_odd_amount() -> None:
    assert split_by_basis_points(10_001, [6_000, 4_000]) == [6_001, 4_000]


def test_three_ways_hands_the_spare_pennies_to_the_largest_remainders() -> None:
    assert split_by_basis_points(100, [3_333, 3_333, 3_334]) == [33, 33, 34]


def test_basis_points_must_sum_to_ten_thousand() -> None:
    with pytest.raises(MoneyError):
        split_by_basis_points(100, [5_000, 4_999])


@pytest.mark.parametrize("bad", [1.5, "100", True])
def test_floats_strings_and_bools_are_not_money(bad: object) -> None:
    with pytest.raises(MoneyError):
        split_largest_remainder(bad, [1])  # type: ignore[arg-type]


def test_share_of_rounds_half_up() -> None:
    assert share_of(1_000_005, 5_000) == 500_003  # 500,002.5 -> 500,003
    assert share_of(999, 3_333) == 333  # 332.97 -> 333


def test_format_pence() -> None:
    assert format_pence(123_456) == "£1,234.56"
    assert format_pence(-5) == "-£0.05"
