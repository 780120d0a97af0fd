"""A plan line is paid at its own split over its life (ADR 7), through every way to pay; state
refusals come before money (a budget ended in the ledger is not active, not short).

Issue 12: each payment used to be split on its own, so the rounding drifted and the last payment
of a line was refused INSUFFICIENT_FUNDS for a penny although the line held exactly its amount.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import grpc
import pytest

from onebudget import ledger
from onebudget.ledger import FundingStream, Transfer
from onebudget.ledger.chart import payee_account_id
from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.service_layer import read_model
from onebudget.payment.service_layer.scheduler import run_due_instalments
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.payment.v1 import payment_service_pb2_grpc as api_grpc
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.money import split_by_basis_points
from tests.conftest import StartService
from tests.integration.test_payment_support import (
    FundedBudget,
    available,
    error_of,
    funded_budget,
    payee,
    release,
    stub,
)

STREAMS = (FundingStream.NHS, FundingStream.COUNCIL, FundingStream.CLIENT)


async def _paid(conn: asyncpg.Connection, payee_id: str) -> list[int]:
    """What the payee was paid from each stream (ledger, posted, net of returns)."""
    ids = [payee_account_id(uuid.UUID(payee_id), s) for s in STREAMS]
    found = {r.account.id: r.balance for r in await ledger.lookup_accounts(conn, ids)}
    return [found[i].credits_posted - found[i].debits_posted if i in found else 0 for i in ids]


async def _line(conn: asyncpg.Connection, b: FundedBudget) -> list[int]:
    row = await conn.fetchrow(
        "SELECT committed_nhs_pence, committed_council_pence, committed_client_pence"
        " FROM payment.plan_lines WHERE plan_line_id = $1",
        b.line_id,
    )
    assert row is not None
    return list(row)


async def _exact_line(
    conn: asyncpg.Connection,
    n: int,
    each: int,
    bp: tuple[int, int, int],
    management_option: str = "NOTIONAL",
) -> tuple[FundedBudget, list[int]]:
    """A line of n x each pence funded, as allocation funds it, with its own split F."""
    whole = split_by_basis_points(n * each, list(bp))
    b = await funded_budget(
        conn,
        (whole[0], whole[1], whole[2]),
        bp=bp,
        cost_pence=n * each,
        management_option=management_option,
    )
    return b, whole


@pytest.mark.parametrize(
    ("n", "each", "bp"),
    [(3, 1_001, (6000, 4000, 0)), (50, 10_001, (6000, 3000, 1000))],
)
async def test_a_line_is_paid_in_full_at_its_own_split_by_unary_releases(
    start_service: StartService, n: int, each: int, bp: tuple[int, int, int]
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b, whole = await _exact_line(conn, n, each, bp)
        provider = await payee(s)
        for _ in range(n):  # the last one was refused INSUFFICIENT_FUNDS (NHS short)
            await s.ReleasePayment(release(b, provider, each))
        assert await _paid(conn, provider) == whole  # 3,003: NHS 1,802, council 1,201
        assert await available(conn, b) == [0, 0, 0]
        assert await _line(conn, b) == whole


async def test_a_line_is_paid_in_full_by_one_bulk_call(start_service: StartService) -> None:
    """The batch decides each item on the commitment of the items before it."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b, whole = await _exact_line(conn, 50, 10_001, (6000, 3000, 1000))
        provider = await payee(s)
        response = await s.ReleasePayments(
            api.ReleasePaymentsRequest(
                request_id=str(uuid.uuid4()),
                payments=[release(b, provider, 10_001) for _ in range(50)],
            )
        )
        assert [r.WhichOneof("outcome") for r in response.results] == ["payment"] * 50
        assert await _paid(conn, provider) == whole
        assert await _line(conn, b) == whole


