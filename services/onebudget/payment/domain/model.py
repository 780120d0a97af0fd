"""The payment rules, pure: may this payment be made, and how does it split across funders.

Money is integer pence. One way to pay: `decide_payments` takes the asks (releases,
reservations, instalments), the state of their budgets, lines and payees, what each budget stream
account has available, today and the excluded categories, and answers each ask with its
per-stream parts or a named refusal. The unary and bulk release, the reservation and the
instalment scheduler all call it; `ledger_refusal` is the one mapping from ledger result codes to
business refusals.

Parts over a plan line's life (ADR 7): a line's money is its cost split by its basis points
once, F = split_by_basis_points(cost, bp) (what allocation funds each stream with); each payment
takes `next_parts(F, committed_parts, amount)`, so when the line is fully spent each funder has
paid exactly its F_i, and no payment is refused for a per-stream rounding penny.

Precedence of refusals (a caller sees the first rule broken; state before money):
  1. BUDGET_NOT_FOUND, 2. PAYMENTS_STOPPED (death, consent withdrawn, ineligibility, misuse, fraud:
  payment/domain/stops.py), 3. BUDGET_NOT_ACTIVE
  (not agreed, ended, outside its dates, or ended in the ledger before this service saw the
  event), 4. SERVICE_PERIOD_OUTSIDE_BUDGET (the services paid for fall outside the budget's
  period), 5. PLAN_LINE_NOT_FOUND, PLAN_LINE_NOT_AGREED, CATEGORY_EXCLUDED (the plan), 6.
  PAYEE_NOT_FOUND, PAYEE_NOT_FOR_MANAGEMENT_OPTION (how the line's money is held decides who may
  be paid), DIRECT_PAYMENT_ACCOUNT_OF_ANOTHER_PERSON, PAYEE_NOT_ALLOWED (the plan's payee rule),
  FAMILY_PAYEE_NOT_APPROVED (the payee), then money: 7. PLAN_LINE_EXCEEDED, 8.
  INSUFFICIENT_FUNDS.

How the money is held is a rule, not a label (Standing Rules reg 32B(2); `payee_for_option`):
a DIRECT_PAYMENT line pays only the direct-payment account of the budget's own person (held by
them, their representative or nominee, holding only that money); a NOTIONAL or THIRD_PARTY line
never pays a direct-payment account (the commissioner, or the third party, pays providers).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from onebudget.ledger.domain import AMOUNT_MAX, CreateTransferResult, FundingStream
from onebudget.payment.domain import errors
from onebudget.shared.errors import DomainError, FailedPrecondition, NotFound
from onebudget.shared.money import next_parts, split_by_basis_points, split_largest_remainder
from onebudget.shared.policy import is_excluded

STREAMS: tuple[FundingStream, ...] = (
    FundingStream.NHS,
    FundingStream.COUNCIL,
    FundingStream.CLIENT,
)
PAYMENT_PENCE_MAX = AMOUNT_MAX
Parts = tuple[int, int, int]  # pence per stream, in STREAMS order


class PayeeKind(enum.StrEnum):
    PROVIDER = "PROVIDER"
    PERSONAL_ASSISTANT = "PERSONAL_ASSISTANT"
    DIRECT_PAYMENT_ACCOUNT = "DIRECT_PAYMENT_ACCOUNT"
    THIRD_PARTY_ORGANISATION = "THIRD_PARTY_ORGANISATION"


class PaymentKind(enum.StrEnum):
    RELEASE = "RELEASE"
    RESERVATION = "RESERVATION"
    INSTALMENT = "INSTALMENT"


class ManagementOption(enum.StrEnum):
    """How a plan line's money is held (Standing Rules reg 32B(2))."""

    NOTIONAL = "NOTIONAL"
    THIRD_PARTY = "THIRD_PARTY"
    DIRECT_PAYMENT = "DIRECT_PAYMENT"


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
    # Whose direct payment a DIRECT_PAYMENT_ACCOUNT holds (one person's only); None otherwise,
    # or for an account registered before the rule whose holder could not be told.
    person_id: UUID | None = None


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
    # What payments hold against the line per stream (net; sums to committed_pence).
    committed_parts: Parts = (0, 0, 0)

    def funded_parts(self) -> Parts:
        """The line's cost split by its basis points (largest remainder): what allocation funds
        each stream with for this line, F."""
        nhs, council, client = split_by_basis_points(self.cost_pence, list(self.basis_points))
        return nhs, council, client

    def next_parts(self, amount_pence: int, done: Sequence[int] | None = None) -> Parts:
        """The parts of the next `amount_pence` against the line, `done` per stream committed so
        far (default: the line's own): `next_parts(F, done, amount)` (ADR 7)."""
        x, y, z = next_parts(
            self.funded_parts(), self.committed_parts if done is None else done, amount_pence
        )
        return x, y, z

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
    # The services paid for (England's dates, inclusive); None where the ask names none.
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True, slots=True)
class BudgetContext:
    """A budget as payment knows it, and whether its payments are stopped (and on what
    grounds: payment/domain/stops.py decides)."""

    budget: Budget
    stopped: bool
    # The budget's stream accounts were swept back to its funders in the ledger (allocation
    # ended it) before this service saw the event that says so.
    ended_in_ledger: bool = False
    # DEATH, CONSENT_WITHDRAWN, INELIGIBILITY, MISUSE or FRAUD while `stopped`.
    stop_grounds: str = ""


