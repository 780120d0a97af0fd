"""The checks every request passes at the edge (shared/edge_checks.py), on the pure messages."""

from __future__ import annotations

from typing import Any

import pytest

from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared.edge_checks import (
    STRING_LENGTH_MAX,
    Undecodable,
    bounded_violations,
    check_request,
    safe_deserializer,
)
from onebudget.shared.errors import FieldViolation, InvalidArgument

UNKNOWN: Any = 99


def faults(request: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as caught:
        check_request(request)
    assert caught.value.reason == "INVALID_REQUEST"
    return [(v.field, v.description) for v in caught.value.violations]


def test_a_plain_request_passes() -> None:
    check_request(
        api.ReleasePaymentRequest(
            request_id="8d3c1a4e-0f6b-4d55-9a3e-2b7f1c9d0e11",
            amount_pence=100,
            broker_reference="INV-1\tline two\r\n",  # tab and new lines: free text may hold them
        )
    )
    check_request(api.RegisterPayeeRequest(kind=api.PAYEE_KIND_PROVIDER, name="Zoë's Care"))


@pytest.mark.parametrize("text", ["poison\x00", "bell\x07", "esc\x1b[0m", "del\x7f", "\x0b"])
def test_control_characters_are_refused_by_field(text: str) -> None:
    assert faults(api.ReleasePaymentRequest(broker_reference=text)) == [
        ("broker_reference", "must not contain control characters")
    ]


def test_nested_and_repeated_fields_are_named_with_their_path() -> None:
    bulk = api.ReleasePaymentsRequest(
        payments=[api.ReleasePaymentRequest(), api.ReleasePaymentRequest(payee_id="a\x00")]
    )
    assert faults(bulk) == [("payments[1].payee_id", "must not contain control characters")]
    revise = al.ReviseBudgetRequest(reasons=["fine", "not\x00fine"])
    assert faults(revise) == [("reasons[1]", "must not contain control characters")]


def test_unknown_enum_numbers_and_long_strings_are_refused() -> None:
    assert faults(api.RegisterPayeeRequest(kind=UNKNOWN)) == [
        ("kind", "99 is not a value of PayeeKind")
    ]
    assert faults(api.RegisterPayeeRequest(name="x" * (STRING_LENGTH_MAX + 1))) == [
        ("name", f"at most {STRING_LENGTH_MAX} characters")
    ]
    check_request(api.RegisterPayeeRequest(name="x" * STRING_LENGTH_MAX))


def test_undecodable_bytes_are_an_invalid_argument_naming_no_exception_class() -> None:
    decode = safe_deserializer(api.ReleasePaymentRequest.FromString)
    decoded = decode(b"\xff\xff\xff\xff")
    assert isinstance(decoded, Undecodable)
    found = faults(decoded)
    assert found == [("", "not a valid onebudget.payment.v1.ReleasePaymentRequest message")]
    assert decode(api.ReleasePaymentRequest(amount_pence=5).SerializeToString()).amount_pence == 5


def test_violations_are_bounded() -> None:
    many = [FieldViolation(f"ids[{n}]", "must be a UUID " + "x" * 500) for n in range(1_000)]
    kept = bounded_violations(many)
    assert len(kept) == 21
    assert all(len(v.description) <= 200 for v in kept)
    assert kept[-1] == FieldViolation("", "more faults than these 20 not listed")
    assert bounded_violations(many[:3]) == tuple(
        FieldViolation(v.field, v.description[:200]) for v in many[:3]
    )
