"""The payment model's refusals at their edges: each message and metadata dict exactly.

Complements tests/unit/test_payment_refusal_details.py: the grounds a stop names, a service
period outside the budget's (each end given or not, each budget date set or not), the management
option's two refusals and the direct-payment account of another person, and the stop grounds
carried through `check_payment`, `decide_payments` and `refusal_after_ledger`.
"""

from __future__ import annotations

import uuid
from datetime import date

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
    check_payment,
    decide_payments,
    payee_for_option,
    refusal_after_ledger,
    service_period_refusal,
    stopped_refusal,
)
from onebudget.shared.errors import DomainError
from tests.unit.test_payment_refusal_details import (
    BUDGET,
    CLIENT,
    COUNCIL,
    LINE,
    NHS,
    PAYEE,
    PERSON,
    _line,
)
from tests.unit.test_payment_refusal_details import _budget as _any_budget

TODAY = date(2026, 6, 1)
OTHER = uuid.UUID("00000000-0000-4000-8000-0000000000e2")

PERSON_STOPPED = "payments to this person have stopped (death or consent withdrawn)"
BUDGET_STOPPED = "payments against this budget are stopped (ineligibility, misuse or fraud: reg 17)"
OUTSIDE = "the services paid for fall outside the budget's period"
DIRECT_ONLY = "a direct-payment line pays only the person's direct-payment account"
NOT_DIRECT = "only a direct-payment line pays a direct-payment account"
ANOTHER = "a direct-payment account holds one person's direct payment only"


def _budget(**changes: object) -> Budget:
    """The budget of test_payment_refusal_details, held by PERSON (a direct-payment account's
    holder is checked against it)."""
    return _any_budget(**{"person_id": PERSON, **changes})


PROVIDER = Payee(PAYEE, PayeeKind.PROVIDER, False, False)
ASK = PaymentAsk(BUDGET, LINE, PAYEE, 10)


def _refusal(decision: Accepted | DomainError | None) -> tuple[str, str, dict[str, str]]:
    assert isinstance(decision, DomainError), decision
    return decision.reason, decision.message, dict(decision.metadata)


# -- stops --


@pytest.mark.parametrize(
    ("grounds", "message", "metadata"),
    [
        ("DEATH", PERSON_STOPPED, {"grounds": "DEATH"}),
        ("CONSENT_WITHDRAWN", PERSON_STOPPED, {"grounds": "CONSENT_WITHDRAWN"}),
        ("INELIGIBILITY", BUDGET_STOPPED, {"grounds": "INELIGIBILITY"}),
        ("MISUSE", BUDGET_STOPPED, {"grounds": "MISUSE"}),
        ("FRAUD", BUDGET_STOPPED, {"grounds": "FRAUD"}),
        ("", PERSON_STOPPED, {}),
    ],
)
def test_stopped_refusal_by_grounds(grounds: str, message: str, metadata: dict[str, str]) -> None:
    refused = stopped_refusal(BUDGET, True, grounds)
    assert isinstance(refused, model.PaymentsStopped)
    assert _refusal(refused) == (
        "PAYMENTS_STOPPED",
        message,
        {"budget_id": str(BUDGET), **metadata},
    )


def test_stopped_refusal_defaults_to_no_grounds() -> None:
    assert _refusal(stopped_refusal(BUDGET, True)) == (
        "PAYMENTS_STOPPED",
        PERSON_STOPPED,
        {"budget_id": str(BUDGET)},
    )
    assert stopped_refusal(BUDGET, False, "FRAUD") is None


def test_check_payment_passes_the_grounds_on() -> None:
    refused = check_payment(
        ASK,
        budget=_budget(),
        line=_line(),
        payee=PROVIDER,
        stopped=True,
        excluded_categories=frozenset(),
        line_committed_pence=0,
        today=TODAY,
        stop_grounds="FRAUD",
    )
    assert _refusal(refused) == (
        "PAYMENTS_STOPPED",
        BUDGET_STOPPED,
        {"budget_id": str(BUDGET), "grounds": "FRAUD"},
    )


def _decide_one(ctx: BudgetContext) -> Accepted | DomainError:
    (decision,) = decide_payments(
        [ASK],
        budgets={BUDGET: ctx},
        lines={LINE: _line()},
        payees={PAYEE: PROVIDER},
        available={NHS: 10**6, COUNCIL: 10**6, CLIENT: 10**6},
        today=TODAY,
        excluded_categories=frozenset(),
    )
    return decision


@pytest.mark.parametrize(
    ("grounds", "message", "metadata"),
    [
        ("MISUSE", BUDGET_STOPPED, {"grounds": "MISUSE"}),
        ("", PERSON_STOPPED, {}),
    ],
)
def test_decide_payments_passes_the_grounds_on(
    grounds: str, message: str, metadata: dict[str, str]
) -> None:
    refused = _decide_one(BudgetContext(_budget(), True, stop_grounds=grounds))
    assert _refusal(refused) == (
        "PAYMENTS_STOPPED",
        message,
        {"budget_id": str(BUDGET), **metadata},
    )