# -- named refusals (subclasses of the gRPC-shaped bases: the wire does not change) --------------


def _meta(metadata: Mapping[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in metadata.items()}


class PaymentRefused(FailedPrecondition):
    """A payment the state or the money does not allow (FAILED_PRECONDITION)."""

    REASON = ""

    def __init__(self, message: str, **metadata: object) -> None:
        super().__init__(reason=self.REASON, message=message, metadata=_meta(metadata))


class PaymentsStopped(PaymentRefused):
    REASON = errors.PAYMENTS_STOPPED


class BudgetNotActive(PaymentRefused):
    REASON = errors.BUDGET_NOT_ACTIVE


class ServicePeriodOutsideBudget(PaymentRefused):
    REASON = errors.SERVICE_PERIOD_OUTSIDE_BUDGET


class PayeeNotForManagementOption(PaymentRefused):
    REASON = errors.PAYEE_NOT_FOR_MANAGEMENT_OPTION


class DirectPaymentAccountOfAnotherPerson(PaymentRefused):
    REASON = errors.DIRECT_PAYMENT_ACCOUNT_OF_ANOTHER_PERSON


class PlanLineNotAgreed(PaymentRefused):
    REASON = errors.PLAN_LINE_NOT_AGREED


class CategoryExcluded(PaymentRefused):
    REASON = errors.CATEGORY_EXCLUDED


class PayeeNotAllowed(PaymentRefused):
    REASON = errors.PAYEE_NOT_ALLOWED


class FamilyPayeeNotApproved(PaymentRefused):
    REASON = errors.FAMILY_PAYEE_NOT_APPROVED


class PlanLineExceeded(PaymentRefused):
    REASON = errors.PLAN_LINE_EXCEEDED


class InsufficientFunds(PaymentRefused):
    REASON = errors.INSUFFICIENT_FUNDS


class ReservationExpired(PaymentRefused):
    REASON = errors.RESERVATION_EXPIRED


class PaymentTargetNotFound(NotFound):
    """A budget, plan line or payee the payment names does not exist (NOT_FOUND)."""

    REASON = ""

    def __init__(self, message: str, **metadata: object) -> None:
        super().__init__(reason=self.REASON, message=message, metadata=_meta(metadata))


class BudgetNotFound(PaymentTargetNotFound):
    REASON = errors.BUDGET_NOT_FOUND


class PlanLineNotFound(PaymentTargetNotFound):
    REASON = errors.PLAN_LINE_NOT_FOUND


class PayeeNotFound(PaymentTargetNotFound):
    REASON = errors.PAYEE_NOT_FOUND


# -- the state rules -----------------------------------------------------------------------------


def stopped_refusal(budget_id: object, stopped: bool, stop_grounds: str = "") -> DomainError | None:
    """PAYMENTS_STOPPED (metadata `grounds`) while the budget's payments are stopped
    (payment/domain/stops.py decides when): releases, reservations, their confirmations and
    instalments alike."""
    if not stopped:
        return None
    person = stop_grounds in ("", "DEATH", "CONSENT_WITHDRAWN")
    return PaymentsStopped(
        "payments to this person have stopped (death or consent withdrawn)"
        if person
        else "payments against this budget are stopped (ineligibility, misuse or fraud: reg 17)",
        budget_id=budget_id,
        **({"grounds": stop_grounds} if stop_grounds else {}),
    )


def service_period_refusal(
    budget: Budget, start: date | None, end: date | None
) -> ServicePeriodOutsideBudget | None:
    """SERVICE_PERIOD_OUTSIDE_BUDGET when a day of the services paid for, [start, end] (England's
    dates, inclusive; either may be None when not given), falls outside the budget's period
    [start_date, end_date]; else None.

    A budget is the money agreed for its period (Standing Rules reg 32A: the amount identified
    to secure the person's services; financial years 1 April to 31 March): services before it
    or after it are paid, if at all, from the budget of their own period."""
    days = [d for d in (start, end) if d is not None]
    early = budget.start_date is not None and any(d < budget.start_date for d in days)
    late = budget.end_date is not None and any(d > budget.end_date for d in days)
    if not early and not late:
        return None
    return ServicePeriodOutsideBudget(
        "the services paid for fall outside the budget's period",
        budget_id=budget.budget_id,
        service_period_start=start.isoformat() if start else "",
        service_period_end=end.isoformat() if end else "",
        budget_start_date=budget.start_date.isoformat() if budget.start_date else "",
        budget_end_date=budget.end_date.isoformat() if budget.end_date else "",
    )


def payee_for_option(
    line: PlanLine, payee: Payee, person_id: UUID | None
) -> PayeeNotForManagementOption | DirectPaymentAccountOfAnotherPerson | None:
    """The management option's rule on who a line pays, or None when `payee` may be paid.

    - DIRECT_PAYMENT: only a DIRECT_PAYMENT_ACCOUNT (paid to the person, their representative or
      nominee, into an account holding only that money: Standing Rules reg 32B(2); NHS (Direct
      Payments) Regs 2013 SI 2013/1617), and only the account of the budget's own person
      (`person_id`): else DIRECT_PAYMENT_ACCOUNT_OF_ANOTHER_PERSON.
    - NOTIONAL, THIRD_PARTY: never a DIRECT_PAYMENT_ACCOUNT (the commissioner or the third party
      holds the money and pays providers, personal assistants or the third party itself).
    Any other option (none recorded) pays as the plan's payee rule says.
    Refusals are PAYEE_NOT_FOR_MANAGEMENT_OPTION (metadata: management_option, payee_kind)."""
    direct = line.management_option == ManagementOption.DIRECT_PAYMENT
    known = line.management_option in ManagementOption.__members__
    is_account = payee.kind == PayeeKind.DIRECT_PAYMENT_ACCOUNT
    if known and direct != is_account:
        return PayeeNotForManagementOption(
            "a direct-payment line pays only the person's direct-payment account"
            if direct
            else "only a direct-payment line pays a direct-payment account",
            management_option=line.management_option,
            payee_kind=payee.kind,
        )
    if is_account and (payee.person_id is None or payee.person_id != person_id):
        return DirectPaymentAccountOfAnotherPerson(
            "a direct-payment account holds one person's direct payment only",
            payee_id=payee.payee_id,
            account_person_id=payee.person_id or "",
            budget_person_id=person_id or "",
        )
    return None


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
    ended_in_ledger: bool = False,
    stop_grounds: str = "",
) -> DomainError | None:
    """The first state rule or line limit the payment breaks (the module's precedence), or None.

    Funds are checked by `check_funds`; `decide_payments` calls both in that order."""
    if budget is None:
        return _budget_not_found(ask)
    refused = _state_refusal(
        ask,
        BudgetContext(budget, stopped, ended_in_ledger, stop_grounds),
        line,
        payee,
        excluded_categories,
        today,
    )
    if refused is not None:
        return refused
    assert line is not None
    return _line_limit_refusal(ask, line, line_committed_pence)


