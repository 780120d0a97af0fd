"""A budget's own figures after its end still add up (found trying the stack): a reservation open
when the budget ended is cancelled by payment and its hold goes back to the funders; allocation's
GetBudget counted that money nowhere (500p of 1,955,000p missing). Each stream now reads what went
back to its funders from the ledger, whichever service moved it:
agreed = spent + reserved + available + returned."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.payment.v1 import payment_service_pb2 as pay
from tests.conftest import StartService
from tests.integration.test_reporting_support import (
    Stack,
    agreed_budget,
    caught_up,
    eligible_person,
    new_gss,
    new_ods,
    payee,
    plan_line,
    rid,
    setup_funders,
    start_stack,
)


@pytest.fixture
async def stack(start_service: StartService) -> AsyncIterator[Stack]:
    found = await start_stack(start_service, payment=True)
    yield found
    await found.close()


async def test_a_hold_released_after_the_end_is_counted_as_returned(stack: Stack) -> None:
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss, allocation=100_000_000, target_bp=500)
    person = await eligible_person(stack, ods, gss)
    budget = await agreed_budget(
        stack, person, ods, gss, [plan_line(300_000, (10_000, 0, 0))], nhs_only=True
    )
    await caught_up(stack, payment_too=True)
    assert stack.pay is not None
    provider = await payee(stack)
    line_id = budget.plan_lines[0].plan_line_id
    ask = {"budget_id": budget.budget_id, "plan_line_id": line_id, "payee_id": provider}
    await stack.pay.ReleasePayment(
        pay.ReleasePaymentRequest(request_id=rid(), amount_pence=1_000, **ask)
    )
    await stack.pay.ReservePayment(
        pay.ReservePaymentRequest(request_id=rid(), amount_pence=500, **ask)
    )
    await stack.alloc.EndBudget(
        al.EndBudgetRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            reasons=["needs met"],
            notice_date="2026-04-01",
        )
    )
    await caught_up(stack, payment_too=True)
    for _ in range(100):  # payment cancels the hold when it sees the end
        ended = await stack.alloc.GetBudget(al.GetBudgetRequest(budget_id=budget.budget_id))
        (nhs,) = [s for s in ended.streams if s.agreed_pence]
        if nhs.reserved_pence == 0:
            break
        await asyncio.sleep(0.1)
    assert (nhs.agreed_pence, nhs.spent_pence, nhs.reserved_pence, nhs.available_pence) == (
        300_000,
        1_000,
        0,
        0,
    )
    assert nhs.returned_pence == 299_000  # the end's sweep and the released hold
    assert nhs.agreed_pence == (
        nhs.spent_pence + nhs.reserved_pence + nhs.available_pence + nhs.returned_pence
    )
