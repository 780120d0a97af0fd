"""The pure rules of how a budget's money may be held and paid (payment/domain): the management
option decides who a line pays (Standing Rules reg 32B(2)), a direct-payment account holds one
person's money, paid services fall in the budget's period, and a direct-payment schedule covers
its line (SI 2013/1617 reg 13). Amounts are integer pence, dates England's."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onebudget.payment.domain import errors
from onebudget.payment.domain.model import (
    Budget,
    BudgetContext,
    Payee,
    PayeeKind,
    PaymentAsk,
    PlanLine,
    check_payment,
    decide_payments,
    payee_for_option,
    service_period_refusal,
)
from onebudget.payment.domain.schedules import (
    check_schedule,
    instalment_bounds,
    instalment_count,
    instalment_pence_due,
    instalment_period,
    schedule_end,
)
from onebudget.shared.errors import DomainError, FailedPrecondition

D = date.fromisoformat
PERSON = uuid.UUID(int=4)
BUDGET = Budget(
    budget_id=uuid.UUID(int=1),
    person_id=PERSON,
    commissioner_ods_code="QNQ",
    council_gss_code="E10000015",
    state="AGREED",
    start_date=D("2026-04-01"),
    end_date=D("2027-03-31"),
    accounts=(uuid.UUID(int=10), uuid.UUID(int=11), uuid.UUID(int=12)),
)
LINE = PlanLine(
    plan_line_id=uuid.UUID(int=2),
    budget_id=BUDGET.budget_id,
    category="personal_care",
    cost_pence=520_000,
    basis_points=(10_000, 0, 0),
    management_option="DIRECT_PAYMENT",
    allowed_payee_id=None,
    allowed_payee_kind="",
    agreed=True,
    removed=False,
    committed_pence=0,
)
ACCOUNT = Payee(uuid.UUID(int=3), PayeeKind.DIRECT_PAYMENT_ACCOUNT, False, False, PERSON)
PROVIDER = Payee(uuid.UUID(int=5), PayeeKind.PROVIDER, False, False)
ASK = PaymentAsk(BUDGET.budget_id, LINE.plan_line_id, ACCOUNT.payee_id, 1_000)
TODAY = D("2026-06-15")


def _check(
    ask: PaymentAsk = ASK,
    *,
    budget: Budget = BUDGET,
    line: PlanLine = LINE,
    payee: Payee = ACCOUNT,
    excluded: frozenset[str] = frozenset({"alcohol"}),
) -> str | None:
    refused = check_payment(
        ask,
        budget=budget,
        line=line,
        payee=payee,
        stopped=False,
        excluded_categories=excluded,
        line_committed_pence=0,
        today=TODAY,
    )
    return None if refused is None else refused.reason


# -- item 8: the management option decides who a line pays ----------------------------------------


@pytest.mark.parametrize(
    ("option", "kind", "reason"),
    [
        ("DIRECT_PAYMENT", PayeeKind.DIRECT_PAYMENT_ACCOUNT, None),
        ("DIRECT_PAYMENT", PayeeKind.PROVIDER, errors.PAYEE_NOT_FOR_MANAGEMENT_OPTION),
        ("DIRECT_PAYMENT", PayeeKind.PERSONAL_ASSISTANT, errors.PAYEE_NOT_FOR_MANAGEMENT_OPTION),
        (
            "DIRECT_PAYMENT",
            PayeeKind.THIRD_PARTY_ORGANISATION,
            errors.PAYEE_NOT_FOR_MANAGEMENT_OPTION,
        ),
        ("NOTIONAL", PayeeKind.PROVIDER, None),
        ("NOTIONAL", PayeeKind.PERSONAL_ASSISTANT, None),
        ("NOTIONAL", PayeeKind.DIRECT_PAYMENT_ACCOUNT, errors.PAYEE_NOT_FOR_MANAGEMENT_OPTION),
        ("THIRD_PARTY", PayeeKind.THIRD_PARTY_ORGANISATION, None),
        ("THIRD_PARTY", PayeeKind.PROVIDER, None),
        ("THIRD_PARTY", PayeeKind.DIRECT_PAYMENT_ACCOUNT, errors.PAYEE_NOT_FOR_MANAGEMENT_OPTION),
    ],
)
def test_the_management_option_decides_who_the_line_pays(
    option: str, kind: PayeeKind, reason: str | None
) -> None:
    """Standing Rules reg 32B(2): a direct payment goes to the person's direct-payment account;
    notional and third-party money never does."""
    payee = replace(ACCOUNT, kind=kind, person_id=PERSON if kind == ACCOUNT.kind else None)
    assert _check(line=replace(LINE, management_option=option), payee=payee) == reason


def test_the_management_rule_is_a_failed_precondition_naming_the_option() -> None:
    refused = payee_for_option(LINE, PROVIDER, PERSON)
    assert isinstance(refused, FailedPrecondition)
    assert refused.metadata == {"management_option": "DIRECT_PAYMENT", "payee_kind": "PROVIDER"}


def test_the_management_rule_answers_after_the_plan_and_before_the_plans_payee_rule() -> None:
    """Precedence: CATEGORY_EXCLUDED (the plan) before it; PAYEE_NOT_ALLOWED (the plan's own
    payee rule) after it."""
    assert _check(line=replace(LINE, category="alcohol"), payee=PROVIDER) == "CATEGORY_EXCLUDED"
    named = replace(LINE, allowed_payee_id=uuid.UUID(int=99))
    assert _check(line=named, payee=PROVIDER) == errors.PAYEE_NOT_FOR_MANAGEMENT_OPTION
    assert _check(line=named, payee=ACCOUNT) == errors.PAYEE_NOT_ALLOWED


# -- item 9: a direct-payment account belongs to one person ---------------------------------------


def test_a_direct_payment_account_is_paid_only_from_its_holders_budgets() -> None:
    assert _check() is None
    other = replace(ACCOUNT, person_id=uuid.UUID(int=77))
    assert _check(payee=other) == errors.DIRECT_PAYMENT_ACCOUNT_OF_ANOTHER_PERSON
    refused = payee_for_option(LINE, other, PERSON)
    assert refused is not None
    assert refused.metadata["account_person_id"] == str(uuid.UUID(int=77))
    assert refused.metadata["budget_person_id"] == str(PERSON)


def test_an_account_without_a_known_holder_is_not_paid() -> None:
    """An account from before holders were recorded that served several people."""
    assert _check(payee=replace(ACCOUNT, person_id=None)) == (
        errors.DIRECT_PAYMENT_ACCOUNT_OF_ANOTHER_PERSON
    )


# -- item 10: paid services fall in the budget's period -------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "outside"),
    [
        ("2024-01-01", "2024-01-31", True),
        ("2028-06-01", "2028-06-30", True),
        ("2026-03-31", "2026-04-30", True),
        ("2027-03-01", "2027-04-01", True),
        ("2026-04-01", "2027-03-31", False),
        ("2026-05-01", None, False),
        (None, "2027-04-01", True),
        (None, None, False),
    ],
)
def test_services_paid_for_lie_within_the_budgets_period(
    start: str | None, end: str | None, outside: bool
) -> None:
    first = D(start) if start else None
    last = D(end) if end else None
    refused = service_period_refusal(BUDGET, first, last)
    assert (refused is not None) == outside
    ask = replace(ASK, period_start=first, period_end=last)
    assert _check(ask) == (errors.SERVICE_PERIOD_OUTSIDE_BUDGET if outside else None)


def test_a_budget_with_no_dates_takes_any_period() -> None:
    undated = replace(BUDGET, start_date=None, end_date=None)
    assert service_period_refusal(undated, D("1999-01-01"), D("2099-01-01")) is None


def test_the_service_period_answers_after_the_budgets_state_and_before_the_plan() -> None:
    ask = replace(ASK, period_start=D("2024-01-01"), period_end=D("2024-01-31"))
    assert _check(ask, budget=replace(BUDGET, state="DRAFT")) == errors.BUDGET_NOT_ACTIVE
    assert _check(ask, line=replace(LINE, agreed=False)) == errors.SERVICE_PERIOD_OUTSIDE_BUDGET


def test_decide_payments_refuses_a_period_outside_and_pays_one_inside() -> None:
    outside = replace(ASK, period_start=D("2028-06-01"), period_end=D("2028-06-30"))
    inside = replace(ASK, period_start=D("2026-06-01"), period_end=D("2026-06-30"))
    decided = decide_payments(
        [outside, inside],
        budgets={BUDGET.budget_id: BudgetContext(BUDGET, stopped=False)},
        lines={LINE.plan_line_id: LINE},
        payees={ACCOUNT.payee_id: ACCOUNT},
        available={a: 10**6 for a in BUDGET.accounts if a is not None},
        today=TODAY,
        excluded_categories=frozenset(),
    )
    assert isinstance(decided[0], DomainError)
    assert decided[0].reason == errors.SERVICE_PERIOD_OUTSIDE_BUDGET
    assert not isinstance(decided[1], DomainError)


# -- item 11: a schedule covers the plan ---------------------------------------------------------


def _schedule(
    instalment: int,
    *,
    line: PlanLine = LINE,
    budget: Budget = BUDGET,
    every_weeks: int = 4,
    start: str = "2026-04-01",
    end: str | None = None,
    left: int | None = None,
) -> str | None:
    refused = check_schedule(
        budget,
        line,
        instalment_pence=instalment,
        every_weeks=every_weeks,
        start=D(start),
        end=D(end) if end else None,
        line_left_pence=line.cost_pence if left is None else left,
    )
    return None if refused is None else refused.reason


def test_one_penny_every_four_weeks_does_not_cover_a_5200_pound_line() -> None:
    """The reproduction: 14 instalments fall due in 2026-27 from 1 April, so each pays at least
    ceil(520,000 / 14) = 37,143p and at most 519,999 // 13 = 39,999p."""
    assert instalment_count(D("2026-04-01"), D("2027-03-31"), 4) == 14
    assert instalment_bounds(520_000, 14) == (37_143, 39_999)
    assert _schedule(1) == errors.SCHEDULE_DOES_NOT_COVER_LINE
    assert _schedule(37_142) == errors.SCHEDULE_DOES_NOT_COVER_LINE
    assert _schedule(37_143) is None
    assert _schedule(39_999) is None
    assert _schedule(40_000) == errors.SCHEDULE_EXCEEDS_LINE