def _budget_not_found(ask: PaymentAsk) -> BudgetNotFound:
    return BudgetNotFound("no such budget", budget_id=ask.budget_id)


def _context_refusal(
    ask: PaymentAsk,
    ctx: BudgetContext | None,
    line: PlanLine | None,
    payee: Payee | None,
    excluded_categories: frozenset[str],
    today: date,
) -> DomainError | None:
    """The first state rule the ask breaks (every rule of the precedence before money), or None;
    `ctx` None: there is no such budget."""
    if ctx is None:
        return _budget_not_found(ask)
    return _state_refusal(ask, ctx, line, payee, excluded_categories, today)


def _state_refusal(
    ask: PaymentAsk,
    ctx: BudgetContext,
    line: PlanLine | None,
    payee: Payee | None,
    excluded_categories: frozenset[str],
    today: date,
) -> DomainError | None:
    budget = ctx.budget
    if ctx.stopped:
        return stopped_refusal(ask.budget_id, ctx.stopped, ctx.stop_grounds)
    if ctx.ended_in_ledger or not budget.active_on(today):
        return BudgetNotActive(
            "the budget is not agreed and active",
            budget_id=ask.budget_id,
            state="ENDED" if ctx.ended_in_ledger else budget.state,
        )
    outside = service_period_refusal(budget, ask.period_start, ask.period_end)
    if outside is not None:
        return outside
    return _check_line(ask, budget, line, payee, excluded_categories)


