"""Ending a budget ends everything that hangs on it (issue 13, item 13), in payment, through
the consumer of allocation's BudgetEnded against real PostgreSQL: its direct-payment schedule
ends, what an instalment paid in advance for days from the end on is reclaimed, and its open
reservations are cancelled, their holds sent on to the funders (the budget's accounts were
swept), not left to expire in an ended budget."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import TypeVar

import asyncpg
import pytest
from google.protobuf.message import Message

from onebudget import ledger
from onebudget.events.v1 import allocation_pb2, envelope_pb2
from onebudget.events.v1 import payment_pb2 as ev
from onebudget.ledger import Transfer
from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.entrypoints.consumers import on_allocation_event
from onebudget.payment.service_layer.scheduler import run_due_instalments
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.outbox import new_event
from tests.conftest import StartService
from tests.integration.test_payment_support import (
    FundedBudget,
    available,
    funded_budget,
    outbox,
    payee,
    stub,
)

FUNDERS = (uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3))  # test_payment_support's


def _today() -> date:
    return SYSTEM_CLOCK.today()


async def _balances(conn: asyncpg.Connection, ids: tuple[uuid.UUID, ...]) -> list[int]:
    found = {r.account.id: r.balance for r in await ledger.lookup_accounts(conn, list(ids))}
    return [found[i].credits_posted - found[i].debits_posted for i in ids]


async def _allocation_ends(
    conn: asyncpg.Connection,
    b: FundedBudget,
    ended_on: date,
    reason: str = "REQUESTED",
    settings: PaymentSettings | None = None,
) -> None:
    """What allocation does: sweep each stream's available balance back to its funder in the
    ledger, then publish BudgetEnded (here handed to payment's consumer)."""
    left = await available(conn, b)
    moves = [
        Transfer(uuid.uuid4(), a, f, amount, "budget_ended", str(b.budget_id), funding=True)
        for a, f, amount in zip(b.accounts, FUNDERS, left, strict=True)
        if amount > 0
    ]
    assert set(await ledger.create_transfers(conn, moves)) <= {ledger.CreateTransferResult.OK}
    ended = allocation_pb2.BudgetEnded(
        budget_id=str(b.budget_id),
        person_id=str(b.person_id),
        reason=reason,
        ended_on=ended_on.isoformat(),
        was_agreed=True,
        reasons=["needs met"],
        notice_date=(ended_on - timedelta(days=28)).isoformat(),
    )
    envelope = new_event(
        ended, source="allocation", aggregate_type="budget", aggregate_id=str(b.budget_id)
    ).envelope
    async with conn.transaction():
        await on_allocation_event(conn, envelope, settings or PaymentSettings())


M = TypeVar("M", bound=Message)


def _events(rows: list[asyncpg.Record], suffix: str, message: type[M]) -> list[M]:
    found: list[M] = []
    for r in rows:
        if r["subject"].endswith(suffix):
            envelope = envelope_pb2.EventEnvelope.FromString(r["envelope"])
            payload = message()
            assert envelope.payload.Unpack(payload)
            found.append(payload)
    return found


@pytest.mark.parametrize(
    ("reason", "grounds", "repayer"),
    [
        ("REQUESTED", "PLAN_CHANGED", "PERSON"),
        ("PERSON_DIED", "DEATH", "ESTATE"),
    ],
)
async def test_an_end_stops_the_schedule_and_reclaims_what_was_paid_in_advance(
    start_service: StartService,
    monkeypatch: pytest.MonkeyPatch,
    reason: str,
    grounds: str,
    repayer: str,
) -> None:
    """Before the fix the schedule stayed ACTIVE after the end and nothing was reclaimed."""
    monkeypatch.setenv("ONEBUDGET_PAYMENT_SCHEDULER_INTERVAL_S", "3600")
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    pool = host.runtime.pool
    async with channel:
        async with pool.acquire() as conn:
            b = await funded_budget(
                conn, (10**7, 0, 0), bp=(10000, 0, 0), management_option="DIRECT_PAYMENT"
            )
        dp = await payee(s, api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, person_id=b.person_id)
        start = _today() - timedelta(weeks=4)
        schedule = await s.CreateSchedule(
            api.CreateScheduleRequest(
                request_id=str(uuid.uuid4()),
                budget_id=str(b.budget_id),
                plan_line_id=str(b.line_id),
                payee_id=dp,
                instalment_pence=28_000,
                every_weeks=4,
                start_date=start.isoformat(),
            )
        )
        await run_due_instalments(pool, PaymentSettings(), SYSTEM_CLOCK, 100)
        async with pool.acquire() as conn:
            paid = await conn.fetchval("SELECT count(*) FROM payment.payments")
            assert paid == 2  # the start's and today's instalment, each for 28 days ahead
            # Ends in 7 days: the instalment due today paid for 21 days after that.
            await _allocation_ends(conn, b, _today() + timedelta(days=7), reason)
            row = await conn.fetchrow(
                "SELECT state, stop_reason FROM payment.schedules WHERE schedule_id = $1",
                uuid.UUID(schedule.schedule_id),
            )
            assert (row["state"], row["stop_reason"]) == ("ENDED", "BUDGET_ENDED")
            owed = await conn.fetchrow("SELECT * FROM payment.repayments")
            assert owed["amount_pence"] == 28_000 * 21 // 28
            assert (owed["grounds"], owed["repayer"]) == (grounds, repayer)
            # The notice's time limit is local practice: 28 days unless configured.
            assert owed["due_date"] == _today() + timedelta(days=7 + 28)
            stopped = _events(await outbox(conn), "schedule.stopped.v1", ev.ScheduleStopped)
            assert [e.reason for e in stopped] == ["BUDGET_ENDED"]
            # A second delivery of the end changes nothing more.
            await _allocation_ends(conn, b, _today() + timedelta(days=7), reason)
            assert await conn.fetchval("SELECT count(*) FROM payment.repayments") == 1


async def test_an_end_cancels_open_reservations_and_sends_their_holds_to_the_funders(
    start_service: StartService,
) -> None:
    """Before the fix the reservation stayed open until it expired, and its hold then sat in
    the ended (swept) budget; a second input of the same kind: two streams, two holds."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (60_000, 40_000, 0), bp=(6000, 4000, 0))
        provider = await payee(s)
        holds = [
            await s.ReservePayment(
                api.ReservePaymentRequest(
                    request_id=str(uuid.uuid4()),
                    budget_id=str(b.budget_id),
                    plan_line_id=str(b.line_id),
                    payee_id=provider,
                    amount_pence=amount,
                )
            )
            for amount in (10_000, 5_001)
        ]
        funders_before = await _balances(conn, FUNDERS)
        await _allocation_ends(conn, b, _today())
        states = await conn.fetch("SELECT state FROM payment.payments ORDER BY amount_pence")
        assert {r["state"] for r in states} == {"CANCELLED"}
        assert await available(conn, b) == [0, 0, 0]
        back = [a - x for a, x in zip(await _balances(conn, FUNDERS), funders_before, strict=True)]
        # The sweep returned 100,000 - 15,001; the two holds follow: everything is home.
        assert back == [60_000, 40_000, 0]
        cancelled = _events(await outbox(conn), "payment.cancelled.v1", ev.PaymentCancelled)
        assert len(cancelled) == len(holds)
        assert sum(r.amount_pence for c in cancelled for r in c.returned_to_funders) == 15_001


async def test_the_reclaim_notices_time_limit_is_configured(start_service: StartService) -> None:
    """Reg 15: a reclaim notice states a time limit; how long is local practice, so it is
    ONEBUDGET_PAYMENT_REPAYMENT_DUE_DAYS (default 28), read once into PaymentSettings."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel:
        async with host.runtime.pool.acquire() as conn:
            b = await funded_budget(
                conn, (10**7, 0, 0), bp=(10000, 0, 0), management_option="DIRECT_PAYMENT"
            )
        dp = await payee(s, api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, person_id=b.person_id)
        await s.CreateSchedule(
            api.CreateScheduleRequest(
                request_id=str(uuid.uuid4()),
                budget_id=str(b.budget_id),
                plan_line_id=str(b.line_id),
                payee_id=dp,
                instalment_pence=28_000,
                every_weeks=4,
                start_date=_today().isoformat(),
            )
        )
        pool = host.runtime.pool
        await run_due_instalments(pool, PaymentSettings(), SYSTEM_CLOCK, 100)
        settings = PaymentSettings.from_env({"ONEBUDGET_PAYMENT_REPAYMENT_DUE_DAYS": "14"})
        async with pool.acquire() as conn:
            ended_on = _today() + timedelta(days=7)
            await _allocation_ends(conn, b, ended_on, settings=settings)
            due = await conn.fetchval("SELECT due_date FROM payment.repayments")
    assert due == ended_on + timedelta(days=14)
