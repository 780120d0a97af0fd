"""Checks that need no stored state: INVALID_ARGUMENT with every field violation at once."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Protocol

from onebudget.payment.domain.model import PaymentAsk
from onebudget.shared.errors import Violations
from onebudget.shared.idempotency import canonical_request_id, check_request_id
from onebudget.shared.money import pence_in_bounds
from onebudget.shared.validation import check_pence, parse_date, parse_uuid

TEXT_LENGTH_MAX = 200
REFERENCE_LENGTH_MAX = 100


def check_text(
    value: str, field: str, violations: Violations, *, required: bool, limit: int = TEXT_LENGTH_MAX
) -> None:
    if required and not value.strip():
        violations.add(field, "required")
    violations.check(len(value) <= limit, field, f"at most {limit} characters")


class PaymentFields:
    """The validated fields of a ReleasePaymentRequest / ReservePaymentRequest."""

    __slots__ = ("ask", "broker_reference", "period_end", "period_start")

    def __init__(self, ask: PaymentAsk, start: date | None, end: date | None, ref: str) -> None:
        self.ask = ask
        self.period_start = start
        self.period_end = end
        self.broker_reference = ref


class PaymentRequest(Protocol):
    """The fields ReleasePaymentRequest and ReservePaymentRequest share."""

    request_id: str
    budget_id: str
    plan_line_id: str
    payee_id: str
    amount_pence: int
    service_period_start: str
    service_period_end: str
    broker_reference: str


def fields_if_valid(r: PaymentRequest) -> PaymentFields | None:
    """The fields of a request that breaks no rule of `payment_fields`, else None (then
    `payment_fields` says what is wrong). The common case, without building field names and a
    violations collector for every payment of a bulk call."""
    if canonical_request_id(r.request_id) is None:
        return None
    try:
        ask = PaymentAsk(
            uuid.UUID(r.budget_id), uuid.UUID(r.plan_line_id), uuid.UUID(r.payee_id), 0
        )
    except ValueError:  # also an empty value
        return None
    amount = r.amount_pence
    if not pence_in_bounds(amount) or len(r.broker_reference) > REFERENCE_LENGTH_MAX:
        return None
    start = end = None
    if r.service_period_start or r.service_period_end:
        v = Violations()
        start = parse_date(r.service_period_start, "", v)
        end = parse_date(r.service_period_end, "", v)
        if v or (start is not None and end is not None and start > end):
            return None
    ask = PaymentAsk(ask.budget_id, ask.plan_line_id, ask.payee_id, amount, start, end)
    return PaymentFields(ask, start, end, r.broker_reference)


def payment_fields(
    r: PaymentRequest, violations: Violations, prefix: str = ""
) -> PaymentFields | None:
    """Validate a release or reservation; `prefix` names the item of a bulk call."""
    check_request_id(r.request_id, _Prefixed(violations, prefix))
    budget = parse_uuid(r.budget_id, f"{prefix}budget_id", violations)
    line = parse_uuid(r.plan_line_id, f"{prefix}plan_line_id", violations)
    payee = parse_uuid(r.payee_id, f"{prefix}payee_id", violations)
    check_pence(r.amount_pence, f"{prefix}amount_pence", violations)
    start = parse_date(r.service_period_start, f"{prefix}service_period_start", violations)
    end = parse_date(r.service_period_end, f"{prefix}service_period_end", violations)
    if start is not None and end is not None:
        violations.check(start <= end, f"{prefix}service_period_end", "must not be before start")
    check_text(
        r.broker_reference,
        f"{prefix}broker_reference",
        violations,
        required=False,
        limit=REFERENCE_LENGTH_MAX,
    )
    if violations or budget is None or line is None or payee is None:
        return None
    ask = PaymentAsk(budget, line, payee, r.amount_pence, start, end)
    return PaymentFields(ask, start, end, r.broker_reference)


class _Prefixed(Violations):
    """Adds a field prefix (payments[3].) to the violations another helper reports."""

    def __init__(self, inner: Violations, prefix: str) -> None:
        super().__init__()
        self._inner = inner
        self._prefix = prefix

    def add(self, field_name: str, description: str) -> None:
        self._inner.add(self._prefix + field_name, description)
