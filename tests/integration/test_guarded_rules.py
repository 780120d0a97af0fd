"""Rules that once survived a one-line mutation with every test green (issue 12), each now
guarded through the real stack: a service over gRPC, its consumer's handler, PostgreSQL, the
ledger. Each test names the rule; docs/quality.md lists the mutation each one kills.

The rules sit in consumers and request handlers (not in a pure domain function), so they are
tested where they are decided: deleting the line that decides them makes these tests fail.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import grpc
import pytest

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.allocation.v1 import allocation_service_pb2_grpc as pb_grpc
from onebudget.events.v1 import entitlement_pb2 as ent
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.payment.entrypoints.consumers import on_entitlement_event
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.payment.v1 import payment_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.outbox import new_event
from onebudget.shared.server import ServiceHost
from tests.conftest import StartService
from tests.integration.test_allocation_api import (
    GSS,
    ODS,
    add,
    agree,
    eligible_person,
    feed,
    line,
    money_snapshot,
    new_budget,
    refused,
    rid,
    setup_funders,
)
from tests.integration.test_payment_support import (
    FundedBudget,
    available,
    error_of,
    funded_budget,
    payee,
    release,
    stub,
)

# -- payment: a stop event from entitlement stops every payment -----------------------------------


def _reserve(b: FundedBudget, payee_id: str, amount: int) -> api.ReservePaymentRequest:
    return api.ReservePaymentRequest(
        request_id=rid(),
        budget_id=str(b.budget_id),
        plan_line_id=str(b.line_id),
        payee_id=payee_id,
        amount_pence=amount,
    )


async def _deliver_to_payment(conn: asyncpg.Connection, payload: Any, person_id: str) -> None:
    """One entitlement event through payment's consumer handler, in its own transaction."""
    envelope = new_event(
        payload, source="entitlement", aggregate_type="person", aggregate_id=person_id
    ).envelope
    async with conn.transaction():
        await on_entitlement_event(conn, envelope)


async def _refusal(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    code, reason, _, _ = error_of(caught.value)
    return code, reason


async def _assert_payments_stopped(
    conn: asyncpg.Connection, s: api_grpc.PaymentServiceStub, b: FundedBudget, provider: str
) -> None:
    """Release and reserve are both refused PAYMENTS_STOPPED and no money moves."""
    before = await available(conn, b)
    stopped = (grpc.StatusCode.FAILED_PRECONDITION, "PAYMENTS_STOPPED")
    assert await _refusal(s.ReleasePayment(release(b, provider, 100))) == stopped
    assert await _refusal(s.ReservePayment(_reserve(b, provider, 100))) == stopped
    assert await available(conn, b) == before


@pytest.mark.parametrize(
    "stop_event",
    [
        pytest.param(
            lambda person: ent.ConsentWithdrawn(person_id=person, withdrawn_on="2026-06-01"),
            id="consent-withdrawn",
        ),
        pytest.param(
            lambda person: ent.PersonDied(person_id=person, died_on="2026-06-01"),
            id="person-died",
        ),
    ],
)
async def test_payments_stop_when_entitlement_says_consent_withdrawn_or_died(
    start_service: StartService, stop_event: Any
) -> None:
    """Payment's consumer records the stop (reg 17) and every later release or reservation is
    refused PAYMENTS_STOPPED, even while payment's copy of the budget still says AGREED (the
    allocation's BudgetEnded has not arrived); a hold in progress is cancelled, its money freed."""
    host = await start_service(PAYMENT)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (10_000, 10_000, 0))
        provider = await payee(s)
        await s.ReleasePayment(release(b, provider, 1_000))  # payments flow before the stop
        held = await s.ReservePayment(_reserve(b, provider, 500))
        await _deliver_to_payment(conn, stop_event(str(b.person_id)), str(b.person_id))
        got = await s.GetPayment(api.GetPaymentRequest(payment_id=held.payment_id))
        assert got.state == api.PAYMENT_STATE_CANCELLED
        assert await available(conn, b) == [10_000 - 600, 10_000 - 400, 0]
        await _assert_payments_stopped(conn, s, b, provider)
        state = await conn.fetchval(
            "SELECT state FROM payment.budgets WHERE budget_id = $1", b.budget_id
        )
        assert state == "AGREED"  # the stop alone refuses: the budget is still active here