def _check_line(
    ask: PaymentAsk,
    budget: Budget,
    line: PlanLine | None,
    payee: Payee | None,
    excluded_categories: frozenset[str],
) -> DomainError | None:
    if line is None or line.budget_id != ask.budget_id or line.removed:
        return PlanLineNotFound("no such plan line in this budget", plan_line_id=ask.plan_line_id)
    if not line.agreed:
        return PlanLineNotAgreed("the plan line is not agreed")
    if is_excluded(line.category, excluded_categories):
        return CategoryExcluded(
            "the plan line's category may not be paid for", category=line.category
        )
    if payee is None:
        return PayeeNotFound("no such payee", payee_id=ask.payee_id)
    held = payee_for_option(line, payee, budget.person_id)
    if held is not None:
        return held
    if not line.payee_allowed(payee):
        return PayeeNotAllowed(
            "the plan line does not allow this payee",
            payee_kind=payee.kind,
            allowed_payee_kind=line.allowed_payee_kind,
            allowed_payee_id=line.allowed_payee_id or "",
        )
    if payee.close_family and not payee.approved:
        return FamilyPayeeNotApproved(
            "paying a close family member in the household needs a recorded approval",
            payee_id=payee.payee_id,
        )
    return None


def _line_limit_refusal(
    ask: PaymentAsk, line: PlanLine, line_committed_pence: int
) -> PlanLineExceeded | None:
    remaining = line.cost_pence - line_committed_pence
    if ask.amount_pence > remaining:
        return PlanLineExceeded(
            "the payment exceeds what is left of the plan line",
            remaining_pence=remaining,
            requested_pence=ask.amount_pence,
            shortfall_pence=ask.amount_pence - remaining,
        )
    return None


def check_funds(
    parts: Sequence[int], available: Mapping[FundingStream, int]
) -> InsufficientFunds | None:
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
    return InsufficientFunds(
        "a funding stream of the budget has too little available",
        streams=",".join(k.split("_")[0].upper() for k in short if k.endswith("shortfall_pence")),
        **short,
    )


# -- one way to pay ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    """An accepted ask and the pence each stream pays (NHS, council, client)."""

    ask: PaymentAsk
    parts: Parts


def decide_payments(
    asks: Sequence[PaymentAsk],
    *,
    budgets: Mapping[UUID, BudgetContext],
    lines: Mapping[UUID, PlanLine],
    payees: Mapping[UUID, Payee],
    available: Mapping[UUID, int],
    today: date,
    excluded_categories: frozenset[str],
) -> list[Accepted | DomainError]:
    """Each ask, in order, accepted with its per-stream parts or refused by name.

    `available` is each budget stream account's available pence (ledger); `lines` carry what is
    committed against them (in total and per stream). An accepted ask counts against the asks
    after it (its line's commitment, its accounts' balances). Parts are the line's next parts
    over its life (`PlanLine.next_parts`, ADR 7); refusals follow the module's precedence."""
    committed: dict[UUID, Parts] = {}
    left = dict(available)
    out: list[Accepted | DomainError] = []
    for ask in asks:
        ctx = budgets.get(ask.budget_id)
        line = lines.get(ask.plan_line_id)
        refused = _context_refusal(
            ask, ctx, line, payees.get(ask.payee_id), excluded_categories, today
        )
        if refused is not None:
            out.append(refused)
            continue
        assert ctx is not None
        assert line is not None
        done = committed.get(ask.plan_line_id) or line.committed_parts
        exceeded = _line_limit_refusal(ask, line, sum(done))
        if exceeded is not None:
            out.append(exceeded)
            continue
        parts = line.next_parts(ask.amount_pence, done)
        accounts = ctx.budget.accounts
        # A stream with no account has nothing available (check_funds reads it as 0).
        have = {STREAMS[i]: left.get(a, 0) for i, a in enumerate(accounts) if a is not None}
        short = check_funds(parts, have)
        if short is not None:
            out.append(short)
            continue
        for i, part in enumerate(parts):
            if part:
                account = accounts[i]
                assert account is not None  # check_funds refused a part with no account
                left[account] -= part
        committed[ask.plan_line_id] = add_parts(done, parts)
        out.append(Accepted(ask, parts))
    return out


_MONEY = (errors.INSUFFICIENT_FUNDS, errors.PLAN_LINE_EXCEEDED)


