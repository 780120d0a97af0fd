"""Payees and releases through gRPC against real PostgreSQL and NATS: exact splits, one event per
payment, every refusal reason with its ErrorInfo, bad input with BadRequest, nothing moved."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import grpc
import pytest

from onebudget.events.v1 import envelope_pb2
from onebudget.events.v1 import payment_pb2 as ev
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.service_layer import read_model
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared.clock import FixedClock, england_date
from tests.conftest import StartService
from tests.integration.test_payment_support import (
    available,
    error_of,
    funded_budget,
    outbox,
    payee,
    release,
    stub,
)


async def test_release_splits_exactly_and_publishes_one_event(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    pool = host.runtime.pool
    channel, s = stub(host)
    async with channel, pool.acquire() as conn:
        b = await funded_budget(conn, (100_000, 100_000, 0))
        provider = await payee(s)
        before = len(await outbox(conn))
        paid = await s.ReleasePayment(release(b, provider, 333))
        assert paid.state == api.PAYMENT_STATE_RELEASED
        assert (paid.streams.nhs_pence, paid.streams.council_pence) == (200, 133)
        assert await available(conn, b) == [100_000 - 200, 100_000 - 133, 0]
        rows = (await outbox(conn))[before:]
        assert [r["subject"] for r in rows] == ["onebudget.payment.payment.released.v1"]
        envelope = envelope_pb2.EventEnvelope.FromString(rows[0]["envelope"])
        released = ev.PaymentReleased()
        assert envelope.payload.Unpack(released)
        assert released.streams.nhs_pence == 200
        assert released.context.commissioner_ods_code == "QNQ"
        got = await s.GetPayment(api.GetPaymentRequest(payment_id=paid.payment_id))
        assert got == paid


async def test_batched_answers_are_what_get_payment_reads(start_service: StartService) -> None:
    """The batcher builds its answers without reading the rows back: they must be the rows."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (100_000, 100_000, 0))
        provider = await payee(s)
        paid = await s.ReleasePayment(
            api.ReleasePaymentRequest(
                request_id=str(uuid.uuid4()),
                budget_id=str(b.budget_id),
                plan_line_id=str(b.line_id),
                payee_id=provider,
                amount_pence=1_001,
                service_period_start="2026-01-05",
                service_period_end="2026-01-11",
                broker_reference="REF-1",
            )
        )
        held = await s.ReservePayment(
            api.ReservePaymentRequest(
                request_id=str(uuid.uuid4()),
                budget_id=str(b.budget_id),
                plan_line_id=str(b.line_id),
                payee_id=provider,
                amount_pence=777,
                broker_reference="REF-2",
            )
        )
        assert held.expire_time.seconds > 0
        for answer in (paid, held):
            got = await s.GetPayment(api.GetPaymentRequest(payment_id=answer.payment_id))
            assert got == answer


async def test_retry_moves_money_once(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (10_000, 10_000, 0))
        provider = await payee(s)
        request = release(b, provider, 1_000)
        first = await s.ReleasePayment(request)
        second = await s.ReleasePayment(request)
        assert first == second
        assert await available(conn, b) == [9_400, 9_600, 0]
        changed = release(b, provider, 999, request_id=request.request_id)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await s.ReleasePayment(changed)
        assert error_of(caught.value)[:2] == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")


