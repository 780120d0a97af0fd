"""The optimistic writer's view: what it plans on, and how it backs off after refusals."""

from __future__ import annotations

import time
import uuid

from onebudget.ledger import Account, Balance, FundingStream, Transfer
from onebudget.ledger import CreateTransferResult as R
from onebudget.ledger.optimistic import (
    PAUSE_S_MAX,
    PAUSE_S_MIN,
    LedgerView,
    plan_batch,
)

WALLET = uuid.UUID(int=1)
SINK = uuid.UUID(int=2)
HEAD = (1_000, b"\x00" * 32)


def view() -> LedgerView:
    return LedgerView(
        accounts={
            WALLET: (
                Account(WALLET, "budget", "p", FundingStream.NHS, None, True),
                Balance(credits_posted=100),
            ),
            SINK: (Account(SINK, "payee", "q", FundingStream.NHS), Balance()),
        },
        head=HEAD,
    )


def pay(amount: int) -> Transfer:
    return Transfer(uuid.uuid4(), WALLET, SINK, amount, "payment")


def test_a_plan_moves_the_view_past_itself_and_names_its_premises() -> None:
    v = view()
    plan = plan_batch(v, [[pay(60)], [pay(60)]])
    assert plan is not None
    assert plan.results == [[R.OK], [R.EXCEEDS_AVAILABLE_BALANCE]]
    assert plan.balances_before == {WALLET: Balance(credits_posted=100), SINK: Balance()}
    assert plan.expected_head == HEAD[1]
    assert v.accounts[WALLET][1] == Balance(debits_posted=60, credits_posted=100)
    assert v.head == (plan.accepted[-1].ts, plan.hashes[-1])


def test_a_refused_plan_pauses_planning_longer_each_time_until_one_is_written() -> None:
    v = view()
    pauses = []
    for _ in range(6):
        plan = plan_batch(v, [[pay(1)]])
        assert plan is not None
        v.forget(plan)
        assert v.paused()
        assert plan_batch(v, [[pay(1)]]) is None  # paused (and the head is forgotten too)
        pauses.append(v.paused_until - time.monotonic())
        v.paused_until = 0.0  # as if the pause had passed
        v.accounts, v.head = view().accounts, HEAD  # as if re-read
    assert pauses[0] <= PAUSE_S_MIN
    assert pauses[1] > pauses[0] * 3
    assert max(pauses) <= PAUSE_S_MAX
    assert pauses[-1] > PAUSE_S_MAX / 2
    plan = plan_batch(v, [[pay(1)]])
    assert plan is not None
    v.applied()
    v.forget(plan)
    assert v.paused_until - time.monotonic() <= PAUSE_S_MIN  # the count started again
