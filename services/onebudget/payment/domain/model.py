"""The payment rules, pure: may this payment be made, and how does it split across funders.

Money is integer pence. A payment against a plan line splits by the line's basis points with
`split_by_basis_points` (largest remainder), so each funder's spend is exact and the parts
always sum to the amount. The order of checks is fixed (a caller sees the first rule broken):
payee, budget, stop, plan line, category, payee rule, family approval, line limit, funds.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from onebudget.ledger.domain import AMOUNT_MAX, FundingStream
from onebudget.payment.domain import errors
from onebudget.shared.errors import DomainError, FailedPrecondition, NotFound
from onebudget.shared.money import split_by_basis_points, split_largest_remainder
from onebudget.shared.policy import is_excluded

STREAMS: tuple[FundingStream, ...] = (
    FundingStream.NHS,
    FundingStream.COUNCIL,
    FundingStream.CLIENT,
)
PAYMENT_PENCE_MAX = AMOUNT_MAX


class PayeeKind(enum.StrEnum):
    PROVIDER = "PROVIDER"
    PERSONAL_ASSISTANT = "PERSONAL_ASSISTANT"
    DIRECT_PAYMENT_ACCOUNT = "DIRECT_PAYMENT_ACCOUNT"
    THIRD_PARTY_ORGANISATION = "THIRD_PARTY_ORGANISATION"


class PaymentKind(enum.StrEnum):
    RELEASE = "RELEASE"
    RESERVATION = "RESERVATION"
    INSTALMENT = "INSTALMENT"


class PaymentState(enum.StrEnum):
    RELEASED = "RELEASED"
    RESERVED = "RESERVED"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


# How allocation's plan names a kind of payee -> (the payee kind paid, close family only).
# Money for the person or their nominee goes to the direct-payment account.
PLAN_PAYEE_KINDS: dict[str, tuple[str, bool]] = {
    "PERSON": ("DIRECT_PAYMENT_ACCOUNT", False),
    "NOMINEE": ("DIRECT_PAYMENT_ACCOUNT", False),
    "FAMILY_MEMBER": ("PERSONAL_ASSISTANT", True),
}


@dataclass(frozen=True, slots=True)
class Payee:
    payee_id: UUID
    kind: PayeeKind
    close_family: bool
    approved: bool


@dataclass(frozen=True, slots=True)
class Budget:
    budget_id: UUID
    person_id: UUID | None
    commissioner_ods_code: str
    council_gss_code: str
    state: str
    start_date: date | None
    end_date: date | None
    accounts: tuple[UUID | None, UUID | None, UUID | None]  # per stream, in STREAMS order

    def active_on(self, day: date) -> bool:
        if self.state != "AGREED":
            return False
        if self.start_date is not None and day < self.start_date:
            return False
        return self.end_date is None or day <= self.end_date


@dataclass(frozen=True, slots=True)
class PlanLine:
    plan_line_id: UUID
    budget_id: UUID
    category: str
    cost_pence: int
    basis_points: tuple[int, int, int]
    management_option: str
    allowed_payee_id: UUID | None
    allowed_payee_kind: str
    agreed: bool
    removed: bool
    committed_pence: int

    def payee_allowed(self, payee: Payee) -> bool:
        """The plan's payee rule: a named payee, a kind of payee, both, or anyone."""
        if self.allowed_payee_id is not None and payee.payee_id != self.allowed_payee_id:
            return False
        if not self.allowed_payee_kind:
            return True
        kind, family_only = PLAN_PAYEE_KINDS.get(
            self.allowed_payee_kind, (self.allowed_payee_kind, False)
        )
        return kind == payee.kind and (payee.close_family or not family_only)


@dataclass(frozen=True, slots=True)
class PaymentAsk:
    """What a release or reservation asks for, once its fields are valid."""

    budget_id: UUID
    plan_line_id: UUID
    payee_id: UUID
    amount_pence: int


def split(amount_pence: int, line: PlanLine) -> tuple[int, int, int]:
    nhs, council, client = split_by_basis_points(amount_pence, list(line.basis_points))
    assert nhs + council + client == amount_pence
    return nhs, council, client