def test_the_cover_is_counted_over_the_schedules_own_period_and_whats_left() -> None:
    # From 1 October: 7 instalments to 31 March; 260,000 left after half was paid.
    assert instalment_count(D("2026-10-01"), D("2027-03-31"), 4) == 7
    assert instalment_bounds(260_000, 7) == (37_143, 43_333)
    assert _schedule(37_143, start="2026-10-01", left=260_000) is None
    assert _schedule(37_143, start="2026-10-01") == errors.SCHEDULE_DOES_NOT_COVER_LINE
    # A schedule to its own end date: 4 weekly instalments in April.
    assert _schedule(130_000, every_weeks=1, end="2026-04-22") is None
    assert _schedule(129_999, every_weeks=1, end="2026-04-22") == (
        errors.SCHEDULE_DOES_NOT_COVER_LINE
    )


def test_a_single_instalment_pays_exactly_what_is_left() -> None:
    assert instalment_bounds(5_000, 1) == (5_000, 5_000)
    assert _schedule(5_000, end="2026-04-01", left=5_000) is None
    assert _schedule(4_999, end="2026-04-01", left=5_000) == errors.SCHEDULE_DOES_NOT_COVER_LINE
    assert _schedule(5_001, end="2026-04-01", left=5_000) == errors.SCHEDULE_EXCEEDS_LINE


