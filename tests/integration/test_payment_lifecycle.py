"""Bulk releases, reservations (confirm, cancel, expiry), returns, repayments and the budget
statement, through gRPC against real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.v1 import payment_service_pb2 as api
from tests.conftest import StartService
from tests.integration.test_payment_support import (
    FundedBudget,
    available,
    error_of,
    funded_budget,
    outbox,
    payee,
    release,
    stub,
)


def _reserve(b: FundedBudget, payee_id: str, amount: int) -> api.ReservePaymentRequest:
    return api.ReservePaymentRequest(
        request_id=str(uuid.uuid4()),
        budget_id=str(b.budget_id),
        plan_line_id=str(b.line_id),
        payee_id=payee_id,
        amount_pence=amount,
    )


def _rid() -> str:
    return str(uuid.uuid4())


async def test_bulk_refuses_only_the_bad_ones(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (10_000, 10_000, 0))
        provider = await payee(s)
        items = [release(b, provider, 100, request_id="") for _ in range(5)]
        items.append(release(b, provider, 999_999, request_id=""))
        items.append(release(b, "not-a-uuid", 100, request_id=""))
        request = api.ReleasePaymentsRequest(request_id=_rid(), payments=items)
        response = await s.ReleasePayments(request)
        kinds = [r.WhichOneof("outcome") for r in response.results]
        assert kinds == ["payment"] * 5 + ["error", "error"]
        assert response.results[5].error.reason == "INSUFFICIENT_FUNDS"
        assert response.results[6].error.reason == "INVALID_REQUEST"
        assert response.results[6].error.field_violations[0].field == "payments[6].payee_id"
        again = await s.ReleasePayments(request)
        assert [r.payment.payment_id for r in again.results[:5]] == [
            r.payment.payment_id for r in response.results[:5]
        ]
        assert await available(conn, b) == [10_000 - 300, 10_000 - 200, 0]


async def test_reserve_confirm_cancel(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (10_000, 10_000, 0), cost_pence=5_000)
        provider = await payee(s)
        held = await s.ReservePayment(_reserve(b, provider, 1_000))
        assert held.state == api.PAYMENT_STATE_RESERVED
        assert await available(conn, b) == [9_400, 9_600, 0]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await s.ConfirmPayment(
                api.ConfirmPaymentRequest(
                    request_id=_rid(), payment_id=held.payment_id, amount_pence=1_001
                )
            )
        assert error_of(caught.value)[1] == "CONFIRM_EXCEEDS_RESERVED"
        paid = await s.ConfirmPayment(
            api.ConfirmPaymentRequest(
                request_id=_rid(), payment_id=held.payment_id, amount_pence=701
            )
        )
        assert paid.state == api.PAYMENT_STATE_CONFIRMED
        assert (paid.streams.nhs_pence, paid.streams.council_pence) == (421, 280)
        assert await available(conn, b) == [10_000 - 421, 10_000 - 280, 0]
        assert await conn.fetchval("SELECT committed_pence FROM payment.plan_lines") == 701
        other = await s.ReservePayment(_reserve(b, provider, 2_000))
        cancelled = await s.CancelPayment(
            api.CancelPaymentRequest(request_id=_rid(), payment_id=other.payment_id, reason="no")
        )
        assert cancelled.state == api.PAYMENT_STATE_CANCELLED
        assert await available(conn, b) == [10_000 - 421, 10_000 - 280, 0]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await s.CancelPayment(
                api.CancelPaymentRequest(request_id=_rid(), payment_id=other.payment_id)
            )
        assert error_of(caught.value)[1] == "PAYMENT_NOT_RESERVED"
        subjects = [r["subject"].split(".")[3] for r in await outbox(conn)]
        assert subjects.count("reserved") == 2
        assert subjects.count("confirmed") == 1
        assert subjects.count("cancelled") == 1


async def test_reservations_expire_and_release_funds(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEBUDGET_PAYMENT_RESERVATION_TIMEOUT_S", "1")
    monkeypatch.setenv("ONEBUDGET_PAYMENT_EXPIRY_INTERVAL_S", "1")
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (10_000, 10_000, 0))
        provider = await payee(s)
        held = await s.ReservePayment(_reserve(b, provider, 1_000))
        for _ in range(50):
            got = await s.GetPayment(api.GetPaymentRequest(payment_id=held.payment_id))
            if got.state == api.PAYMENT_STATE_EXPIRED:
                break
            await asyncio.sleep(0.1)
        assert got.state == api.PAYMENT_STATE_EXPIRED
        assert await available(conn, b) == [10_000, 10_000, 0]
        assert [r["subject"] for r in await outbox(conn)][-1] == (
            "onebudget.payment.payment.expired.v1"
        )


async def test_returns_and_repayments_go_back_to_their_streams(
    start_service: StartService,
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (10_000, 10_000, 10_000), bp=(5000, 3000, 2000))
        provider = await payee(s)
        paid = await s.ReleasePayment(release(b, provider, 1_001))
        assert (paid.streams.nhs_pence, paid.streams.council_pence, paid.streams.client_pence) == (
            501,
            300,
            200,
        )
        ret = await s.RecordReturn(
            api.RecordReturnRequest(
                request_id=_rid(), payment_id=paid.payment_id, amount_pence=333, reason="overpaid"
            )
        )
        assert (
            sum((ret.streams.nhs_pence, ret.streams.council_pence, ret.streams.client_pence)) == 333
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await s.RecordReturn(
                api.RecordReturnRequest(
                    request_id=_rid(), payment_id=paid.payment_id, amount_pence=669, reason="again"
                )
            )
        assert error_of(caught.value)[1] == "RETURN_EXCEEDS_PAYMENT"
        after_return = await available(conn, b)
        assert sum(after_return) == 30_000 - 1_001 + 333
        owed = await s.RequireRepayment(
            api.RequireRepaymentRequest(
                request_id=_rid(),
                budget_id=str(b.budget_id),
                payee_id=provider,
                grounds=api.REPAYMENT_GROUNDS_OUTSIDE_PLAN,
                reasons=["paid for a holiday"],
                amount_pence=500,
                due_date="2026-12-31",
                repayer=api.REPAYER_PAYEE,
            )
        )
        part = await s.RecordRepaymentReceived(
            api.RecordRepaymentReceivedRequest(
                request_id=_rid(), repayment_id=owed.repayment_id, amount_pence=200
            )
        )
        assert part.received_pence == 200
        # A reclaim goes back to the funders, not into the budget (issue 13, item 12).
        assert sum(await available(conn, b)) == sum(after_return)
        off = await s.WriteOffRepayment(
            api.WriteOffRepaymentRequest(
                request_id=_rid(),
                repayment_id=owed.repayment_id,
                reason="uneconomic",
                approver="finance",
            )
        )
        assert (off.state, off.written_off_pence) == (api.REPAYMENT_STATE_WRITTEN_OFF, 300)
        statement = await s.GetBudgetStatement(
            api.GetBudgetStatementRequest(budget_id=str(b.budget_id))
        )
        closing = statement.available_balance
        assert [closing.nhs_pence, closing.council_pence, closing.client_pence] == (
            await available(conn, b)
        )
        assert {line.reason for line in statement.lines} == {
            "funding",
            "payment",
            "return",
            "repayment",
            "repayment_returned",
        }