async def _refused(
    s: object, request: api.ReleasePaymentRequest
) -> tuple[grpc.StatusCode, str, dict[str, str], list[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await s.ReleasePayment(request)  # type: ignore[attr-defined]
    return error_of(caught.value)


async def test_refusals_have_reasons_and_move_nothing(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        provider = await payee(s)
        pa = await payee(s, api.PAYEE_KIND_PERSONAL_ASSISTANT)
        family = await payee(s, api.PAYEE_KIND_PERSONAL_ASSISTANT, family=True)
        b = await funded_budget(conn, (1_000, 1_000, 0), cost_pence=1_500)
        draft = await funded_budget(conn, (1_000, 1_000, 0), agreed=False)
        booze = await funded_budget(conn, (1_000, 1_000, 0), category="alcohol")
        pa_only = await funded_budget(
            conn, (1_000, 1_000, 0), allowed_payee_kind="PERSONAL_ASSISTANT"
        )
        before = len(await outbox(conn))

        code, reason, meta, _ = await _refused(s, release(b, provider, 1_600))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PLAN_LINE_EXCEEDED")
        assert meta["shortfall_pence"] == "100"
        big = await funded_budget(conn, (1_000, 100, 0))
        code, reason, meta, _ = await _refused(s, release(big, provider, 1_000))
        assert reason == "INSUFFICIENT_FUNDS"
        assert meta["council_shortfall_pence"] == "300"
        assert "nhs_shortfall_pence" not in meta
        assert (await _refused(s, release(draft, provider, 10)))[1] == "BUDGET_NOT_ACTIVE"
        assert (await _refused(s, release(booze, provider, 10)))[1] == "CATEGORY_EXCLUDED"
        assert (await _refused(s, release(pa_only, provider, 10)))[1] == "PAYEE_NOT_ALLOWED"
        assert (await _refused(s, release(b, family, 10)))[1] == "FAMILY_PAYEE_NOT_APPROVED"
        assert len(await outbox(conn)) == before
        for budget in (b, big, draft, booze, pa_only):
            assert sum(await available(conn, budget)) == sum((1_000, 1_000)) - (
                900 if budget is big else 0
            )
        assert await conn.fetchval("SELECT count(*) FROM payment.payments") == 0
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM payment.idempotency WHERE method = 'ReleasePayment'"
            )
            == 0
        )

        await s.ApproveFamilyPayee(
            api.ApproveFamilyPayeeRequest(
                request_id=str(uuid.uuid4()),
                payee_id=family,
                reason="no other carer",
                approver="ICB",
            )
        )
        assert (await s.ReleasePayment(release(pa_only, family, 10))).amount_pence == 10
        assert (await s.ReleasePayment(release(b, pa, 10))).amount_pence == 10


async def test_bad_input_lists_every_field(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        before = len(await outbox(conn))
        bad = api.ReleasePaymentRequest(
            request_id="nope",
            budget_id="x",
            amount_pence=-5,
            service_period_start="2026-05-31",
            service_period_end="2026-05-01",
        )
        code, reason, _, fields = await _refused(s, bad)
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST")
        assert set(fields) >= {
            "request_id",
            "budget_id",
            "plan_line_id",
            "payee_id",
            "amount_pence",
            "service_period_end",
        }
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await s.RegisterPayee(api.RegisterPayeeRequest(request_id=str(uuid.uuid4())))
        assert set(error_of(caught.value)[3]) == {"kind", "name"}
        assert len(await outbox(conn)) == before
        assert await conn.fetchval("SELECT count(*) FROM payment.payments") == 0


async def test_ledger_refusal_after_the_in_memory_decision_leaves_no_row(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch decides on an unlocked first look at the balances; make that look wrong (as if
    # another writer drained the budget in between) so only the ledger refuses the second one.
    from onebudget import ledger

    async def rich(_conn: object, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        return dict.fromkeys(ids, 10**12)

    monkeypatch.setattr(ledger, "available_balances", rich)
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (1_000, 1_000, 0))
        provider = await payee(s)
        before = len(await outbox(conn))
        first, second, third = (release(b, provider, n) for n in (1_000, 5_000, 500))
        response = await s.ReleasePayments(
            api.ReleasePaymentsRequest(
                request_id=str(uuid.uuid4()), payments=[first, second, third]
            )
        )
        outcomes = [r.WhichOneof("outcome") for r in response.results]
        assert outcomes == ["payment", "error", "payment"]
        assert response.results[1].error.reason == "INSUFFICIENT_FUNDS"
        assert response.results[1].error.metadata["ledger_result"] == "exceeds_available_balance"
        # Nothing of the refused one remains: no payment row, no event, no claim.
        assert await available(conn, b) == [1_000 - 600 - 300, 1_000 - 400 - 200, 0]
        assert len(await outbox(conn)) == before + 2
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM payment.payments WHERE request_id = $1", second.request_id
            )
            == 0
        )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM payment.idempotency WHERE request_id = $1", second.request_id
            )
            == 0
        )
        assert (
            await conn.fetchval(
                "SELECT committed_pence FROM payment.plan_lines WHERE plan_line_id = $1", b.line_id
            )
            == 1_500
        )
        assert await ledger.verify(conn) == []


