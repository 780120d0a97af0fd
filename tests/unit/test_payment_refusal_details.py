"""Each payment refusal exactly as a caller reads it: its reason, its message and its metadata.

A caller (a broker's system, a partner's client) acts on the reason and reads the metadata (how
much is left, which stream is short and by how much); a person reads the message. So each is part
of the API, and each is pinned here: a change of any of them must be a deliberate change of this
table. These tests also guard the edges of the one payment decision (`decide_payments`): the day
a budget starts and ends, a payment of exactly what is left, a stream with no account, a batch
whose later asks see the earlier ones' money (docs/quality.md: the mutation score of the domain).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from onebudget.ledger import CreateTransferResult as R
from onebudget.payment.domain import model
from onebudget.payment.domain.model import (
    Accepted,
    Budget,
    BudgetContext,
    Payee,
    PayeeKind,
    PaymentAsk,
    PlanLine,
    decide_payments,
    ledger_refusal,
    refusal_after_ledger,
)
from onebudget.shared.errors import DomainError, FailedPrecondition, NotFound

TODAY = date(2026, 6, 1)
BUDGET = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
LINE = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
PAYEE = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
NAMED = uuid.UUID("00000000-0000-4000-8000-0000000000d2")
PERSON = uuid.UUID("00000000-0000-4000-8000-0000000000e1")
NHS, COUNCIL, CLIENT = (uuid.UUID(f"00000000-0000-4000-8000-0000000000a{k}") for k in (1, 2, 3))


def _budget(**changes: object) -> Budget:
    fields: dict[str, object] = {
        "budget_id": BUDGET,
        "person_id": None,
        "commissioner_ods_code": "QNQ",
        "council_gss_code": "E10000015",
        "state": "AGREED",
        "start_date": date(2026, 4, 1),
        "end_date": date(2027, 3, 31),
        "accounts": (NHS, COUNCIL, CLIENT),
    }
    fields.update(changes)
    return Budget(**fields)  # type: ignore[arg-type]


def _line(**changes: object) -> PlanLine:
    fields: dict[str, object] = {
        "plan_line_id": LINE,
        "budget_id": BUDGET,
        "category": "personal_care",
        "cost_pence": 1_000,
        "basis_points": (6000, 4000, 0),
        "management_option": "NOTIONAL",
        "allowed_payee_id": None,
        "allowed_payee_kind": "",
        "agreed": True,
        "removed": False,
        "committed_pence": 0,
        "committed_parts": (0, 0, 0),
    }
    fields.update(changes)
    return PlanLine(**fields)  # type: ignore[arg-type]


PROVIDER = Payee(PAYEE, PayeeKind.PROVIDER, False, False)


def _decide(
    *amounts: int,
    budget: Budget | None = None,
    stopped: bool = False,
    ended_in_ledger: bool = False,
    line: PlanLine | None = None,
    payee: Payee | None = PROVIDER,
    available: dict[uuid.UUID, int] | None = None,
    today: date = TODAY,
    excluded: frozenset[str] = frozenset(),
    budgets: dict[uuid.UUID, BudgetContext] | None = None,
) -> list[Accepted | DomainError]:
    if budgets is None:
        budgets = {BUDGET: BudgetContext(budget or _budget(), stopped, ended_in_ledger)}
    return decide_payments(
        [PaymentAsk(BUDGET, LINE, PAYEE, amount) for amount in amounts],
        budgets=budgets,
        lines={} if line is None else {LINE: line},
        payees={} if payee is None else {PAYEE: payee},
        available={NHS: 10**6, COUNCIL: 10**6, CLIENT: 10**6} if available is None else available,
        today=today,
        excluded_categories=excluded,
    )


def _refusal(decision: Accepted | DomainError) -> tuple[str, str, dict[str, str]]:
    assert isinstance(decision, DomainError), decision
    return decision.reason, decision.message, dict(decision.metadata)


# -- the state rules, in their precedence --------------------------------------------------------


def test_no_budget() -> None:
    (refused,) = _decide(10, budgets={}, line=_line())
    assert isinstance(refused, model.BudgetNotFound)
    assert isinstance(refused, NotFound)
    assert _refusal(refused) == ("BUDGET_NOT_FOUND", "no such budget", {"budget_id": str(BUDGET)})


def test_payments_stopped() -> None:
    (refused,) = _decide(10, stopped=True, line=_line())
    assert isinstance(refused, model.PaymentsStopped)
    assert isinstance(refused, FailedPrecondition)
    assert _refusal(refused) == (
        "PAYMENTS_STOPPED",
        "payments to this person have stopped (death or consent withdrawn)",
        {"budget_id": str(BUDGET)},
    )


@pytest.mark.parametrize(
    ("budget", "ended_in_ledger", "state"),
    [
        (_budget(state="ENDED"), False, "ENDED"),
        (_budget(state="DRAFT"), False, "DRAFT"),
        (_budget(), True, "ENDED"),  # swept in the ledger before this service saw the event
        (_budget(start_date=TODAY + timedelta(days=1)), False, "AGREED"),
        (_budget(end_date=TODAY - timedelta(days=1)), False, "AGREED"),
    ],
)
def test_budget_not_active(budget: Budget, ended_in_ledger: bool, state: str) -> None:
    (refused,) = _decide(10, budget=budget, ended_in_ledger=ended_in_ledger, line=_line())
    assert isinstance(refused, model.BudgetNotActive)
    assert _refusal(refused) == (
        "BUDGET_NOT_ACTIVE",
        "the budget is not agreed and active",
        {"budget_id": str(BUDGET), "state": state},
    )


@pytest.mark.parametrize(
    "budget",
    [
        _budget(start_date=TODAY),  # its first day
        _budget(end_date=TODAY),  # its last day
        _budget(start_date=None, end_date=None),  # open dates
    ],
)
def test_a_budget_is_active_from_its_first_to_its_last_day(budget: Budget) -> None:
    (accepted,) = _decide(10, budget=budget, line=_line())
    assert isinstance(accepted, Accepted)


@pytest.mark.parametrize(
    "line",
    [None, _line(budget_id=uuid.uuid4()), _line(removed=True)],
    ids=["missing", "of-another-budget", "removed"],
)
def test_no_plan_line(line: PlanLine | None) -> None:
    (refused,) = _decide(10, line=line)
    assert isinstance(refused, model.PlanLineNotFound)
    assert isinstance(refused, NotFound)
    assert _refusal(refused) == (
        "PLAN_LINE_NOT_FOUND",
        "no such plan line in this budget",
        {"plan_line_id": str(LINE)},
    )


def test_plan_line_not_agreed() -> None:
    (refused,) = _decide(10, line=_line(agreed=False))
    assert isinstance(refused, model.PlanLineNotAgreed)
    assert _refusal(refused) == ("PLAN_LINE_NOT_AGREED", "the plan line is not agreed", {})


def test_category_excluded() -> None:
    (refused,) = _decide(
        10, line=_line(category="urgent_care"), excluded=frozenset({"urgent_care"})
    )
    assert isinstance(refused, model.CategoryExcluded)
    assert _refusal(refused) == (
        "CATEGORY_EXCLUDED",
        "the plan line's category may not be paid for",
        {"category": "urgent_care"},
    )


def test_no_payee() -> None:
    (refused,) = _decide(10, line=_line(), payee=None)
    assert isinstance(refused, model.PayeeNotFound)
    assert isinstance(refused, NotFound)
    assert _refusal(refused) == ("PAYEE_NOT_FOUND", "no such payee", {"payee_id": str(PAYEE)})


@pytest.mark.parametrize(
    ("line", "payee", "allowed_id"),
    [
        (_line(allowed_payee_id=NAMED), PROVIDER, str(NAMED)),
        (_line(allowed_payee_kind="PERSONAL_ASSISTANT"), PROVIDER, ""),
        (_line(allowed_payee_kind="PERSON"), PROVIDER, ""),
        # A family member named by the plan must be close family.
        (
            _line(allowed_payee_kind="FAMILY_MEMBER"),
            Payee(PAYEE, PayeeKind.PERSONAL_ASSISTANT, False, True),
            "",
        ),
    ],
)
def test_payee_not_allowed(line: PlanLine, payee: Payee, allowed_id: str) -> None:
    (refused,) = _decide(10, line=line, payee=payee)
    assert isinstance(refused, model.PayeeNotAllowed)
    assert _refusal(refused) == (
        "PAYEE_NOT_ALLOWED",
        "the plan line does not allow this payee",
        {
            "payee_kind": payee.kind.value,
            "allowed_payee_kind": line.allowed_payee_kind,
            "allowed_payee_id": allowed_id,
        },
    )


@pytest.mark.parametrize(
    ("kind", "payee"),
    [
        ("", PROVIDER),  # anyone
        ("PROVIDER", PROVIDER),  # a kind named as itself
        ("PERSON", Payee(PAYEE, PayeeKind.DIRECT_PAYMENT_ACCOUNT, False, False, PERSON)),
        ("NOMINEE", Payee(PAYEE, PayeeKind.DIRECT_PAYMENT_ACCOUNT, False, False, PERSON)),
        ("FAMILY_MEMBER", Payee(PAYEE, PayeeKind.PERSONAL_ASSISTANT, True, True)),
    ],
)
def test_payees_the_plan_allows(kind: str, payee: Payee) -> None:
    # The person's own direct-payment account is paid from a direct-payment line (ADR 11).
    direct = payee.kind == PayeeKind.DIRECT_PAYMENT_ACCOUNT
    option = "DIRECT_PAYMENT" if direct else "NOTIONAL"
    budget = _budget(person_id=PERSON)
    (accepted,) = _decide(
        10,
        budget=budget,
        line=_line(allowed_payee_kind=kind, management_option=option),
        payee=payee,
    )
    assert isinstance(accepted, Accepted)
    (named,) = _decide(
        10,
        budget=budget,
        line=_line(allowed_payee_id=PAYEE, allowed_payee_kind=kind, management_option=option),
        payee=payee,
    )
    assert isinstance(named, Accepted)


def test_family_payee_not_approved() -> None:
    family = Payee(PAYEE, PayeeKind.PERSONAL_ASSISTANT, True, False)
    (refused,) = _decide(10, line=_line(), payee=family)
    assert isinstance(refused, model.FamilyPayeeNotApproved)
    assert _refusal(refused) == (
        "FAMILY_PAYEE_NOT_APPROVED",
        "paying a close family member in the household needs a recorded approval",
        {"payee_id": str(PAYEE)},
    )


# -- money -------------------------------------------------------------------------------------


def test_plan_line_exceeded_and_exactly_what_is_left() -> None:
    line = _line(committed_pence=400, committed_parts=(240, 160, 0))
    (refused,) = _decide(601, line=line)
    assert isinstance(refused, model.PlanLineExceeded)
    assert _refusal(refused) == (
        "PLAN_LINE_EXCEEDED",
        "the payment exceeds what is left of the plan line",
        {"remaining_pence": "600", "requested_pence": "601", "shortfall_pence": "1"},
    )
    (accepted,) = _decide(600, line=line)
    assert isinstance(accepted, Accepted)
    assert accepted.parts == (360, 240, 0)


def test_insufficient_funds_names_each_short_stream() -> None:
    (refused,) = _decide(
        1_000, line=_line(), available={NHS: 599, COUNCIL: 100, CLIENT: 0}
    )  # wants 600 NHS, 400 council
    assert isinstance(refused, model.InsufficientFunds)
    assert _refusal(refused) == (
        "INSUFFICIENT_FUNDS",
        "a funding stream of the budget has too little available",
        {
            "streams": "NHS,COUNCIL",
            "nhs_shortfall_pence": "1",
            "nhs_available_pence": "599",
            "nhs_requested_pence": "600",
            "council_shortfall_pence": "300",
            "council_available_pence": "100",
            "council_requested_pence": "400",
        },
    )
    (exact,) = _decide(1_000, line=_line(), available={NHS: 600, COUNCIL: 400, CLIENT: 0})
    assert isinstance(exact, Accepted)
    assert exact.parts == (600, 400, 0)


def test_a_stream_with_no_account_or_no_balance_has_nothing() -> None:
    line = _line(basis_points=(5000, 3000, 2000))
    (no_account,) = _decide(10, budget=_budget(accounts=(NHS, COUNCIL, None)), line=line)
    assert _refusal(no_account)[2] == {
        "streams": "CLIENT",
        "client_shortfall_pence": "2",
        "client_available_pence": "0",
        "client_requested_pence": "2",
    }
    (no_balance,) = _decide(10, line=line, available={NHS: 10, COUNCIL: 10})
    assert _refusal(no_balance)[2] == {
        "streams": "CLIENT",
        "client_shortfall_pence": "2",
        "client_available_pence": "0",
        "client_requested_pence": "2",
    }
    # A stream with no share needs no account.
    (nhs_only,) = _decide(
        10, budget=_budget(accounts=(NHS, None, None)), line=_line(basis_points=(10000, 0, 0))
    )
    assert isinstance(nhs_only, Accepted)
    assert nhs_only.parts == (10, 0, 0)


def test_each_ask_in_a_batch_sees_the_money_of_the_ones_before() -> None:
    decisions = _decide(500, 500, 10, line=_line(), available={NHS: 600, COUNCIL: 1_000})
    assert isinstance(decisions[0], Accepted)
    assert decisions[0].parts == (300, 200, 0)
    assert isinstance(decisions[1], Accepted)
    assert decisions[1].parts == (300, 200, 0)
    # NHS is spent; the line has nothing left either, and the line limit comes first.
    assert _refusal(decisions[2])[0] == "PLAN_LINE_EXCEEDED"
    short = _decide(500, 500, line=_line(cost_pence=2_000), available={NHS: 599, COUNCIL: 10_000})
    assert isinstance(short[0], Accepted)
    assert _refusal(short[1])[2]["nhs_available_pence"] == "299"


def test_a_refused_ask_takes_nothing_from_the_asks_after_it() -> None:
    decisions = _decide(2_000, 1_000, line=_line())
    assert _refusal(decisions[0])[0] == "PLAN_LINE_EXCEEDED"
    assert isinstance(decisions[1], Accepted)
    assert decisions[1].parts == (600, 400, 0)


def test_the_line_commitment_so_far_sets_the_next_parts() -> None:
    # 1p of 6000/4000 first goes to NHS; with NHS already ahead, the next 1p goes to council.
    (first,) = _decide(1, line=_line())
    (second,) = _decide(1, line=_line(committed_pence=1, committed_parts=(1, 0, 0)))
    assert isinstance(first, Accepted)
    assert first.parts == (1, 0, 0)
    assert isinstance(second, Accepted)
    assert second.parts == (0, 1, 0)


def test_plan_line_methods() -> None:
    line = _line(cost_pence=1_001, committed_pence=1, committed_parts=(1, 0, 0))
    assert line.funded_parts() == (601, 400, 0)
    assert line.next_parts(1) == (0, 1, 0)  # from the line's own commitment
    assert line.next_parts(1, done=(0, 0, 0)) == (1, 0, 0)


# -- after the ledger ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("results", "reason", "message", "code"),
    [
        (
            [R.EXCEEDS_AVAILABLE_BALANCE],
            "INSUFFICIENT_FUNDS",
            "a funding stream of the budget has too little available",
            "exceeds_available_balance",
        ),
        (
            [R.EXISTS, R.PENDING_TRANSFER_EXPIRED],
            "RESERVATION_EXPIRED",
            "the reservation's hold has run out",
            "pending_transfer_expired",
        ),
        (
            [R.OK, R.LINKED_EVENT_FAILED, R.ACCOUNT_NOT_FOUND],
            "BUDGET_NOT_ACTIVE",
            "the ledger refused the payment's transfers",
            "account_not_found",
        ),
    ],
)
def test_the_ledger_mapping_in_full(results: list[R], reason: str, message: str, code: str) -> None:
    assert _refusal(ledger_refusal(results)) == (reason, message, {"ledger_result": code})


def test_after_the_ledger_a_state_rule_that_holds_now_comes_first() -> None:
    ask = PaymentAsk(BUDGET, LINE, PAYEE, 10)
    kwargs: dict[str, object] = {
        "line": _line(),
        "payee": PROVIDER,
        "today": TODAY,
        "excluded_categories": frozenset(),
    }
    stopped = refusal_after_ledger(
        ask,
        [R.EXCEEDS_AVAILABLE_BALANCE],
        ctx=BudgetContext(_budget(), True),
        **kwargs,  # type: ignore[arg-type]
    )
    assert stopped.reason == "PAYMENTS_STOPPED"
    gone = refusal_after_ledger(ask, [R.EXCEEDS_AVAILABLE_BALANCE], ctx=None, **kwargs)  # type: ignore[arg-type]
    assert gone.reason == "BUDGET_NOT_FOUND"
    # A line now too small is a money rule: the ledger's own reason stays.
    small = refusal_after_ledger(
        PaymentAsk(BUDGET, LINE, PAYEE, 10),
        [R.EXCEEDS_AVAILABLE_BALANCE],
        ctx=BudgetContext(_budget(), False),
        line=_line(cost_pence=5),
        payee=PROVIDER,
        today=TODAY,
        excluded_categories=frozenset(),
    )
    assert _refusal(small) == (
        "INSUFFICIENT_FUNDS",
        "a funding stream of the budget has too little available",
        {"ledger_result": "exceeds_available_balance"},
    )
    # What the line already holds does not matter after the ledger: the ledger decided money.
    full = refusal_after_ledger(
        PaymentAsk(BUDGET, LINE, PAYEE, 10),
        [R.EXCEEDS_AVAILABLE_BALANCE],
        ctx=BudgetContext(_budget(), False),
        line=_line(cost_pence=10, committed_pence=10, committed_parts=(6, 4, 0)),
        payee=PROVIDER,
        today=TODAY,
        excluded_categories=frozenset(),
    )
    assert full.reason == "INSUFFICIENT_FUNDS"


def test_money_refusals_are_the_line_limit_and_funds() -> None:
    assert model.is_money_refusal(model.PlanLineExceeded("x"))
    assert model.is_money_refusal(model.InsufficientFunds("x"))
    assert not model.is_money_refusal(model.PaymentsStopped("x"))
    assert not model.is_money_refusal(model.BudgetNotActive("x"))


# -- confirms, returns, proportions --------------------------------------------------------------


def test_confirm_parts_edges() -> None:
    assert model.confirm_parts((601, 400, 0), 0) == ((0, 0, 0), (601, 400, 0))
    assert model.confirm_parts((0, 0, 7), 7) == ((0, 0, 7), (0, 0, 0))
    with pytest.raises(model.ConfirmExceedsReserved) as over:
        model.confirm_parts((1, 0, 0), 2)
    assert over.value.message == "the amount exceeds what was reserved"


def test_return_parts_message() -> None:
    with pytest.raises(model.ReturnExceedsPayment) as over:
        model.return_parts((5, 0, 0), (0, 0, 0), 6)
    assert over.value.message == "the return exceeds what is left of the payment"
    assert model.return_parts((5, 5, 0), (0, 0, 0), 10) == (5, 5, 0)


def test_proportional_parts() -> None:
    assert model.proportional_parts(10, [600, 400, 0]) == [6, 4, 0]
    assert model.proportional_parts(1_000, [600, 400, 0]) == [600, 400, 0]
    with pytest.raises(AssertionError):
        model.proportional_parts(0, [1, 0, 0])
    with pytest.raises(AssertionError):
        model.proportional_parts(2, [1, 0, 0])


def test_parts_arithmetic() -> None:
    assert model.add_parts((1, 2, 3), (10, 20, 30)) == (11, 22, 33)
    assert model.sub_parts((11, 22, 33), (1, 2, 3)) == (10, 20, 30)
    with pytest.raises(ValueError, match="zip"):
        model.add_parts((1, 2, 3), (1, 2))


def test_an_ask_refused_for_funds_leaves_the_rest_of_the_batch_going() -> None:
    asks = (1_000, 10, 5)
    decisions = _decide(*asks, line=_line(), available={NHS: 599, COUNCIL: 10_000})
    assert _refusal(decisions[0])[0] == "INSUFFICIENT_FUNDS"
    accepted = [d for d in decisions[1:] if isinstance(d, Accepted)]
    assert [(d.ask.amount_pence, d.parts) for d in accepted] == [(10, (6, 4, 0)), (5, (3, 2, 0))]
    # Each answer is for its own ask, in order.
    assert [d.ask for d in accepted] == [PaymentAsk(BUDGET, LINE, PAYEE, a) for a in asks[1:]]