async def test_a_line_is_paid_in_full_by_reservations_confirmed(
    start_service: StartService,
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b, whole = await _exact_line(conn, 3, 1_001, (6000, 4000, 0))
        provider = await payee(s)
        # One confirmed in part: the unconfirmed rest goes back to the line, by stream.
        held = await s.ReservePayment(_reserve(b, provider, 1_001))
        await s.ConfirmPayment(_confirm(held.payment_id, 500))
        for amount in (1_001, 1_001, 501):
            held = await s.ReservePayment(_reserve(b, provider, amount))
            await s.ConfirmPayment(_confirm(held.payment_id, amount))
        assert await _paid(conn, provider) == whole
        assert await _line(conn, b) == whole


async def test_a_line_is_paid_in_full_by_instalments(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b, whole = await _exact_line(conn, 3, 1_001, (6000, 4000, 0), "DIRECT_PAYMENT")
        dp = await payee(s, api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, person_id=b.person_id)
        today = SYSTEM_CLOCK.today()
        await s.CreateSchedule(
            api.CreateScheduleRequest(
                request_id=str(uuid.uuid4()),
                budget_id=str(b.budget_id),
                plan_line_id=str(b.line_id),
                payee_id=dp,
                instalment_pence=1_001,
                every_weeks=1,
                start_date=(today - timedelta(weeks=2)).isoformat(),
            )
        )
        await run_due_instalments(host.runtime.pool, PaymentSettings(), SYSTEM_CLOCK, 10)
        failures = await conn.fetch("SELECT failure FROM payment.instalments")
        assert [r["failure"] for r in failures] == [None, None, None]
        assert await _paid(conn, dp) == whole


async def test_partial_returns_give_back_exactly_the_parts_taken(
    start_service: StartService,
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b, whole = await _exact_line(conn, 3, 1_001, (6000, 4000, 0))
        provider = await payee(s)
        paid = await s.ReleasePayment(release(b, provider, 1_001))
        took = [paid.streams.nhs_pence, paid.streams.council_pence, paid.streams.client_pence]
        assert took == [601, 400, 0]
        back = [0, 0, 0]
        for amount in (1, 1, 999):
            r = await s.RecordReturn(
                api.RecordReturnRequest(
                    request_id=str(uuid.uuid4()),
                    payment_id=paid.payment_id,
                    amount_pence=amount,
                    reason="refund",
                )
            )
            back = [
                back[0] + r.streams.nhs_pence,
                back[1] + r.streams.council_pence,
                back[2] + r.streams.client_pence,
            ]
            if amount == 1 and sum(back) == 2:
                # 2p of 601/400 is 1.2/0.8: one each (split on what is left, both from NHS).
                assert back == [1, 1, 0]
        assert back == took
        assert await _line(conn, b) == [0, 0, 0]
        for _ in range(3):  # the whole line can be paid again, exactly
            await s.ReleasePayment(release(b, provider, 1_001))
        assert await _paid(conn, provider) == whole


async def test_reserve_answers_the_amount_and_streams_it_holds(
    start_service: StartService,
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (100_000, 100_000, 0))
        provider = await payee(s)
        # 333 at 60/40 is 200/133; the next 1p is the council's (the line's 334 is 200/134).
        for amount, parts in ((333, (200, 133)), (1, (0, 1))):
            held = await s.ReservePayment(_reserve(b, provider, amount))
            assert (held.amount_pence, held.reserved_pence) == (amount, amount)
            assert (held.streams.nhs_pence, held.streams.council_pence) == parts
            got = await s.GetPayment(api.GetPaymentRequest(payment_id=held.payment_id))
            assert got == held


async def _sweep(conn: asyncpg.Connection, b: FundedBudget) -> None:
    """What allocation does when it ends a budget: each stream's money back to its funder."""
    left = await available(conn, b)
    funders = (uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3))
    moves = [
        Transfer(
            uuid.uuid4(), account, funder, amount, "budget_ended", str(b.budget_id), funding=True
        )
        for account, funder, amount in zip(b.accounts, funders, left, strict=True)
        if amount > 0
    ]
    assert set(await ledger.create_transfers(conn, moves)) == {ledger.CreateTransferResult.OK}


async def _refused(s: api_grpc.PaymentServiceStub, request: object) -> tuple[str, dict[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await s.ReleasePayment(request)
    _, reason, metadata, _ = error_of(caught.value)
    return reason, metadata


async def test_a_budget_ended_before_payment_saw_it_is_not_active_not_short(
    start_service: StartService,
) -> None:
    """Right after a death allocation ends the budget and sweeps its accounts; until payment
    sees the event, a payment used to be refused INSUFFICIENT_FUNDS."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (1_000, 1_000, 0))
        provider = await payee(s)
        await _sweep(conn, b)
        reason, metadata = await _refused(s, release(b, provider, 100))
        assert (reason, metadata.get("state")) == ("BUDGET_NOT_ACTIVE", "ENDED")
        bulk = await s.ReleasePayments(
            api.ReleasePaymentsRequest(
                request_id=str(uuid.uuid4()), payments=[release(b, provider, 100)]
            )
        )
        assert bulk.results[0].error.reason == "BUDGET_NOT_ACTIVE"
        # Once payment knows of the death, the stop comes first (the documented precedence).
        await conn.execute(
            "INSERT INTO payment.stopped_people (person_id, why, stopped_on)"
            " VALUES ($1, 'DEATH', current_date)",
            b.person_id,
        )
        await read_model.apply_budget(conn, read_model.BudgetFacts(b.budget_id, state="ENDED"))
        assert (await _refused(s, release(b, provider, 100)))[0] == "PAYMENTS_STOPPED"


async def test_a_budget_ended_between_read_and_ledger_is_not_active_not_short(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch read balances before the sweep; the ledger refuses: the state reason wins over
    the ledger's code (it used to be INSUFFICIENT_FUNDS with ledger_result metadata)."""

    async def before_the_sweep(_conn: object, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        return dict.fromkeys(ids, 1_000)

    monkeypatch.setattr(ledger, "available_balances", before_the_sweep)
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (1_000, 1_000, 0))
        provider = await payee(s)
        await _sweep(conn, b)
        reason, metadata = await _refused(s, release(b, provider, 100))
        assert reason == "BUDGET_NOT_ACTIVE"
        assert "ledger_result" not in metadata
        # A budget merely short (not ended) keeps the money reason and the ledger's code.
        short = await funded_budget(conn, (10, 10, 0))
        reason, metadata = await _refused(s, release(short, provider, 100))
        assert (reason, metadata["ledger_result"]) == (
            "INSUFFICIENT_FUNDS",
            "exceeds_available_balance",
        )


def _reserve(b: FundedBudget, payee_id: str, amount: int) -> api.ReservePaymentRequest:
    return api.ReservePaymentRequest(
        request_id=str(uuid.uuid4()),
        budget_id=str(b.budget_id),
        plan_line_id=str(b.line_id),
        payee_id=payee_id,
        amount_pence=amount,
    )


def _confirm(payment_id: str, amount: int) -> api.ConfirmPaymentRequest:
    return api.ConfirmPaymentRequest(
        request_id=str(uuid.uuid4()), payment_id=payment_id, amount_pence=amount
    )
