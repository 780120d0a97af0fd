"""How the money may be held and paid, through payment's gRPC API (issue 13 items 8-11): the
management option decides who a line pays, a direct-payment account belongs to one person, paid
services fall in the budget's period, and a schedule covers its line. Each test reproduces a
fault seen on a running stack (it failed before the rule) and tries a second input of its kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import date, timedelta
from typing import Any

import asyncpg
import grpc
import pytest

from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.service_layer.scheduler import run_due_instalments
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.payment.v1 import payment_service_pb2_grpc as api_grpc
from onebudget.shared.clock import FixedClock
from tests.conftest import StartService
from tests.integration.test_payment_support import (
    FundedBudget,
    error_of,
    funded_budget,
    payee,
    release,
    stub,
)

YEAR_2026 = (date(2026, 4, 1), date(2027, 3, 31))
DP = api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT


async def _refused(call: Awaitable[Any]) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    code, reason, metadata, _ = error_of(caught.value)
    return code, reason, metadata


def _schedule(
    b: FundedBudget, payee_id: str, instalment: int, every_weeks: int = 4, **kw: str
) -> api.CreateScheduleRequest:
    return api.CreateScheduleRequest(
        request_id=str(uuid.uuid4()),
        budget_id=str(b.budget_id),
        plan_line_id=str(b.line_id),
        payee_id=payee_id,
        instalment_pence=instalment,
        every_weeks=every_weeks,
        start_date=kw.pop("start_date", "2026-04-01"),
        **kw,
    )


# -- item 8: management options are rules, not labels ---------------------------------------------


async def test_a_direct_payment_schedule_runs_only_on_a_direct_payment_line(
    start_service: StartService,
) -> None:
    """Before: a direct-payment schedule ran on a notional line. Also a third-party line."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel:
        for option in ("NOTIONAL", "THIRD_PARTY"):
            async with host.runtime.pool.acquire() as conn:
                b = await funded_budget(
                    conn, (10**7, 10**7, 0), cost_pence=520_000, management_option=option
                )
            account = await payee(s, DP, person_id=b.person_id)
            code, reason, metadata = await _refused(s.CreateSchedule(_schedule(b, account, 40_000)))
            assert code == grpc.StatusCode.FAILED_PRECONDITION
            assert reason == "NOT_A_DIRECT_PAYMENT_LINE"
            assert metadata["management_option"] == option
            # Nor may a release pay the direct-payment account from such a line.
            _, reason, _ = await _refused(s.ReleasePayment(release(b, account, 1_000)))
            assert reason == "PAYEE_NOT_FOR_MANAGEMENT_OPTION"


async def test_a_direct_payment_line_pays_only_the_direct_payment_account(
    start_service: StartService,
) -> None:
    """Before: a direct-payment line paid a provider. Also a personal assistant and a third
    party; the person's own account is paid."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel:
        async with host.runtime.pool.acquire() as conn:
            b = await funded_budget(conn, (10**7, 10**7, 0), management_option="DIRECT_PAYMENT")
        for kind in (
            api.PAYEE_KIND_PROVIDER,
            api.PAYEE_KIND_PERSONAL_ASSISTANT,
            api.PAYEE_KIND_THIRD_PARTY_ORGANISATION,
        ):
            other = await payee(s, kind)
            code, reason, metadata = await _refused(s.ReleasePayment(release(b, other, 1_000)))
            assert (code, reason) == (
                grpc.StatusCode.FAILED_PRECONDITION,
                "PAYEE_NOT_FOR_MANAGEMENT_OPTION",
            )
            assert metadata["management_option"] == "DIRECT_PAYMENT"
        account = await payee(s, DP, person_id=b.person_id)
        paid = await s.ReleasePayment(release(b, account, 1_000))
        assert paid.amount_pence == 1_000


# -- item 9: a direct-payment account belongs to one person ---------------------------------------


async def test_a_direct_payment_account_is_paid_from_its_own_persons_budgets_only(
    start_service: StartService,
) -> None:
    """Before: one account payee received direct payments from two people's budgets. Also by
    schedule."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel:
        async with host.runtime.pool.acquire() as conn:
            mine = await funded_budget(conn, (10**7, 10**7, 0), management_option="DIRECT_PAYMENT")
            theirs = await funded_budget(
                conn, (10**7, 10**7, 0), management_option="DIRECT_PAYMENT"
            )
        account = await payee(s, DP, person_id=mine.person_id)
        got = await s.GetPayee(api.GetPayeeRequest(payee_id=account))
        assert got.person_id == str(mine.person_id)
        await s.ReleasePayment(release(mine, account, 1_000))
        code, reason, metadata = await _refused(s.ReleasePayment(release(theirs, account, 1_000)))
        assert (code, reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "DIRECT_PAYMENT_ACCOUNT_OF_ANOTHER_PERSON",
        )
        assert metadata["budget_person_id"] == str(theirs.person_id)
        _, reason, _ = await _refused(s.CreateSchedule(_schedule(theirs, account, 1_000)))
        assert reason == "DIRECT_PAYMENT_ACCOUNT_OF_ANOTHER_PERSON"


async def test_a_direct_payment_account_is_registered_with_its_holder(
    start_service: StartService,
) -> None:
    """A direct-payment account without a person is refused; a provider with one too."""
    host = await start_service(SPEC)
    channel, s = stub(host)
    async with channel:
        for kind, person in ((DP, ""), (api.PAYEE_KIND_PROVIDER, str(uuid.uuid4()))):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await s.RegisterPayee(
                    api.RegisterPayeeRequest(
                        request_id=str(uuid.uuid4()), kind=kind, name="x", person_id=person
                    )
                )
            code, _, _, fields = error_of(caught.value)
            assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["person_id"])