@pytest.mark.parametrize(
    ("grounds", "message", "metadata"),
    [
        ("FRAUD", BUDGET_STOPPED, {"grounds": "FRAUD"}),
        ("", PERSON_STOPPED, {}),
    ],
)
def test_refusal_after_ledger_passes_the_grounds_on(
    grounds: str, message: str, metadata: dict[str, str]
) -> None:
    refused = refusal_after_ledger(
        ASK,
        [R.EXCEEDS_AVAILABLE_BALANCE],
        ctx=BudgetContext(_budget(), True, stop_grounds=grounds),
        line=_line(),
        payee=PROVIDER,
        today=TODAY,
        excluded_categories=frozenset(),
    )
    assert _refusal(refused) == (
        "PAYMENTS_STOPPED",
        message,
        {"budget_id": str(BUDGET), **metadata},
    )


# -- the service period --


@pytest.mark.parametrize(
    ("budget", "start", "end", "metadata"),
    [
        (
            _budget(),
            date(2026, 3, 31),
            date(2026, 4, 30),
            ("2026-03-31", "2026-04-30", "2026-04-01", "2027-03-31"),
        ),
        (_budget(), date(2026, 3, 31), None, ("2026-03-31", "", "2026-04-01", "2027-03-31")),
        (_budget(), None, date(2027, 4, 1), ("", "2027-04-01", "2026-04-01", "2027-03-31")),
        # An open start: only the end date can be broken.
        (
            _budget(start_date=None),
            date(2027, 4, 1),
            None,
            ("2027-04-01", "", "", "2027-03-31"),
        ),
        # An open end: only the start date can be broken.
        (
            _budget(end_date=None),
            None,
            date(2026, 3, 31),
            ("", "2026-03-31", "2026-04-01", ""),
        ),
    ],
)
def test_service_period_outside_budget_metadata(
    budget: Budget, start: date | None, end: date | None, metadata: tuple[str, str, str, str]
) -> None:
    refused = service_period_refusal(budget, start, end)
    assert isinstance(refused, model.ServicePeriodOutsideBudget)
    assert _refusal(refused) == (
        "SERVICE_PERIOD_OUTSIDE_BUDGET",
        OUTSIDE,
        {
            "budget_id": str(BUDGET),
            "service_period_start": metadata[0],
            "service_period_end": metadata[1],
            "budget_start_date": metadata[2],
            "budget_end_date": metadata[3],
        },
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 4, 1), date(2027, 3, 31)),  # the budget's own first and last days
        (None, None),
        (date(2026, 4, 1), None),
        (None, date(2027, 3, 31)),
    ],
)
def test_service_period_inside_budget(start: date | None, end: date | None) -> None:
    assert service_period_refusal(_budget(), start, end) is None


# -- who a management option pays --


def _account(person_id: uuid.UUID | None) -> Payee:
    return Payee(PAYEE, PayeeKind.DIRECT_PAYMENT_ACCOUNT, False, False, person_id)


@pytest.mark.parametrize(
    ("option", "payee", "message"),
    [
        ("DIRECT_PAYMENT", PROVIDER, DIRECT_ONLY),
        ("NOTIONAL", _account(PERSON), NOT_DIRECT),
        ("THIRD_PARTY", _account(PERSON), NOT_DIRECT),
    ],
)
def test_payee_not_for_management_option(option: str, payee: Payee, message: str) -> None:
    refused = payee_for_option(_line(management_option=option), payee, PERSON)
    assert isinstance(refused, model.PayeeNotForManagementOption)
    assert _refusal(refused) == (
        "PAYEE_NOT_FOR_MANAGEMENT_OPTION",
        message,
        {"management_option": option, "payee_kind": payee.kind.value},
    )


@pytest.mark.parametrize(
    ("account_person", "budget_person", "account_meta", "budget_meta"),
    [
        (OTHER, PERSON, str(OTHER), str(PERSON)),
        (None, PERSON, "", str(PERSON)),  # an account whose holder was never told
        (PERSON, None, str(PERSON), ""),  # a budget with no person
        (None, None, "", ""),
    ],
)
def test_direct_payment_account_of_another_person(
    account_person: uuid.UUID | None,
    budget_person: uuid.UUID | None,
    account_meta: str,
    budget_meta: str,
) -> None:
    refused = payee_for_option(
        _line(management_option="DIRECT_PAYMENT"), _account(account_person), budget_person
    )
    assert isinstance(refused, model.DirectPaymentAccountOfAnotherPerson)
    assert _refusal(refused) == (
        "DIRECT_PAYMENT_ACCOUNT_OF_ANOTHER_PERSON",
        ANOTHER,
        {
            "payee_id": str(PAYEE),
            "account_person_id": account_meta,
            "budget_person_id": budget_meta,
        },
    )


def test_the_persons_own_account_and_an_unknown_option() -> None:
    direct = _line(management_option="DIRECT_PAYMENT")
    assert payee_for_option(direct, _account(PERSON), PERSON) is None
    assert payee_for_option(_line(management_option=""), PROVIDER, PERSON) is None
    # No option recorded: still only the person's own account.
    other = payee_for_option(_line(management_option=""), _account(OTHER), PERSON)
    assert isinstance(other, model.DirectPaymentAccountOfAnotherPerson)


# -- parts arithmetic --


def test_sub_parts_needs_one_entry_per_stream() -> None:
    with pytest.raises(ValueError, match="zip"):
        model.sub_parts((1, 2, 3), (1, 2))
    with pytest.raises(ValueError, match="zip"):
        model.sub_parts((1, 2, 3), (1, 2, 3, 4))
