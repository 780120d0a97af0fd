"""NHS number (modulus 11), ODS and GSS code checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onebudget.shared.identifiers import (
    is_valid_gss_council_code,
    is_valid_nhs_number,
    is_valid_ods_code,
    mask_nhs_number,
    nhs_check_digit,
)


@pytest.mark.parametrize("number", ["9434765919", "6541003238"])
def test_worked_examples_are_valid(number: str) -> None:
    assert is_valid_nhs_number(number)


def test_wrong_check_digit_is_invalid() -> None:
    assert not is_valid_nhs_number("9434765918")


def test_check_value_ten_is_invalid_whatever_the_last_digit() -> None:
    # Some nine-digit prefixes give check value 10: no tenth digit can make them valid.
    first_nine = next(
        f"{n:09d}" for n in range(100_000_000, 100_100_000) if nhs_check_digit(f"{n:09d}") is None
    )
    for last in "0123456789":
        assert not is_valid_nhs_number(first_nine + last)


FULLWIDTH_DIGITS = "\uff19\uff14\uff13\uff14\uff17\uff16\uff15\uff19\uff11\uff19"


@pytest.mark.parametrize(
    "value", ["", "943476591", "94347659190", "943 476 5919", "94347659a9", FULLWIDTH_DIGITS]
)
def test_non_digits_and_wrong_lengths_are_invalid(value: str) -> None:
    assert not is_valid_nhs_number(value)


valid_nhs_numbers = (
    st.text(alphabet="0123456789", min_size=9, max_size=9)
    .filter(lambda nine: nhs_check_digit(nine) is not None)
    .map(lambda nine: nine + str(nhs_check_digit(nine)))
)


@given(valid_nhs_numbers)
def test_every_generated_valid_number_passes(number: str) -> None:
    assert is_valid_nhs_number(number)


@given(valid_nhs_numbers, st.integers(0, 9), st.integers(1, 9))
def test_every_single_digit_change_fails(number: str, position: int, delta: int) -> None:
    # Modulus 11 with distinct weights 10..2 (and 1 for the check digit) catches every single
    # substitution, because no weight times a change of 1..9 is a multiple of 11.
    changed = str((int(number[position]) + delta) % 10)
    mutated = number[:position] + changed + number[position + 1 :]
    assert not is_valid_nhs_number(mutated)


def test_mask_keeps_only_last_four() -> None:
    assert mask_nhs_number("9434765919") == "******5919"


@pytest.mark.parametrize("code", ["QNQ", "00L", "D4U1Y", "15N"])
def test_ods_codes(code: str) -> None:
    assert is_valid_ods_code(code)


@pytest.mark.parametrize("code", ["", "QN", "qnq", "D4U1", "D4U1YY", "0-L"])
def test_bad_ods_codes(code: str) -> None:
    assert not is_valid_ods_code(code)


@pytest.mark.parametrize("code", ["E06000023", "E08000035", "E09000033", "E10000008"])
def test_social_care_council_codes(code: str) -> None:
    assert is_valid_gss_council_code(code)


@pytest.mark.parametrize("code", ["E07000008", "E0600002", "W06000015", "e06000023", "E06000023X"])
def test_non_social_care_or_malformed_council_codes(code: str) -> None:
    assert not is_valid_gss_council_code(code)
