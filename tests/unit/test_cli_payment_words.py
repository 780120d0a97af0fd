"""`broker reserve|confirm|cancel` say what happened to the money (issue 16): a reservation
holds money (it printed "Reserved" over a split labelled "paid"), a confirmed one is paid, a
cancelled or expired one paid nothing."""

from __future__ import annotations

import re

from google.protobuf import timestamp_pb2

from onebudget.payment.entrypoints.cli import format_payment
from onebudget.payment.v1 import payment_service_pb2 as api


def _payment(state: int, amount: int, reserved: int) -> api.Payment:
    return api.Payment(
        payment_id="p-1",
        state=state,  # type: ignore[arg-type]
        budget_id="b-1",
        plan_line_id="l-1",
        payee_id="payee-1",
        amount_pence=amount,
        reserved_pence=reserved,
        streams=api.StreamPence(nhs_pence=6_001, council_pence=4_000, client_pence=0),
        expire_time=timestamp_pb2.Timestamp(seconds=1_800_000_000),
    )


def test_a_reservation_is_held_not_paid() -> None:
    for reserved in (10_001, 250):
        text = format_payment(_payment(api.PAYMENT_STATE_RESERVED, reserved, reserved))
        assert text.startswith(f"Held £{reserved // 100:,}.{reserved % 100:02d} for payee payee-1")
        assert "held (£)" in text
        assert "paid" not in text.lower()
        assert "held until 2027-01-15 08:00:00 UTC" in text


def test_a_confirmed_or_released_payment_is_paid() -> None:
    for state in (api.PAYMENT_STATE_CONFIRMED, api.PAYMENT_STATE_RELEASED):
        text = format_payment(
            _payment(state, 10_001, 12_000 if state == api.PAYMENT_STATE_CONFIRMED else 0)
        )
        assert text.startswith("Paid £100.01 to payee payee-1")
        assert re.search(r"funder +paid \(£\)", text)
        assert "held until" not in text


def test_a_cancelled_or_expired_reservation_paid_nothing() -> None:
    for state, word in (
        (api.PAYMENT_STATE_CANCELLED, "Cancelled"),
        (api.PAYMENT_STATE_EXPIRED, "Expired"),
    ):
        text = format_payment(_payment(state, 10_001, 10_001))
        assert text.startswith(f"{word}: nothing paid; released £100.01 for payee payee-1")
        assert "was held (£)" in text
        assert not re.search(r"funder +paid", text)