async def test_a_stop_for_another_person_leaves_payments_flowing(
    start_service: StartService,
) -> None:
    """The stop is per person: consent withdrawn by someone else stops nothing here."""
    host = await start_service(PAYMENT)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (10_000, 10_000, 0))
        provider = await payee(s)
        other = str(uuid.uuid4())
        await _deliver_to_payment(
            conn, ent.ConsentWithdrawn(person_id=other, withdrawn_on="2026-06-01"), other
        )
        paid = await s.ReleasePayment(release(b, provider, 1_000))
        assert paid.state == api.PAYMENT_STATE_RELEASED


# -- allocation: consent withdrawn ends the person's budgets -------------------------------------


@pytest.fixture
async def alloc_host(start_service: StartService) -> ServiceHost:
    return await start_service(ALLOCATION)


@pytest.fixture
async def alloc(alloc_host: ServiceHost) -> AsyncIterator[pb_grpc.AllocationServiceStub]:
    async with open_aio_channel(alloc_host.address) as channel:
        yield pb_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]


def _pool(host: ServiceHost) -> asyncpg.Pool:
    assert host.runtime is not None
    return host.runtime.pool


async def test_consent_withdrawn_ends_every_open_budget_and_refuses_new_ones(
    alloc: pb_grpc.AllocationServiceStub, alloc_host: ServiceHost
) -> None:
    """Allocation's entitlement consumer ends each open budget of a person who withdrew consent
    (an agreed one returns its money to the penny; a draft one too), with end reason
    CONSENT_WITHDRAWN, and a new budget is refused CONSENT_WITHDRAWN."""
    await setup_funders(alloc)
    pool = _pool(alloc_host)
    person = await eligible_person(pool)
    agreed = await new_budget(alloc, person)
    await add(alloc, agreed.budget_id, line())
    await agree(alloc, agreed.budget_id)
    draft = await alloc.CreateBudget(
        pb.CreateBudgetRequest(request_id=rid(), person_id=person, financial_year=2027)
    )
    withdrawn = ent.ConsentWithdrawn(
        person_id=person,
        withdrawn_on="2026-07-01",
        commissioner_ods_code=ODS,
        council_gss_code=GSS,
    )
    await feed(pool, withdrawn, person)
    for budget_id in (agreed.budget_id, draft.budget_id):
        ended = await alloc.GetBudget(pb.GetBudgetRequest(budget_id=budget_id))
        assert ended.status == pb.BUDGET_STATUS_ENDED
        assert ended.end_reason == pb.END_REASON_CONSENT_WITHDRAWN
        assert ended.available_pence == 0
    reason, _ = await refused(new_budget(alloc, person), grpc.StatusCode.FAILED_PRECONDITION)
    assert reason == "CONSENT_WITHDRAWN"


# -- allocation: a revision (a cut) needs the date of its written notice --------------------------


async def test_a_revision_needs_its_notice_date_and_moves_nothing_without_one(
    alloc: pb_grpc.AllocationServiceStub, alloc_host: ServiceHost
) -> None:
    """ReviseBudget without notice_date is INVALID_ARGUMENT on notice_date, whether it cuts a
    line or adds one; no money moves and the budget keeps its revision."""
    await setup_funders(alloc)
    pool = _pool(alloc_host)
    budget = await new_budget(alloc, await eligible_person(pool))
    await add(alloc, budget.budget_id, line(), line(cost=5_000, occurrences=3))
    agreed = await agree(alloc, budget.budget_id)
    before = await money_snapshot(pool)
    cut = pb.ReviseBudgetRequest(
        request_id=rid(),
        budget_id=budget.budget_id,
        reasons=["fewer visits needed"],
        remove_plan_line_ids=[agreed.plan_lines[1].plan_line_id],
    )
    grow = pb.ReviseBudgetRequest(
        request_id=rid(),
        budget_id=budget.budget_id,
        reasons=["more visits needed"],
        add_lines=[line(cost=1_001, occurrences=1)],
    )
    for request in (cut, grow):
        _, fields = await refused(alloc.ReviseBudget(request), grpc.StatusCode.INVALID_ARGUMENT)
        assert fields == ["notice_date"]
    assert await money_snapshot(pool) == before
    again = await alloc.GetBudget(pb.GetBudgetRequest(budget_id=budget.budget_id))
    assert again.revision == 0
    assert len(again.plan_lines) == 2