# -- item 10: paid services fall in the budget's period -------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [("2024-01-01", "2024-01-31"), ("2028-06-01", "2028-06-30"), ("2027-03-01", "2027-04-01")],
)
async def test_services_outside_the_budgets_period_are_not_paid_from_it(
    start_service: StartService, start: str, end: str
) -> None:
    """Before: services in January 2024 or June 2028 were paid from a 2026-27 budget; a period
    running one day past its end is refused too, by release, reservation and bulk alike."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel:
        async with host.runtime.pool.acquire() as conn:
            b = await funded_budget(conn, (10**7, 10**7, 0), period=YEAR_2026)
        provider = await payee(s)
        ask = release(b, provider, 1_000, service_period_start=start, service_period_end=end)
        code, reason, metadata = await _refused(s.ReleasePayment(ask))
        assert (code, reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "SERVICE_PERIOD_OUTSIDE_BUDGET",
        )
        assert metadata["budget_end_date"] == "2027-03-31"
        held = api.ReservePaymentRequest(
            request_id=str(uuid.uuid4()),
            budget_id=str(b.budget_id),
            plan_line_id=str(b.line_id),
            payee_id=provider,
            amount_pence=1_000,
            service_period_start=start,
            service_period_end=end,
        )
        _, reason, _ = await _refused(s.ReservePayment(held))
        assert reason == "SERVICE_PERIOD_OUTSIDE_BUDGET"
        bulk = await s.ReleasePayments(
            api.ReleasePaymentsRequest(request_id=str(uuid.uuid4()), payments=[ask])
        )
        assert bulk.results[0].error.reason == "SERVICE_PERIOD_OUTSIDE_BUDGET"
        inside = release(
            b, provider, 1_000, service_period_start="2027-03-01", service_period_end="2027-03-31"
        )
        assert (await s.ReleasePayment(inside)).amount_pence == 1_000


# -- item 11: a schedule covers the plan ---------------------------------------------------------


async def _dp_line(
    s: api_grpc.PaymentServiceStub, pool: asyncpg.Pool, cost: int
) -> tuple[FundedBudget, str]:
    async with pool.acquire() as conn:
        b = await funded_budget(
            conn,
            (10**7, 10**7, 0),
            bp=(10_000, 0, 0),
            cost_pence=cost,
            management_option="DIRECT_PAYMENT",
            period=YEAR_2026,
        )
    return b, await payee(s, DP, person_id=b.person_id)


async def test_a_schedule_must_pay_the_lines_cost_over_its_period(
    start_service: StartService,
) -> None:
    """Before: 1p every 4 weeks was accepted for a £5,200 direct-payment line. 14 instalments
    fall due from 1 April 2026 to 31 March 2027: 37,143p each covers 520,000p; 37,142 does not;
    40,000 (13 x 40,000 = 520,000 already) pays more than the line."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel:
        b, account = await _dp_line(s, host.runtime.pool, 520_000)
        for instalment in (1, 37_142):
            code, reason, metadata = await _refused(
                s.CreateSchedule(_schedule(b, account, instalment))
            )
            assert (code, reason) == (
                grpc.StatusCode.FAILED_PRECONDITION,
                "SCHEDULE_DOES_NOT_COVER_LINE",
            )
            assert (metadata["instalment_min_pence"], metadata["instalment_count"]) == (
                "37143",
                "14",
            )
        _, reason, metadata = await _refused(s.CreateSchedule(_schedule(b, account, 40_000)))
        assert (reason, metadata["instalment_max_pence"]) == ("SCHEDULE_EXCEEDS_LINE", "39999")
        _, reason, _ = await _refused(
            s.CreateSchedule(_schedule(b, account, 37_143, end_date="2027-04-30"))
        )
        assert reason == "SCHEDULE_OUTSIDE_BUDGET"
        made = await s.CreateSchedule(_schedule(b, account, 37_143))
        assert made.end_date == "2027-03-31"  # the budget's end when none is given


async def test_a_covering_schedule_pays_the_line_exactly(start_service: StartService) -> None:
    """Every instalment paid, the last only what is left: the line is spent to the penny and
    no instalment pays for a day after the budget's end."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    pool = host.runtime.pool
    channel, s = stub(host)
    async with channel:
        b, account = await _dp_line(s, pool, 520_000)
        await s.CreateSchedule(_schedule(b, account, 37_143))
        clock = FixedClock.on(date(2027, 3, 31))
        await run_due_instalments(pool, PaymentSettings(), clock, 100)
        rows = await pool.fetch(
            "SELECT amount_pence, service_period_start, service_period_end"
            " FROM payment.payments ORDER BY instalment_no"
        )
        assert [r["amount_pence"] for r in rows] == [37_143] * 13 + [520_000 - 13 * 37_143]
        assert sum(r["amount_pence"] for r in rows) == 520_000
        assert rows[-1]["service_period_start"] == date(2026, 4, 1) + timedelta(weeks=52)
        assert rows[-1]["service_period_end"] == date(2027, 3, 31)
        failures = await pool.fetchval(
            "SELECT count(*) FROM payment.instalments WHERE failure IS NOT NULL"
        )
        assert failures == 0
