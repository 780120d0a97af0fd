"""The one way to pay, pure: `decide_payments`, its refusal precedence, and parts over a plan
line's life through releases, reservations, confirms, cancels and returns (ADR 7)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

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
    confirm_parts,
    decide_payments,
    give_back_parts,
    ledger_refusal,
    refusal_after_ledger,
)
from onebudget.shared.errors import DomainError, FailedPrecondition, NotFound
from onebudget.shared.money import split_by_basis_points

TODAY = date(2026, 6, 1)
ACCOUNTS = (uuid.uuid4(), uuid.uuid4(), uuid.uuid4())


@dataclass
class World:
    bp: tuple[int, int, int] = (6000, 4000, 0)
    cost: int = 3_003
    stopped: bool = False
    state: str = "AGREED"
    ended_in_ledger: bool = False
    committed: tuple[int, int, int] = (0, 0, 0)
    funds: list[int] = field(default_factory=lambda: [10**9, 10**9, 10**9])
    budget_id: uuid.UUID = field(default_factory=uuid.uuid4)
    line_id: uuid.UUID = field(default_factory=uuid.uuid4)
    payee_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def ask(self, amount: int) -> PaymentAsk:
        return PaymentAsk(self.budget_id, self.line_id, self.payee_id, amount)

    def budgets(self) -> dict[uuid.UUID, BudgetContext]:
        budget = Budget(self.budget_id, None, "QNQ", "E1", self.state, None, None, ACCOUNTS)
        return {self.budget_id: BudgetContext(budget, self.stopped, self.ended_in_ledger)}

    def line(self) -> PlanLine:
        return PlanLine(
            self.line_id,
            self.budget_id,
            "personal_care",
            self.cost,
            self.bp,
            "NOTIONAL",
            None,
            "",
            True,
            False,
            sum(self.committed),
            self.committed,
        )

    def decide(self, *amounts: int) -> list[Accepted | DomainError]:
        payee = Payee(self.payee_id, PayeeKind.PROVIDER, False, False)
        return decide_payments(
            [self.ask(a) for a in amounts],
            budgets=self.budgets(),
            lines={self.line_id: self.line()},
            payees={self.payee_id: payee},
            available=dict(zip(ACCOUNTS, self.funds, strict=True)),
            today=TODAY,
            excluded_categories=frozenset(),
        )


def _parts(decisions: list[Accepted | DomainError]) -> list[tuple[int, int, int]]:
    out = []
    for d in decisions:
        assert isinstance(d, Accepted), d
        out.append(d.parts)
    return out


def test_three_payments_of_1001_pay_the_line_at_its_own_split() -> None:
    w = World(funds=[1_802, 1_201, 0])
    parts = _parts(w.decide(1_001, 1_001, 1_001))  # one batch: each counts on the ones before
    assert [sum(p[k] for p in parts) for k in range(3)] == [1_802, 1_201, 0]


def test_fifty_payments_one_by_one_pay_the_line_exactly() -> None:
    w = World(bp=(6000, 3000, 1000), cost=500_050)
    whole = split_by_basis_points(500_050, [6000, 3000, 1000])
    w.funds = list(whole)
    for _ in range(50):
        (decision,) = w.decide(10_001)
        assert isinstance(decision, Accepted)
        w.committed = model.add_parts(w.committed, decision.parts)
        w.funds = [f - p for f, p in zip(w.funds, decision.parts, strict=True)]
    assert list(w.committed) == whole


def test_state_rules_come_before_money() -> None:
    broke = [0, 0, 0]
    assert World(funds=broke).decide(10)[0].reason == "INSUFFICIENT_FUNDS"  # type: ignore[union-attr]
    for world, reason in (
        (World(funds=broke, stopped=True, state="ENDED"), "PAYMENTS_STOPPED"),
        (World(funds=broke, state="ENDED"), "BUDGET_NOT_ACTIVE"),
        (World(funds=broke, ended_in_ledger=True), "BUDGET_NOT_ACTIVE"),
        (World(funds=broke, cost=5), "PLAN_LINE_EXCEEDED"),
    ):
        (refused,) = world.decide(10)
        assert isinstance(refused, FailedPrecondition)
        assert refused.reason == reason
    # A payee that does not exist is a state rule too: it comes before money.
    w = World(funds=broke)
    (no_payee,) = decide_payments(
        [w.ask(10)],
        budgets=w.budgets(),
        lines={w.line_id: w.line()},
        payees={},
        available=dict(zip(ACCOUNTS, broke, strict=True)),
        today=TODAY,
        excluded_categories=frozenset(),
    )
    assert no_payee.reason == "PAYEE_NOT_FOUND"  # type: ignore[union-attr]


def test_named_refusals_keep_the_wire_shape() -> None:
    (short,) = World(funds=[0, 0, 0]).decide(10)
    assert isinstance(short, model.InsufficientFunds)
    assert isinstance(short, FailedPrecondition)
    assert short.metadata["nhs_shortfall_pence"] == "6"
    w = World()
    no_line = decide_payments(
        [w.ask(1)],
        budgets=w.budgets(),
        lines={},
        payees={},
        available={},
        today=TODAY,
        excluded_categories=frozenset(),
    )[0]
    assert isinstance(no_line, model.PlanLineNotFound)
    assert isinstance(no_line, NotFound)
    assert no_line.reason == "PLAN_LINE_NOT_FOUND"


def test_the_one_ledger_mapping() -> None:
    short = ledger_refusal([R.OK, R.EXCEEDS_AVAILABLE_BALANCE])
    assert (short.reason, short.metadata["ledger_result"]) == (
        "INSUFFICIENT_FUNDS",
        "exceeds_available_balance",
    )
    assert ledger_refusal([R.PENDING_TRANSFER_EXPIRED]).reason == "RESERVATION_EXPIRED"
    assert ledger_refusal([R.LINKED_EVENT_FAILED, R.ACCOUNT_NOT_FOUND]).reason == (
        "BUDGET_NOT_ACTIVE"
    )
    # After the ledger refused, a state rule that now holds comes first.
    w = World(ended_in_ledger=True)
    after = refusal_after_ledger(
        w.ask(10),
        [R.EXCEEDS_AVAILABLE_BALANCE],
        ctx=w.budgets()[w.budget_id],
        line=w.line(),
        payee=None,
        today=TODAY,
        excluded_categories=frozenset(),
    )
    assert (after.reason, dict(after.metadata).get("ledger_result")) == ("BUDGET_NOT_ACTIVE", None)
    live = World()
    assert (
        refusal_after_ledger(
            live.ask(10),
            [R.EXCEEDS_AVAILABLE_BALANCE],
            ctx=live.budgets()[live.budget_id],
            line=live.line(),
            payee=Payee(live.payee_id, PayeeKind.PROVIDER, False, False),
            today=TODAY,
            excluded_categories=frozenset(),
        ).reason
        == "INSUFFICIENT_FUNDS"
    )


def test_a_partial_confirm_frees_the_rest_by_the_same_rule() -> None:
    paid, freed = confirm_parts((601, 400, 0), 1)
    assert (paid, freed) == ((1, 0, 0), (600, 400, 0))
    assert confirm_parts((601, 400, 0), 1_001) == ((601, 400, 0), (0, 0, 0))
    assert give_back_parts((601, 400, 0), (1, 0, 0), 1) == (0, 1, 0)


SPLITS = [(10000, 0, 0), (6000, 4000, 0), (5000, 3000, 2000), (3333, 3333, 3334), (0, 0, 10000)]


class LineLife(RuleBasedStateMachine):
    """A line funded with exactly its own split; random releases, reservations, confirms (in
    part), cancels and returns (in part). Model: the line's commitment per stream."""

    @initialize(bp=st.sampled_from(SPLITS), cost=st.integers(1, 200_000))
    def setup(self, bp: tuple[int, int, int], cost: int) -> None:
        self.w = World(bp=bp, cost=cost)
        self.whole = split_by_basis_points(cost, list(bp))
        self.w.funds = list(self.whole)
        self.paid: list[tuple[tuple[int, int, int], list[int]]] = []  # (taken, given back)
        self.held: list[tuple[int, int, int]] = []

    def _take(self, amount: int) -> tuple[int, int, int] | None:
        (d,) = self.w.decide(amount)
        if sum(self.w.committed) + amount > self.w.cost:
            assert d.reason == "PLAN_LINE_EXCEEDED"  # type: ignore[union-attr]
            return None
        # Never refused for a rounding penny while the line (and its streams) can cover it.
        assert isinstance(d, Accepted), d
        assert sum(d.parts) == amount
        self.w.committed = model.add_parts(self.w.committed, d.parts)
        self.w.funds = [f - p for f, p in zip(self.w.funds, d.parts, strict=True)]
        return d.parts

    def _free(self, parts: tuple[int, int, int]) -> None:
        self.w.committed = model.sub_parts(self.w.committed, parts)
        self.w.funds = [f + p for f, p in zip(self.w.funds, parts, strict=True)]

    @rule(amount=st.integers(1, 60_000))
    def release(self, amount: int) -> None:
        parts = self._take(amount)
        if parts is not None:
            self.paid.append((parts, [0, 0, 0]))

    @rule(amount=st.integers(1, 60_000))
    def reserve(self, amount: int) -> None:
        parts = self._take(amount)
        if parts is not None:
            self.held.append(parts)

    @precondition(lambda self: bool(self.held))
    @rule(data=st.data())
    def confirm_or_cancel(self, data: st.DataObject) -> None:
        held = self.held.pop(data.draw(st.integers(0, len(self.held) - 1)))
        amount = data.draw(st.integers(0, sum(held)))
        paid, freed = confirm_parts(held, amount) if amount else ((0, 0, 0), held)
        assert all(0 <= p <= h for p, h in zip(paid, held, strict=True))
        assert model.add_parts(paid, freed) == held
        self._free(freed)
        if amount:
            self.paid.append((paid, [0, 0, 0]))

    @precondition(lambda self: any(sum(t) > sum(b) for t, b in self.paid))
    @rule(data=st.data())
    def give_back(self, data: st.DataObject) -> None:
        open_ = [p for p in self.paid if sum(p[0]) > sum(p[1])]
        taken, back = open_[data.draw(st.integers(0, len(open_) - 1))]
        amount = data.draw(st.integers(1, sum(taken) - sum(back)))
        parts = give_back_parts(taken, back, amount)
        for k in range(3):
            back[k] += parts[k]
            assert back[k] <= taken[k]  # never more of a stream than it paid
        self._free(parts)

    @rule()
    def spend_the_rest(self) -> None:
        left = self.w.cost - sum(self.w.committed)
        if left > 0:
            parts = self._take(left)
            assert parts is not None
            self.paid.append((parts, [0, 0, 0]))
        # Fully committed: each stream has exactly its share of the line's own split.
        assert list(self.w.committed) == self.whole

    @invariant()
    def within_the_whole(self) -> None:
        if hasattr(self, "w"):
            assert all(0 <= c <= w for c, w in zip(self.w.committed, self.whole, strict=True))
            assert min(self.w.funds) >= 0
            for taken, back in self.paid:  # a payment fully given back gave back what it took
                if sum(back) == sum(taken):
                    assert tuple(back) == taken


LineLife.TestCase.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
test_line_life = LineLife.TestCase


def test_confirm_and_return_refuse_more_than_there_is() -> None:
    with pytest.raises(model.ConfirmExceedsReserved) as too_much:
        confirm_parts((601, 400, 0), 1_002)
    assert too_much.value.reason == "CONFIRM_EXCEEDS_RESERVED"
    assert too_much.value.metadata == {"reserved_pence": "1001", "requested_pence": "1002"}
    assert model.return_parts((601, 400, 0), (1, 0, 0), 1_000) == (600, 400, 0)
    with pytest.raises(model.ReturnExceedsPayment) as over:
        model.return_parts((601, 400, 0), (1, 0, 0), 1_001)
    assert (over.value.reason, over.value.metadata) == (
        "RETURN_EXCEEDS_PAYMENT",
        {"returnable_pence": "1000"},
    )