async def test_the_day_is_englands_on_the_payment_clock(start_service: StartService) -> None:
    """At 2027-03-31T23:30Z it is 00:30 on 1 April in England (BST): the 2026-27 budget has ended
    and the 2027-28 one has begun. Paying on the UTC day accepted the first and refused the
    second (issue 12)."""
    clock = FixedClock(datetime(2027, 3, 31, 23, 30, tzinfo=UTC))
    host = await start_service(SPEC, clock=clock)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        provider = await payee(s)
        years = {}
        for year in (2026, 2027):
            b = await funded_budget(conn, (100_000, 100_000, 0))
            await read_model.apply_budget(
                conn,
                read_model.BudgetFacts(
                    budget_id=b.budget_id,
                    start_date=date(year, 4, 1),
                    end_date=date(year + 1, 3, 31),
                ),
            )
            years[year] = b
        # Services in each budget's own period (a budget pays nothing outside it).
        in_2026 = {"service_period_start": "2027-03-01", "service_period_end": "2027-03-31"}
        in_2027 = {"service_period_start": "2027-04-01", "service_period_end": "2027-04-30"}
        code, reason, _, _ = await _refused(s, release(years[2026], provider, 1_000, **in_2026))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "BUDGET_NOT_ACTIVE")
        assert await available(conn, years[2026]) == [100_000, 100_000, 0]
        before = len(await outbox(conn))
        paid = await s.ReleasePayment(release(years[2027], provider, 1_000, **in_2027))
        assert paid.state == api.PAYMENT_STATE_RELEASED
        assert paid.create_time.ToDatetime(tzinfo=UTC) == clock.now()
        # The event is dated by the same clock, so reporting puts it in 1 April 2027, FY 2027.
        (row,) = (await outbox(conn))[before:]
        envelope = envelope_pb2.EventEnvelope.FromString(row["envelope"])
        assert england_date(envelope.occurred_at.ToDatetime(tzinfo=UTC)) == date(2027, 4, 1)
        # An hour earlier it is still 31 March in England: the 2026-27 budget pays.
        clock.set(datetime(2027, 3, 31, 22, 30, tzinfo=UTC))
        earlier = await s.ReleasePayment(release(years[2026], provider, 1_000, **in_2026))
        assert earlier.state == api.PAYMENT_STATE_RELEASED
        code, reason, _, _ = await _refused(s, release(years[2027], provider, 1_000, **in_2027))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "BUDGET_NOT_ACTIVE")


async def test_payment_refuses_the_categories_of_the_one_policy(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Payment reads the same ONEBUDGET_EXCLUDED_CATEGORIES as allocation (shared/policy.py):
    the default list by default (urgent and GP care were missing from allocation's), the
    configured one when set."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        provider = await payee(s)
        for category in ("urgent_care", "primary_medical_care"):
            b = await funded_budget(conn, (1_000, 1_000, 0), category=category)
            code, reason, metadata, _ = await _refused(s, release(b, provider, 10))
            assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CATEGORY_EXCLUDED")
            assert metadata["category"] == category
            assert await available(conn, b) == [1_000, 1_000, 0]
    monkeypatch.setenv("ONEBUDGET_EXCLUDED_CATEGORIES", "lottery_tickets")
    configured = await start_service(SPEC)
    assert configured.runtime is not None
    channel, s = stub(configured)
    async with channel, configured.runtime.pool.acquire() as conn:
        lottery = await funded_budget(conn, (1_000, 1_000, 0), category="lottery_tickets")
        code, reason, _, _ = await _refused(s, release(lottery, provider, 10))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CATEGORY_EXCLUDED")
        urgent = await funded_budget(conn, (1_000, 1_000, 0), category="urgent_care")
        paid = await s.ReleasePayment(release(urgent, provider, 10))
        assert paid.state == api.PAYMENT_STATE_RELEASED