def is_money_refusal(error: DomainError) -> bool:
    """A refusal for money (line limit, funds): a fresher state may refuse the ask first."""
    return error.reason in _MONEY


def ledger_refusal(results: Sequence[CreateTransferResult]) -> DomainError:
    """The one mapping from the ledger's refusal of a payment's transfers to a business refusal
    (the ledger result code in metadata `ledger_result`)."""
    failed = next(
        r
        for r in results
        if r
        not in (
            CreateTransferResult.OK,
            CreateTransferResult.EXISTS,
            CreateTransferResult.LINKED_EVENT_FAILED,
        )
    )
    if failed is CreateTransferResult.EXCEEDS_AVAILABLE_BALANCE:
        return InsufficientFunds(
            "a funding stream of the budget has too little available", ledger_result=failed.value
        )
    if failed is CreateTransferResult.PENDING_TRANSFER_EXPIRED:
        return ReservationExpired("the reservation's hold has run out", ledger_result=failed.value)
    return BudgetNotActive("the ledger refused the payment's transfers", ledger_result=failed.value)


def add_parts(a: Sequence[int], b: Sequence[int]) -> Parts:
    x, y, z = (p + q for p, q in zip(a, b, strict=True))
    return x, y, z


def sub_parts(a: Sequence[int], b: Sequence[int]) -> Parts:
    x, y, z = (p - q for p, q in zip(a, b, strict=True))
    return x, y, z


def give_back_parts(taken: Sequence[int], given_back: Sequence[int], amount: int) -> Parts:
    """The parts of `amount` pence given back of what a payment took (`taken` per stream), when
    `given_back` was given back already: the same rule over the payment's life (ADR 7), so
    several partial returns, a reclaim or the unconfirmed rest of a reservation give back
    exactly the parts taken, never more of a stream than it paid."""
    x, y, z = next_parts(taken, given_back, amount)
    return x, y, z


def proportional_parts(amount_pence: int, basis: Sequence[int]) -> list[int]:
    """`amount` split in proportion to the pence `basis` (e.g. what each stream paid), exactly,
    never more than a stream's basis when amount <= sum(basis)."""
    assert 0 < amount_pence <= sum(basis)
    parts = split_largest_remainder(amount_pence, list(basis))
    assert all(part <= basis[i] for i, part in enumerate(parts))
    return parts


def refusal_after_ledger(
    ask: PaymentAsk,
    results: Sequence[CreateTransferResult],
    *,
    ctx: BudgetContext | None,
    line: PlanLine | None,
    payee: Payee | None,
    today: date,
    excluded_categories: frozenset[str],
) -> DomainError:
    """The ledger refused an ask `decide_payments` accepted (its state moved in between): the
    state rule it breaks now, if any, before the ledger's money reason (the precedence)."""
    state = _context_refusal(ask, ctx, line, payee, excluded_categories, today)
    return state if state is not None else ledger_refusal(results)


class ConfirmExceedsReserved(PaymentRefused):
    REASON = errors.CONFIRM_EXCEEDS_RESERVED


class ReturnExceedsPayment(PaymentRefused):
    REASON = errors.RETURN_EXCEEDS_PAYMENT


def confirm_parts(held: Sequence[int], amount_pence: int) -> tuple[Parts, Parts]:
    """(paid, freed) parts when a reservation holding `held` per stream is confirmed for
    `amount_pence`: the unconfirmed rest is given back by the rule over the payment's life
    (`give_back_parts`), the rest of each stream's hold is paid.

    Raises ConfirmExceedsReserved when `amount_pence` > sum(held)."""
    if amount_pence > sum(held):
        raise ConfirmExceedsReserved(
            "the amount exceeds what was reserved",
            reserved_pence=sum(held),
            requested_pence=amount_pence,
        )
    freed_pence = sum(held) - amount_pence
    freed: Parts = give_back_parts(held, (0, 0, 0), freed_pence) if freed_pence else (0, 0, 0)
    return sub_parts(held, freed), freed


def return_parts(taken: Sequence[int], given_back: Sequence[int], amount_pence: int) -> Parts:
    """The parts of a return of `amount_pence` of a payment that took `taken` per stream and
    gave back `given_back` already (`give_back_parts`, ADR 7).

    Raises ReturnExceedsPayment when more than what is left of the payment."""
    left = sum(taken) - sum(given_back)
    if amount_pence > left:
        raise ReturnExceedsPayment(
            "the return exceeds what is left of the payment", returnable_pence=left
        )
    return give_back_parts(taken, given_back, amount_pence)
