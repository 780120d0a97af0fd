"""Direct-payment schedules: every due instalment is paid exactly once, though the scheduler is
cancelled at random points, restarted, and a second replica runs at the same time; offsets of
accumulated funds; payments stop and unspent money is reclaimed when the person dies."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from datetime import date, timedelta

import pytest
from structlog.testing import capture_logs

from onebudget import ledger
from onebudget.events.v1 import entitlement_pb2
from onebudget.ledger import FundingStream
from onebudget.ledger.chart import payee_account_id
from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.entrypoints.consumers import on_entitlement_event
from onebudget.payment.service_layer.scheduler import SchedulerRun, run_due_instalments
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.money import split_largest_remainder
from onebudget.shared.outbox import new_event
from tests.conftest import StartService
from tests.integration.test_payment_support import funded_budget, outbox, payee, stub

WEEKS_BACK = 20
EVERY_WEEKS = 2
DUE = WEEKS_BACK // EVERY_WEEKS + 1  # instalments due by today, the first on the start date


def _today() -> date:
    return SYSTEM_CLOCK.today()


async def test_each_instalment_paid_once_across_kills_and_replicas(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEBUDGET_PAYMENT_SCHEDULER_INTERVAL_S", "3600")  # we drive it
    first = await start_service(SPEC)
    assert first.runtime is not None
    channel, s = stub(first)
    pool = first.runtime.pool
    async with channel:
        async with pool.acquire() as conn:
            b = await funded_budget(
                conn, (10**7, 10**7, 0), bp=(7000, 3000, 0), management_option="DIRECT_PAYMENT"
            )
        dp = await payee(s, api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, person_id=b.person_id)
        schedule = await s.CreateSchedule(
            api.CreateScheduleRequest(
                request_id=str(uuid.uuid4()),
                budget_id=str(b.budget_id),
                plan_line_id=str(b.line_id),
                payee_id=dp,
                instalment_pence=40_001,
                every_weeks=EVERY_WEEKS,
                start_date=(_today() - timedelta(weeks=WEEKS_BACK)).isoformat(),
            )
        )
        settings = PaymentSettings()
        rng = random.Random(7)
        for _ in range(12):  # killed at random points, mid-transaction included
            task = asyncio.create_task(run_due_instalments(pool, settings, SYSTEM_CLOCK, 100))
            await asyncio.sleep(rng.uniform(0, 0.03))
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        second = await start_service(SPEC)  # a second replica, at the same time as the first
        assert second.runtime is not None
        await asyncio.gather(
            run_due_instalments(pool, settings, SYSTEM_CLOCK, 100),
            run_due_instalments(second.runtime.pool, settings, SYSTEM_CLOCK, 100),
            run_due_instalments(second.runtime.pool, settings, SYSTEM_CLOCK, 100),
        )
        got = await s.GetSchedule(api.GetScheduleRequest(schedule_id=schedule.schedule_id))
        assert got.instalments_paid == DUE
        assert got.next_instalment_no == DUE + 1
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM payment.instalments") == DUE
            assert await conn.fetchval("SELECT count(*) FROM payment.payments") == DUE
            nhs = await ledger.get_account_balance(
                conn, payee_account_id(uuid.UUID(dp), FundingStream.NHS)
            )
            council = await ledger.get_account_balance(
                conn, payee_account_id(uuid.UUID(dp), FundingStream.COUNCIL)
            )
            assert nhs is not None
            assert council is not None
            # Over the line's running total (ADR 7), not per instalment: 70% of DUE x 40,001
            # within a penny (per instalment, 28,001 each would drift by DUE x 0.3p).
            paid = split_largest_remainder(DUE * 40_001, [7000, 3000])
            assert [nhs.credits_posted, council.credits_posted] == paid
            subjects = [r["subject"] for r in await outbox(conn)]
            assert subjects.count("onebudget.payment.schedule.instalment_paid.v1") == DUE
            assert subjects.count("onebudget.payment.schedule.direct_payment_started.v1") == 1


async def test_offset_then_death_stops_and_reclaims(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
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
                instalment_pence=40_000,
                every_weeks=4,
                start_date=start.isoformat(),
            )
        )
        # 8 weeks of a 4-weekly 40,000 is 80,000: 95,000 unused is 15,000 above the threshold.
        offset = await s.OffsetAccumulatedFunds(
            api.OffsetAccumulatedFundsRequest(
                request_id=str(uuid.uuid4()),
                schedule_id=schedule.schedule_id,
                unused_balance_pence=95_000,
                as_of=start.isoformat(),
            )
        )
        assert offset.offset_outstanding_pence == 15_000
        await run_due_instalments(pool, PaymentSettings(), SYSTEM_CLOCK, 100)
        async with pool.acquire() as conn:
            paid = await conn.fetch("SELECT amount_pence FROM payment.payments ORDER BY created_at")
            assert [r["amount_pence"] for r in paid] == [25_000, 40_000]
            died = entitlement_pb2.PersonDied(
                person_id=str(b.person_id), died_on=_today().isoformat()
            )
            envelope = new_event(
                died,
                source="entitlement",
                aggregate_type="person",
                aggregate_id=str(b.person_id),
            ).envelope
            async with conn.transaction():
                await on_entitlement_event(conn, envelope)
            state = await conn.fetchval("SELECT state FROM payment.schedules")
            assert state == "STOPPED"
            owed = await conn.fetchrow("SELECT * FROM payment.repayments")
            # The instalment due today covers 28 days; 27 of them come after the death.
            assert owed["amount_pence"] == 40_000 * 27 // 28
            assert owed["grounds"] == "DEATH"


async def test_a_run_pays_at_most_the_catch_up_limit_and_flags_the_rest(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15, item 5: a schedule dated far back paid 5,353 back-dated instalments at once.
    Now one run pays at most `catch_up_max` back-dated instalments per schedule; the rest wait
    for later runs, shown by GetSchedule's backdated_held and one log line per run."""
    monkeypatch.setenv("ONEBUDGET_PAYMENT_SCHEDULER_INTERVAL_S", "3600")
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    pool = host.runtime.pool
    async with channel:
        async with pool.acquire() as conn:
            b = await funded_budget(
                conn, (10**8, 0, 0), bp=(10000, 0, 0), management_option="DIRECT_PAYMENT"
            )
        dp = await payee(s, api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, person_id=b.person_id)

        async def schedule(weeks_back: int) -> str:
            made = await s.CreateSchedule(
                api.CreateScheduleRequest(
                    request_id=str(uuid.uuid4()),
                    budget_id=str(b.budget_id),
                    plan_line_id=str(b.line_id),
                    payee_id=dp,
                    instalment_pence=1_000,
                    every_weeks=1,
                    start_date=(_today() - timedelta(weeks=weeks_back)).isoformat(),
                )
            )
            return str(made.schedule_id)

        async def got(schedule_id: str) -> tuple[int, int]:
            one = await s.GetSchedule(api.GetScheduleRequest(schedule_id=schedule_id))
            return one.instalments_paid, one.backdated_held

        far = await schedule(30)  # 30 back-dated instalments and today's
        near = await schedule(3)  # 3 back-dated and today's: within the limit
        limited = PaymentSettings(catch_up_max=4)

        with capture_logs() as logs:
            handled = await run_due_instalments(pool, limited, SYSTEM_CLOCK, 100)
        assert handled == 4 + 4
        assert await got(far) == (4, 26)
        assert await got(near) == (4, 0)
        flagged = [e for e in logs if e["event"] == "schedule_catch_up_limited"]
        assert [(e["schedule_id"], e["backdated_held"]) for e in flagged] == [(far, 26)]

        # The next run: four more, and still flagged.
        assert await run_due_instalments(pool, limited, SYSTEM_CLOCK, 100) == 4
        assert await got(far) == (8, 22)
        # A run split over several calls (two instalments each) is still one run.
        run = SchedulerRun()
        calls = [await run_due_instalments(pool, limited, SYSTEM_CLOCK, 2, run) for _ in range(3)]
        assert calls == [2, 2, 0]
        assert await got(far) == (12, 18)
        # A larger limit catches up: 18 back-dated and today's, and the flag goes.
        assert (
            await run_due_instalments(pool, PaymentSettings(catch_up_max=50), SYSTEM_CLOCK, 100)
            == 19
        )
        assert await got(far) == (31, 0)
        paid = await pool.fetchval("SELECT sum(amount_pence) FROM payment.payments")
        assert paid == (31 + 4) * 1_000