def test_a_schedule_runs_only_on_a_direct_payment_line_inside_the_budget() -> None:
    for option in ("NOTIONAL", "THIRD_PARTY", ""):
        line = replace(LINE, management_option=option)
        assert _schedule(37_143, line=line) == errors.NOT_A_DIRECT_PAYMENT_LINE
    assert _schedule(37_143, start="2026-03-31") == errors.SCHEDULE_OUTSIDE_BUDGET
    assert _schedule(37_143, end="2027-04-01") == errors.SCHEDULE_OUTSIDE_BUDGET
    assert schedule_end(BUDGET, None) == D("2027-03-31")
    assert schedule_end(BUDGET, D("2026-12-31")) == D("2026-12-31")


def test_fewer_pence_left_than_instalments_cannot_be_scheduled() -> None:
    assert instalment_bounds(13, 14) == (1, 0)
    assert _schedule(1, left=13) == errors.SCHEDULE_EXCEEDS_LINE
    assert _schedule(1, left=14) is None
    assert instalment_bounds(4, 3) == (2, 1)  # 1p does not cover it, 2p pays it all by the 2nd
    for each in (1, 2):
        assert _schedule(each, end="2026-05-27", left=4) is not None


def test_with_no_end_known_an_instalment_must_still_fit_in_the_line() -> None:
    open_budget = replace(BUDGET, end_date=None)
    assert _schedule(1, budget=open_budget) is None
    assert _schedule(520_001, budget=open_budget) == errors.SCHEDULE_EXCEEDS_LINE
    assert _schedule(1, budget=open_budget, left=0) == errors.SCHEDULE_EXCEEDS_LINE


def test_the_last_instalment_pays_only_what_is_left_of_the_line() -> None:
    assert instalment_pence_due(37_143, 520_000) == 37_143
    assert instalment_pence_due(37_143, 37_141) == 37_141
    assert instalment_pence_due(37_143, 0) == 37_143  # refused PLAN_LINE_EXCEEDED by payment


def test_an_instalment_never_pays_for_days_after_the_end() -> None:
    assert instalment_period(D("2027-03-31"), 4, D("2027-03-31")) == (
        D("2027-03-31"),
        D("2027-03-31"),
    )
    assert instalment_period(D("2026-04-01"), 4, D("2027-03-31")) == (
        D("2026-04-01"),
        D("2026-04-28"),
    )
    assert instalment_period(D("2026-04-01"), 4, None) == (D("2026-04-01"), D("2026-04-28"))


@given(
    count=st.integers(1, 400),
    extra=st.integers(0, 10**9),
    pick=st.floats(0, 1),
)
def test_every_instalment_the_bounds_allow_covers_the_line_within_it(
    count: int, extra: int, pick: float
) -> None:
    """Any instalment between the bounds pays the line in full over `count` instalments, with
    the last cut to what is left and every earlier one whole. The bounds meet whenever
    left >= count^2."""
    left = count * count + extra
    least, most = instalment_bounds(left, count)
    assert least <= most
    each = least + int((most - least) * pick)
    paid, rest = [], left
    for _ in range(count):
        amount = min(each, rest)
        assert amount > 0
        paid.append(amount)
        rest -= amount
    assert sum(paid) == left
    assert paid[:-1] == [each] * (count - 1)
    if least > 1:
        assert (least - 1) * count < left  # one penny less would not cover
    if count > 1:
        assert (most + 1) * (count - 1) >= left  # one penny more would pass the line early
