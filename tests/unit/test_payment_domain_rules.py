"""The pure payment rules (payment/domain): may this payment be made, in which order the rules
are checked, how it splits across funders, what a short stream reports, and the direct-payment
schedule arithmetic. Amounts are integer pence, splits basis points, dates England's."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

import pytest

from onebudget.ledger.domain import FundingStream
from onebudget.payment.domain import errors
from onebudget.payment.domain.model import (
    Budget,
    Payee,
    PayeeKind,
    PaymentAsk,
    PlanLine,
    check_funds,
    check_payment,
    proportional_parts,
)
from onebudget.payment.domain.schedules import (
    InstalmentPlan,
    due_date,
    offset_excess_pence,
    offset_threshold_pence,
    period_end,
    plan_instalment,
    unspent_after,
)
from onebudget.shared.errors import DomainError, FailedPrecondition, NotFound

D = date.fromisoformat
TODAY = D("2026-06-15")
BUDGET_ID = uuid.UUID(int=1)
LINE_ID = uuid.UUID(int=2)
PAYEE_ID = uuid.UUID(int=3)

BUDGET = Budget(
    budget_id=BUDGET_ID,
    person_id=uuid.UUID(int=4),
    commissioner_ods_code="QNQ",
    council_gss_code="E10000015",
    state="AGREED",
    start_date=D("2026-04-01"),
    end_date=D("2027-03-31"),
    accounts=(uuid.UUID(int=10), uuid.UUID(int=11), uuid.UUID(int=12)),
)
LINE = PlanLine(
    plan_line_id=LINE_ID,
    budget_id=BUDGET_ID,
    category="personal_care",
    cost_pence=10_000,
    basis_points=(6000, 4000, 0),
    management_option="NOTIONAL",
    allowed_payee_id=None,
    allowed_payee_kind="",
    agreed=True,
    removed=False,
    committed_pence=0,
)
PROVIDER = Payee(PAYEE_ID, PayeeKind.PROVIDER, close_family=False, approved=False)
ASK = PaymentAsk(BUDGET_ID, LINE_ID, PAYEE_ID, 1_000)


def _check(
    ask: PaymentAsk = ASK,
    *,
    budget: Budget | None = BUDGET,
    line: PlanLine | None = LINE,
    payee: Payee | None = PROVIDER,
    stopped: bool = False,
    excluded: frozenset[str] = frozenset({"alcohol"}),
    committed: int = 0,
    today: date = TODAY,
) -> DomainError | None:
    return check_payment(
        ask,
        budget=budget,
        line=line,
        payee=payee,
        stopped=stopped,
        excluded_categories=excluded,
        line_committed_pence=committed,
        today=today,
    )


def _reason(error: DomainError | None) -> str | None:
    return None if error is None else error.reason


# -- the stop (reg 17): death or consent withdrawn stops every payment ----------------------------


def test_payments_stopped_refuses_an_otherwise_good_payment() -> None:
    """Guards the PAYMENTS_STOPPED check: a stopped person's payment is refused even though the
    budget is agreed and active and the line has room."""
    assert _check() is None
    refused = _check(stopped=True)
    assert isinstance(refused, FailedPrecondition)
    assert refused.reason == errors.PAYMENTS_STOPPED
    assert refused.metadata == {"budget_id": str(BUDGET_ID)}


def test_payments_stopped_comes_before_every_line_rule() -> None:
    """The stop is a state rule: it answers before the plan line's rules (not agreed, excluded
    category, payee, line exceeded) would."""
    for line, ask in [
        (replace(LINE, agreed=False), ASK),
        (replace(LINE, category="alcohol"), ASK),
        (LINE, replace(ASK, amount_pence=10_001)),
    ]:
        assert _reason(_check(ask, line=line, stopped=True)) == errors.PAYMENTS_STOPPED


def test_the_stop_answers_before_an_inactive_budget() -> None:
    """The documented precedence (payment/domain/model.py): stopped, then not active."""
    ended = replace(BUDGET, state="ENDED")
    assert _reason(_check(budget=ended, stopped=True)) == errors.PAYMENTS_STOPPED
    assert _reason(_check(budget=ended)) == errors.BUDGET_NOT_ACTIVE


# -- the order of the other checks ----------------------------------------------------------------


def test_unknown_budget_then_unknown_payee_are_not_found() -> None:
    """A missing budget answers first; a missing payee after the budget and its line."""
    missing_budget = _check(payee=None, budget=None)
    assert isinstance(missing_budget, NotFound)
    assert missing_budget.reason == errors.BUDGET_NOT_FOUND
    assert missing_budget.metadata == {"budget_id": str(BUDGET_ID)}
    missing_payee = _check(payee=None)
    assert isinstance(missing_payee, NotFound)
    assert missing_payee.reason == errors.PAYEE_NOT_FOUND
    assert missing_payee.metadata == {"payee_id": str(PAYEE_ID)}
    assert _reason(_check(payee=None, line=None)) == errors.PLAN_LINE_NOT_FOUND


@pytest.mark.parametrize(
    ("state", "start", "end", "today", "active"),
    [
        ("AGREED", "2026-04-01", "2027-03-31", "2026-04-01", True),  # first day
        ("AGREED", "2026-04-01", "2027-03-31", "2027-03-31", True),  # last day
        ("AGREED", "2026-04-01", "2027-03-31", "2026-03-31", False),  # the day before
        ("AGREED", "2026-04-01", "2027-03-31", "2027-04-01", False),  # the day after
        ("AGREED", None, None, "2099-01-01", True),  # open-ended
        ("DRAFT", "2026-04-01", "2027-03-31", "2026-06-15", False),
        ("ENDED", "2026-04-01", "2027-03-31", "2026-06-15", False),
    ],
)
def test_a_budget_is_active_when_agreed_and_inside_its_period(
    state: str, start: str | None, end: str | None, today: str, active: bool
) -> None:
    budget = replace(
        BUDGET,
        state=state,
        start_date=D(start) if start else None,
        end_date=D(end) if end else None,
    )
    assert budget.active_on(D(today)) is active
    refused = _check(budget=budget, today=D(today))
    if active:
        assert refused is None
    else:
        assert isinstance(refused, FailedPrecondition)
        assert refused.reason == errors.BUDGET_NOT_ACTIVE
        assert refused.metadata == {"budget_id": str(BUDGET_ID), "state": state}


@pytest.mark.parametrize(
    "line",
    [
        None,
        replace(LINE, budget_id=uuid.UUID(int=99)),  # a line of another budget
        replace(LINE, removed=True),
    ],
)
def test_a_line_missing_from_this_budget_is_not_found(line: PlanLine | None) -> None:
    refused = _check(line=line)
    assert isinstance(refused, NotFound)
    assert refused.reason == errors.PLAN_LINE_NOT_FOUND
    assert refused.metadata == {"plan_line_id": str(LINE_ID)}


def test_a_line_not_yet_agreed_is_refused() -> None:
    refused = _check(line=replace(LINE, agreed=False))
    assert isinstance(refused, FailedPrecondition)
    assert refused.reason == errors.PLAN_LINE_NOT_AGREED


def test_an_excluded_category_is_refused_and_named() -> None:
    refused = _check(line=replace(LINE, category="alcohol"))
    assert isinstance(refused, FailedPrecondition)
    assert refused.reason == errors.CATEGORY_EXCLUDED
    assert refused.metadata == {"category": "alcohol"}
    assert _check(line=replace(LINE, category="alcohol"), excluded=frozenset()) is None


def test_a_payee_the_line_does_not_allow_is_refused_with_the_rule() -> None:
    named = uuid.UUID(int=77)
    refused = _check(line=replace(LINE, allowed_payee_id=named))
    assert isinstance(refused, FailedPrecondition)
    assert refused.reason == errors.PAYEE_NOT_ALLOWED
    assert refused.metadata == {
        "payee_kind": "PROVIDER",
        "allowed_payee_kind": "",
        "allowed_payee_id": str(named),
    }
    by_kind = _check(line=replace(LINE, allowed_payee_kind="PERSONAL_ASSISTANT"))
    assert isinstance(by_kind, FailedPrecondition)
    assert by_kind.metadata["allowed_payee_id"] == ""
    assert by_kind.metadata["allowed_payee_kind"] == "PERSONAL_ASSISTANT"


@pytest.mark.parametrize(
    ("allowed_id", "allowed_kind", "payee", "allowed"),
    [
        (None, "", PROVIDER, True),  # anyone
        (PAYEE_ID, "", PROVIDER, True),  # the named payee
        (uuid.UUID(int=77), "", PROVIDER, False),
        (None, "PROVIDER", PROVIDER, True),  # a kind
        (None, "PERSONAL_ASSISTANT", PROVIDER, False),
        (PAYEE_ID, "PERSONAL_ASSISTANT", PROVIDER, False),  # both must hold
        # The plan's own names: the person or a nominee are paid to the direct-payment account.
        (None, "PERSON", replace(PROVIDER, kind=PayeeKind.DIRECT_PAYMENT_ACCOUNT), True),
        (None, "NOMINEE", replace(PROVIDER, kind=PayeeKind.DIRECT_PAYMENT_ACCOUNT), True),
        (None, "PERSON", PROVIDER, False),
        # A family member is a personal assistant who is close family.
        (
            None,
            "FAMILY_MEMBER",
            replace(PROVIDER, kind=PayeeKind.PERSONAL_ASSISTANT, close_family=True),
            True,
        ),
        (None, "FAMILY_MEMBER", replace(PROVIDER, kind=PayeeKind.PERSONAL_ASSISTANT), False),
        (None, "FAMILY_MEMBER", replace(PROVIDER, close_family=True), False),
        # A plain personal-assistant line takes family and non-family assistants alike.
        (
            None,
            "PERSONAL_ASSISTANT",
            replace(PROVIDER, kind=PayeeKind.PERSONAL_ASSISTANT, close_family=True),
            True,
        ),
    ],
)
def test_the_plans_payee_rule(
    allowed_id: uuid.UUID | None, allowed_kind: str, payee: Payee, allowed: bool
) -> None:
    line = replace(LINE, allowed_payee_id=allowed_id, allowed_payee_kind=allowed_kind)
    assert line.payee_allowed(payee) is allowed


def test_a_close_family_payee_needs_a_recorded_approval() -> None:
    family = replace(PROVIDER, kind=PayeeKind.PERSONAL_ASSISTANT, close_family=True)
    refused = _check(payee=family)
    assert isinstance(refused, FailedPrecondition)
    assert refused.reason == errors.FAMILY_PAYEE_NOT_APPROVED
    assert refused.metadata == {"payee_id": str(PAYEE_ID)}
    assert _check(payee=replace(family, approved=True)) is None
    assert _check(payee=replace(PROVIDER, approved=False)) is None  # not family: no approval


def test_a_payment_may_take_exactly_what_is_left_of_its_line_and_no_more() -> None:
    assert _check(replace(ASK, amount_pence=4_000), committed=6_000) is None
    refused = _check(replace(ASK, amount_pence=4_001), committed=6_000)
    assert isinstance(refused, FailedPrecondition)
    assert refused.reason == errors.PLAN_LINE_EXCEEDED
    assert refused.metadata == {
        "remaining_pence": "4000",
        "requested_pence": "4001",
        "shortfall_pence": "1",
    }


def test_line_rules_answer_in_their_documented_order() -> None:
    """payee, budget, stop, plan line, category, payee rule, family approval, line limit."""
    family = replace(PROVIDER, kind=PayeeKind.PERSONAL_ASSISTANT, close_family=True)
    worst = replace(
        LINE, agreed=False, category="alcohol", allowed_payee_kind="PROVIDER", cost_pence=1
    )
    steps = [
        (worst, errors.PLAN_LINE_NOT_AGREED),
        (replace(worst, agreed=True), errors.CATEGORY_EXCLUDED),
        (replace(worst, agreed=True, category="personal_care"), errors.PAYEE_NOT_ALLOWED),
        (
            replace(worst, agreed=True, category="personal_care", allowed_payee_kind=""),
            errors.FAMILY_PAYEE_NOT_APPROVED,
        ),
    ]
    for line, reason in steps:
        assert _reason(_check(line=line, payee=family)) == reason
    assert _reason(_check(line=replace(LINE, cost_pence=1))) == errors.PLAN_LINE_EXCEEDED


# -- splits and funds -----------------------------------------------------------------------------


def test_a_payment_splits_by_its_lines_basis_points_exactly() -> None:
    # A line's first payment: the line's own split F (of 10,000p) apportioned to 1,001p.
    assert replace(LINE, basis_points=(6000, 4000, 0)).next_parts(1_001) == (601, 400, 0)
    assert replace(LINE, basis_points=(5000, 3000, 2000)).next_parts(1_001) == (501, 300, 200)


def test_enough_in_every_stream_is_no_refusal() -> None:
    available = {FundingStream.NHS: 600, FundingStream.COUNCIL: 400}
    assert check_funds((600, 400, 0), available) is None


def test_a_short_stream_is_refused_with_its_shortfall() -> None:
    available = {FundingStream.NHS: 599, FundingStream.COUNCIL: 400, FundingStream.CLIENT: 0}
    refused = check_funds((600, 400, 0), available)
    assert refused is not None
    assert refused.reason == errors.INSUFFICIENT_FUNDS
    assert refused.metadata == {
        "streams": "NHS",
        "nhs_shortfall_pence": "1",
        "nhs_available_pence": "599",
        "nhs_requested_pence": "600",
    }


def test_every_short_stream_is_named_and_a_missing_stream_holds_nothing() -> None:
    refused = check_funds((10, 20, 30), {FundingStream.NHS: 10})
    assert refused is not None
    assert refused.metadata["streams"] == "COUNCIL,CLIENT"
    assert refused.metadata["council_shortfall_pence"] == "20"
    assert refused.metadata["council_available_pence"] == "0"
    assert refused.metadata["client_requested_pence"] == "30"
    assert "nhs_shortfall_pence" not in refused.metadata


def test_a_zero_part_needs_no_funds_even_from_an_overdrawn_stream() -> None:
    assert check_funds((0, 5, 0), {FundingStream.NHS: -3, FundingStream.COUNCIL: 5}) is None


def test_returns_split_in_proportion_to_what_each_stream_paid() -> None:
    assert proportional_parts(333, [501, 300, 200]) == [167, 100, 66]
    assert proportional_parts(1_001, [501, 300, 200]) == [501, 300, 200]  # all of it back
    assert proportional_parts(1, [0, 0, 7]) == [0, 0, 1]


# -- direct-payment schedules ---------------------------------------------------------------------


def test_instalments_fall_due_every_so_many_weeks_from_the_start() -> None:
    start = D("2026-04-06")
    assert due_date(start, 4, 1) == start
    assert due_date(start, 4, 2) == D("2026-05-04")
    assert due_date(start, 2, 3) == D("2026-05-04")


def test_an_instalment_pays_for_the_weeks_up_to_the_day_before_the_next() -> None:
    assert period_end(D("2026-04-06"), 4) == D("2026-05-03")
    assert period_end(D("2026-04-06"), 1) == D("2026-04-12")


def test_the_offset_threshold_is_weeks_of_the_weekly_rate_rounded_down() -> None:
    assert offset_threshold_pence(40_000, 4, 8) == 80_000
    assert offset_threshold_pence(10_001, 4, 8) == 20_002
    assert offset_threshold_pence(10_001, 3, 8) == 26_669  # 26,669.33 rounds down


def test_only_the_unused_money_above_the_threshold_is_offset() -> None:
    assert offset_excess_pence(95_000, 80_000) == 15_000
    assert offset_excess_pence(80_000, 80_000) == 0
    assert offset_excess_pence(79_999, 80_000) == 0


def test_an_instalment_bears_as_much_of_the_offset_as_it_can() -> None:
    assert plan_instalment(40_000, 15_000) == InstalmentPlan(40_000, 15_000)
    assert plan_instalment(40_000, 15_000).pay_pence == 25_000
    carried = plan_instalment(40_000, 55_000)
    assert (carried.offset_pence, carried.pay_pence) == (40_000, 0)
    assert plan_instalment(40_000, 0).pay_pence == 40_000


@pytest.mark.parametrize(
    ("stopped_on", "unspent"),
    [
        ("2026-04-05", 28_000),  # before the period: all of it
        ("2026-04-06", 27_000),  # on its first day: that day is the person's
        ("2026-04-20", 13_000),
        ("2026-05-02", 1_000),
        ("2026-05-03", 0),  # its last day
        ("2026-06-01", 0),  # after it
    ],
)
def test_the_part_paid_for_days_after_a_stop_is_unspent(stopped_on: str, unspent: int) -> None:
    assert unspent_after(28_000, D("2026-04-06"), 4, D(stopped_on)) == unspent


def test_unspent_rounds_down_so_the_person_keeps_the_odd_penny() -> None:
    assert unspent_after(40_000, D("2026-04-06"), 4, D("2026-04-06")) == 40_000 * 27 // 28
    assert unspent_after(10, D("2026-04-06"), 1, D("2026-04-06")) == 8  # 8.57 -> 8


# -- what each refusal says (the gRPC status message a person reads) -----------------------------


def test_each_refusal_says_what_is_wrong() -> None:
    family = replace(PROVIDER, kind=PayeeKind.PERSONAL_ASSISTANT, close_family=True)
    cases: list[tuple[DomainError | None, str]] = [
        (_check(payee=None), "no such payee"),
        (_check(budget=None), "no such budget"),
        (_check(budget=replace(BUDGET, state="DRAFT")), "the budget is not agreed and active"),
        (
            _check(stopped=True),
            "payments to this person have stopped (death or consent withdrawn)",
        ),
        (_check(line=None), "no such plan line in this budget"),
        (_check(line=replace(LINE, agreed=False)), "the plan line is not agreed"),
        (
            _check(line=replace(LINE, category="alcohol")),
            "the plan line's category may not be paid for",
        ),
        (
            _check(line=replace(LINE, allowed_payee_kind="PERSON")),
            "the plan line does not allow this payee",
        ),
        (
            _check(payee=family),
            "paying a close family member in the household needs a recorded approval",
        ),
        (
            _check(line=replace(LINE, cost_pence=1)),
            "the payment exceeds what is left of the plan line",
        ),
        (
            check_funds((1, 0, 0), {}),
            "a funding stream of the budget has too little available",
        ),
    ]
    for refused, message in cases:
        assert refused is not None
        assert refused.message == message
        assert str(refused) == message


def test_one_penny_short_is_short() -> None:
    refused = check_funds((1, 0, 0), {FundingStream.NHS: 0})
    assert refused is not None
    assert refused.metadata["nhs_shortfall_pence"] == "1"
    missing = check_funds((0, 1, 0), {FundingStream.NHS: 5})  # the council stream is absent
    assert missing is not None
    assert missing.metadata["council_available_pence"] == "0"


def test_funds_are_checked_for_exactly_the_three_streams() -> None:
    with pytest.raises(ValueError, match="zip"):
        check_funds((1, 2), {FundingStream.NHS: 5})


def test_a_return_takes_back_at_least_a_penny() -> None:
    with pytest.raises(AssertionError):
        proportional_parts(0, [1, 2, 3])
    with pytest.raises(AssertionError):
        proportional_parts(7, [1, 2, 3])  # more than was paid
