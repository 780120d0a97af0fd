"""The fast check of a release (`fields_if_valid`) accepts exactly what the full one
(`payment_fields`, which names every bad field) accepts, with the same values."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from onebudget.payment.domain.model import PAYMENT_PENCE_MAX
from onebudget.payment.service_layer.validation import fields_if_valid, payment_fields
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared.errors import Violations

_IDS = st.sampled_from(
    ["", "x", str(uuid.uuid4()), str(uuid.uuid4()).upper(), "{" + str(uuid.UUID(int=7)) + "}"]
)
_DATES = st.sampled_from(["", "2026-01-05", "2026-01-11", "20260105", "2026-02-30", "2026-1-5"])
_AMOUNTS = st.sampled_from([-1, 0, 1, 10_001, PAYMENT_PENCE_MAX, PAYMENT_PENCE_MAX + 1])
_REFERENCES = st.sampled_from(["", "REF", "R" * 100, "R" * 101])


@given(_IDS, _IDS, _IDS, _IDS, _AMOUNTS, _DATES, _DATES, _REFERENCES)
def test_fast_check_agrees_with_the_full_one(
    request_id: str,
    budget: str,
    line: str,
    payee: str,
    amount: int,
    start: str,
    end: str,
    reference: str,
) -> None:
    request = api.ReleasePaymentRequest(
        request_id=request_id,
        budget_id=budget,
        plan_line_id=line,
        payee_id=payee,
        amount_pence=amount,
        service_period_start=start,
        service_period_end=end,
        broker_reference=reference,
    )
    violations = Violations()
    full = payment_fields(request, violations)
    fast = fields_if_valid(request)
    assert (fast is None) == bool(violations)
    if fast is not None:
        assert full is not None
        assert fast.ask == full.ask
        assert (fast.period_start, fast.period_end, fast.broker_reference) == (
            full.period_start,
            full.period_end,
            full.broker_reference,
        )
