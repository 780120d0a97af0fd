"""The money module's rules at their edges (shared/money.py): what is pence, what a split
refuses and says, which part gets the spare penny, the one rounding rule for a single share,
and how pence are written for people."""

from __future__ import annotations

import pytest

from onebudget.shared.money import (
    PENCE_MAX,
    MoneyError,
    format_pence,
    pence_in_bounds,
    require_pence,
    share_of,
    split_by_basis_points,
    split_largest_remainder,
)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (1.5, "amount must be integer pence, got float"),
        ("100", "amount must be integer pence, got str"),
        (True, "amount must be integer pence, got bool"),
        (None, "amount must be integer pence, got NoneType"),
    ],
)
def test_only_an_int_is_pence_and_the_error_names_what_came(bad: object, message: str) -> None:
    with pytest.raises(MoneyError) as caught:
        require_pence(bad)
    assert str(caught.value) == message
    assert require_pence(-7) == -7


def test_a_bad_amount_is_named_after_its_field() -> None:
    with pytest.raises(MoneyError, match=r"^fee must be integer pence, got float$"):
        require_pence(1.0, name="fee")


@pytest.mark.parametrize(
    ("total", "weights", "message"),
    [
        (1.0, [1], "total must be integer pence, got float"),
        (-1, [1], "total must not be negative"),
        (5, [], "at least one weight is needed"),
        (5, [1, 0.5], "weight must be integer pence, got float"),
        # The edges of each check: a zero total and a zero weight are fine, so the fault named
        # is the one that is there.
        (0, [1, 0.5], "weight must be integer pence, got float"),
        (5, [0, 1.5], "weight must be integer pence, got float"),
        (0, [], "at least one weight is needed"),
        (5, [1, -1], "weights must not be negative"),
        (5, [0, 0], "weights must not all be zero"),
    ],
)
def test_a_split_refuses_bad_input_and_says_why(
    total: object, weights: list[object], message: str
) -> None:
    with pytest.raises(MoneyError) as caught:
        split_largest_remainder(total, weights)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_a_split_of_nothing_is_all_zeros() -> None:
    assert split_largest_remainder(0, [1, 2]) == [0, 0]


def test_the_spare_penny_goes_to_the_largest_remainder_not_the_largest_part() -> None:
    # 4 by 1:5 is 0.67 and 3.33: the first part's remainder (4) beats the second's (2).
    assert split_largest_remainder(4, [1, 5]) == [1, 3]
    assert split_largest_remainder(7, [2, 3, 5]) == [1, 2, 4]  # 1.4, 2.1, 3.5


def test_basis_points_must_sum_to_ten_thousand_and_the_error_says_what_they_summed_to() -> None:
    with pytest.raises(MoneyError) as caught:
        split_by_basis_points(100, [5_000, 4_999])
    assert str(caught.value) == "basis points must sum to 10000, got 9999"
    assert split_by_basis_points(0, [10_000, 0]) == [0, 0]


@pytest.mark.parametrize(
    ("total", "bp", "share"),
    [
        (0, 5_000, 0),
        (1, 5_000, 1),  # a half penny rounds up
        (1, 4_999, 0),
        (999, 0, 0),
        (999, 10_000, 999),
        (3, 3_333, 1),  # 0.9999 -> 1
    ],
)
def test_a_single_share_rounds_half_up_to_an_integer_penny(total: int, bp: int, share: int) -> None:
    got = share_of(total, bp)
    assert got == share
    assert type(got) is int


@pytest.mark.parametrize(
    ("total", "bp", "message"),
    [
        (-1, 5_000, "share_of needs total >= 0 and 0 <= basis_points <= 10,000"),
        (100, -1, "share_of needs total >= 0 and 0 <= basis_points <= 10,000"),
        (100, 10_001, "share_of needs total >= 0 and 0 <= basis_points <= 10,000"),
        (1.5, 10, "total must be integer pence, got float"),
        (100, 2.5, "basis_points must be integer pence, got float"),
    ],
)
def test_a_single_share_refuses_what_is_not_a_share(
    total: object, bp: object, message: str
) -> None:
    with pytest.raises(MoneyError) as caught:
        share_of(total, bp)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("pence", "written"),
    [(0, "£0.00"), (1, "£0.01"), (-1, "-£0.01"), (100_000_000, "£1,000,000.00")],
)
def test_pence_are_written_in_pounds_for_people(pence: int, written: str) -> None:
    assert format_pence(pence) == written


@pytest.mark.parametrize(
    ("value", "low", "high", "inside"),
    [
        (1, 1, PENCE_MAX, True),
        (0, 1, PENCE_MAX, False),  # an amount is at least a penny unless zero is allowed
        (0, 0, PENCE_MAX, True),
        (PENCE_MAX, 1, PENCE_MAX, True),
        (PENCE_MAX + 1, 1, PENCE_MAX, False),
        (1, 1, 1, True),
        (True, 0, PENCE_MAX, False),  # a bool is not pence
        (1.5, 1, PENCE_MAX, False),  # nor is a float, even in range
        (-1, 0, PENCE_MAX, False),
    ],
)
def test_pence_in_bounds_is_whole_pence_between_low_and_high(
    value: object, low: int, high: int, inside: bool
) -> None:
    assert pence_in_bounds(value, low=low, high=high) is inside  # type: ignore[arg-type]


@pytest.mark.parametrize(("low", "high"), [(2, PENCE_MAX), (1, 0), (1, PENCE_MAX + 1)])
def test_pence_in_bounds_takes_only_the_bounds_it_documents(low: int, high: int) -> None:
    with pytest.raises(AssertionError):
        pence_in_bounds(5, low=low, high=high)