# -- allocation: the client contribution rides on the council stream -----------------------------


async def test_a_client_share_needs_a_council_share_on_the_line(
    alloc: pb_grpc.AllocationServiceStub, alloc_host: ServiceHost
) -> None:
    """On a budget with a council stream, a plan line whose split gives the client a share but
    the council none is INVALID_ARGUMENT on split.client_basis_points, whether it is added to a
    draft or brought in by a revision."""
    await setup_funders(alloc)
    pool = _pool(alloc_host)
    draft = await new_budget(alloc, await eligible_person(pool))
    _, fields = await refused(
        alloc.AddPlanLine(
            pb.AddPlanLineRequest(
                request_id=rid(), budget_id=draft.budget_id, line=line(split=(9000, 0, 1000))
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert fields == ["line.split.client_basis_points"]
    await add(alloc, draft.budget_id, line())
    await agree(alloc, draft.budget_id)
    _, fields = await refused(
        alloc.ReviseBudget(
            pb.ReviseBudgetRequest(
                request_id=rid(),
                budget_id=draft.budget_id,
                reasons=["the person pays for this"],
                notice_date="2026-06-01",
                add_lines=[line(split=(0, 0, 10_000))],
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert fields == ["add_lines[0].split.client_basis_points"]
    # The same share with a council share beside it is fine (within the person's assessed
    # contribution: 10% of 100,000p, issue 13).
    assessed = await new_budget(
        alloc, await eligible_person(pool), client_contribution_pence=10_000
    )
    fine = await alloc.AddPlanLine(
        pb.AddPlanLineRequest(
            request_id=rid(),
            budget_id=assessed.budget_id,
            line=line(split=(5000, 4000, 1000)),
        )
    )
    assert len(fine.plan_lines) == 1


# -- payment: a reclaim gives its reasons (reg 15) -----------------------------------------------


def _reclaim(
    b: FundedBudget,
    provider: str,
    reasons: list[str],
    grounds: api.RepaymentGrounds = api.REPAYMENT_GROUNDS_OUTSIDE_PLAN,
    repayer: api.Repayer = api.REPAYER_PAYEE,
) -> api.RequireRepaymentRequest:
    return api.RequireRepaymentRequest(
        request_id=rid(),
        budget_id=str(b.budget_id),
        payee_id=provider,
        grounds=grounds,
        reasons=reasons,
        amount_pence=500,
        due_date="2026-12-31",
        repayer=repayer,
    )


@pytest.mark.parametrize(
    ("reasons", "grounds", "repayer", "field"),
    [
        pytest.param(
            [], api.REPAYMENT_GROUNDS_OUTSIDE_PLAN, api.REPAYER_PAYEE, "reasons", id="no-reason"
        ),
        pytest.param(
            [],
            api.REPAYMENT_GROUNDS_THEFT_OR_FRAUD,
            api.REPAYER_PERSON,
            "reasons",
            id="no-reason-for-fraud",
        ),
        pytest.param(
            ["   "],
            api.REPAYMENT_GROUNDS_OUTSIDE_PLAN,
            api.REPAYER_PAYEE,
            "reasons[0]",
            id="blank-reason",
        ),
    ],
)
async def test_a_reclaim_needs_at_least_one_reason(
    start_service: StartService,
    reasons: list[str],
    grounds: api.RepaymentGrounds,
    repayer: api.Repayer,
    field: str,
) -> None:
    """RequireRepayment without a real reason (reg 15) is INVALID_ARGUMENT on the reasons and
    raises no repayment, whatever the grounds and whoever repays; with a reason it is accepted."""
    host = await start_service(PAYMENT)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (10_000, 10_000, 0))
        provider = await payee(s)
        await s.ReleasePayment(release(b, provider, 1_000))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await s.RequireRepayment(_reclaim(b, provider, reasons, grounds, repayer))
        code, _, _, fields = error_of(caught.value)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert fields == [field]
        assert await conn.fetchval("SELECT count(*) FROM payment.repayments") == 0
        owed = await s.RequireRepayment(
            _reclaim(b, provider, ["paid for a holiday"], grounds, repayer)
        )
        assert list(owed.reasons) == ["paid for a holiday"]