def _refuse(reason: str, message: str, **metadata: object) -> FailedPrecondition:
    return FailedPrecondition(
        reason=reason, message=message, metadata={k: str(v) for k, v in metadata.items()}
    )


def check_payment(
    ask: PaymentAsk,
    *,
    budget: Budget | None,
    line: PlanLine | None,
    payee: Payee | None,
    stopped: bool,
    excluded_categories: frozenset[str],
    line_committed_pence: int,
    today: date,
) -> DomainError | None:
    """The first rule the payment breaks, or None. Funds are checked by `check_funds`."""
    if payee is None:
        return NotFound(errors.PAYEE_NOT_FOUND, "no such payee", {"payee_id": str(ask.payee_id)})
    if budget is None:
        return NotFound(
            errors.BUDGET_NOT_FOUND, "no such budget", {"budget_id": str(ask.budget_id)}
        )
    if not budget.active_on(today):
        return _refuse(
            errors.BUDGET_NOT_ACTIVE,
            "the budget is not agreed and active",
            budget_id=ask.budget_id,
            state=budget.state,
        )
    if stopped:
        return _refuse(
            errors.PAYMENTS_STOPPED,
            "payments to this person have stopped (death or consent withdrawn)",
            budget_id=ask.budget_id,
        )
    return _check_line(ask, line, payee, excluded_categories, line_committed_pence)


def _check_line(
    ask: PaymentAsk,
    line: PlanLine | None,
    payee: Payee,
    excluded_categories: frozenset[str],
    line_committed_pence: int,
) -> DomainError | None:
    if line is None or line.budget_id != ask.budget_id or line.removed:
        return NotFound(
            errors.PLAN_LINE_NOT_FOUND,
            "no such plan line in this budget",
            {"plan_line_id": str(ask.plan_line_id)},
        )
    if not line.agreed:
        return _refuse(errors.PLAN_LINE_NOT_AGREED, "the plan line is not agreed")
    if is_excluded(line.category, excluded_categories):
        return _refuse(
            errors.CATEGORY_EXCLUDED,
            "the plan line's category may not be paid for",
            category=line.category,
        )
    if not line.payee_allowed(payee):
        return _refuse(
            errors.PAYEE_NOT_ALLOWED,
            "the plan line does not allow this payee",
            payee_kind=payee.kind,
            allowed_payee_kind=line.allowed_payee_kind,
            allowed_payee_id=line.allowed_payee_id or "",
        )
    if payee.close_family and not payee.approved:
        return _refuse(
            errors.FAMILY_PAYEE_NOT_APPROVED,
            "paying a close family member in the household needs a recorded approval",
            payee_id=payee.payee_id,
        )
    remaining = line.cost_pence - line_committed_pence
    if ask.amount_pence > remaining:
        return _refuse(
            errors.PLAN_LINE_EXCEEDED,
            "the payment exceeds what is left of the plan line",
            remaining_pence=remaining,
            requested_pence=ask.amount_pence,
            shortfall_pence=ask.amount_pence - remaining,
        )
    return None


def check_funds(
    parts: Sequence[int], available: Mapping[FundingStream, int]
) -> FailedPrecondition | None:
    """INSUFFICIENT_FUNDS with each short stream's shortfall, or None."""
    short: dict[str, object] = {}
    for stream, amount in zip(STREAMS, parts, strict=True):
        if amount > 0 and amount > available.get(stream, 0):
            name = stream.value.lower()
            short[f"{name}_shortfall_pence"] = amount - available.get(stream, 0)
            short[f"{name}_available_pence"] = available.get(stream, 0)
            short[f"{name}_requested_pence"] = amount
    if not short:
        return None
    return _refuse(
        errors.INSUFFICIENT_FUNDS,
        "a funding stream of the budget has too little available",
        streams=",".join(k.split("_")[0].upper() for k in short if k.endswith("shortfall_pence")),
        **short,
    )


def proportional_parts(amount_pence: int, basis: Sequence[int]) -> list[int]:
    """`amount` split in proportion to the pence `basis` (e.g. what each stream paid), exactly,
    never more than a stream's basis when amount <= sum(basis)."""
    assert 0 < amount_pence <= sum(basis)
    parts = split_largest_remainder(amount_pence, list(basis))
    assert all(p <= b for p, b in zip(parts, basis, strict=True))
    return parts
