"""Stopping and resuming payments (NHS (Direct Payments) Regulations 2013 reg 17; issue 13
items 6 and 7), through gRPC and the entitlement consumer against real PostgreSQL and NATS:
StopPayments / ResumePayments with grounds, dates and reasons; a refused eligibility stops the
budgets that rest on it; a granted PHB after a withdrawal of consent lets payments go again."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import grpc
import pytest

from onebudget.events.v1 import entitlement_pb2 as ent
from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.entrypoints.consumers import on_entitlement_event
from onebudget.payment.service_layer import read_model
from onebudget.payment.service_layer.scheduler import run_due_instalments
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.outbox import new_event
from tests.conftest import StartService
from tests.integration.test_payment_support import (
    FundedBudget,
    error_of,
    funded_budget,
    outbox,
    payee,
    release,
    stub,
)


def _rid() -> str:
    return str(uuid.uuid4())


async def _feed(conn: asyncpg.Connection, payload: Any, person: uuid.UUID, version: int) -> None:
    """An entitlement event as payment's consumer applies it; `version` is the person's."""
    envelope = new_event(
        payload,
        source="entitlement",
        aggregate_type="person",
        aggregate_id=str(person),
        aggregate_version=version,
    ).envelope
    async with conn.transaction():
        await on_entitlement_event(conn, envelope)


def _eligibility(person: uuid.UUID, granted: bool, on: str, category: Any = None) -> Any:
    return ent.EligibilityDecided(
        person_id=str(person),
        decision_id=_rid(),
        category=category or ent.ELIGIBILITY_CATEGORY_CHC,
        outcome=ent.DECISION_OUTCOME_GRANTED if granted else ent.DECISION_OUTCOME_REFUSED,
        reasons=[] if granted else ["no longer meets the CHC criteria"],
        decided_on=on,
    )


def _phb_granted(person: uuid.UUID, on: str) -> Any:
    return ent.PersonalHealthBudgetRequestDecided(
        person_id=str(person),
        phb_request_id=_rid(),
        category=ent.ELIGIBILITY_CATEGORY_CHC,
        outcome=ent.DECISION_OUTCOME_GRANTED,
        decided_on=on,
        right_to_have=True,
    )


async def _budget(conn: asyncpg.Connection, cohort: str = "CHC", **kw: Any) -> FundedBudget:
    b = await funded_budget(conn, (100_000, 100_000, 0), **kw)
    await read_model.apply_budget(conn, read_model.BudgetFacts(b.budget_id, cohort=cohort))
    return b


async def _refused(call: Any) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    code, reason, metadata, _ = error_of(caught.value)
    return code, reason, metadata


def _stop(b: FundedBudget, grounds: Any = api.STOP_GROUNDS_MISUSE, **kw: Any) -> Any:
    return api.StopPaymentsRequest(
        request_id=kw.pop("request_id", _rid()),
        budget_id=str(b.budget_id),
        grounds=grounds,
        reasons=kw.pop("reasons", ["spent on items outside the care plan"]),
        **kw,
    )


def _resume(b: FundedBudget, **kw: Any) -> Any:
    return api.ResumePaymentsRequest(
        request_id=kw.pop("request_id", _rid()),
        budget_id=str(b.budget_id),
        reasons=kw.pop("reasons", ["the review found the plan followed again"]),
        **kw,
    )


async def test_stop_and_resume_payments_for_misuse_or_fraud(start_service: StartService) -> None:
    """Issue 13 item 7: no API stopped payments. StopPayments (grounds, reasons, date) refuses
    every payment PAYMENTS_STOPPED with its grounds until ResumePayments; both are idempotent
    by request_id and outbox an event; the other budget of the person pays throughout."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await _budget(conn)
        other = await _budget(conn, person_id=b.person_id)
        provider = await payee(s)
        today = SYSTEM_CLOCK.today()
        held = await s.ReservePayment(
            api.ReservePaymentRequest(
                request_id=_rid(),
                budget_id=str(b.budget_id),
                plan_line_id=str(b.line_id),
                payee_id=provider,
                amount_pence=500,
            )
        )
        request = _stop(b, stopped_on=(today - timedelta(days=3)).isoformat())
        stopped = await s.StopPayments(request)
        assert stopped.grounds == api.STOP_GROUNDS_MISUSE
        assert stopped.resumed_on == ""
        assert (await s.StopPayments(request)).stop_id == stopped.stop_id  # a retry
        code, reason, metadata = await _refused(s.ReleasePayment(release(b, provider, 100)))
        assert (code, reason, metadata["grounds"]) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "PAYMENTS_STOPPED",
            "MISUSE",
        )
        confirm = api.ConfirmPaymentRequest(
            request_id=_rid(), payment_id=held.payment_id, amount_pence=500
        )
        _, reason, _ = await _refused(s.ConfirmPayment(confirm))  # a hold made before
        assert reason == "PAYMENTS_STOPPED"
        await s.ReleasePayment(release(other, provider, 100))  # its own budget only
        # The statement says so too (the tester saw a stopped budget shown as payable).
        statement = await s.GetBudgetStatement(
            api.GetBudgetStatementRequest(budget_id=str(b.budget_id))
        )
        assert (statement.payments_stopped, statement.stop_grounds) == (True, "MISUSE")
        other_statement = await s.GetBudgetStatement(
            api.GetBudgetStatementRequest(budget_id=str(other.budget_id))
        )
        assert (other_statement.payments_stopped, other_statement.stop_grounds) == (False, "")
        _, reason, metadata = await _refused(s.StopPayments(_stop(b, api.STOP_GROUNDS_FRAUD)))
        assert (reason, metadata["grounds"]) == ("PAYMENTS_ALREADY_STOPPED", "MISUSE")
        _, reason, _ = await _refused(
            s.ResumePayments(_resume(b, resumed_on=(today - timedelta(days=4)).isoformat()))
        )
        assert reason == "RESUMED_BEFORE_STOPPED"
        resume = _resume(b)
        resumed = await s.ResumePayments(resume)
        assert resumed.resumed_on == today.isoformat()
        assert (await s.ResumePayments(resume)).resumed_on == resumed.resumed_on
        paid = await s.ReleasePayment(release(b, provider, 100))
        assert paid.amount_pence == 100
        statement = await s.GetBudgetStatement(
            api.GetBudgetStatementRequest(budget_id=str(b.budget_id))
        )
        assert (statement.payments_stopped, statement.stop_grounds) == (False, "")
        confirm.request_id = _rid()
        assert (await s.ConfirmPayment(confirm)).state == api.PAYMENT_STATE_CONFIRMED
        _, reason, _ = await _refused(s.ResumePayments(_resume(b)))
        assert reason == "PAYMENTS_NOT_STOPPED"
        subjects = [r["subject"] for r in await outbox(conn)]
        assert subjects.count("onebudget.payment.budget.payments_stopped.v1") == 1
        assert subjects.count("onebudget.payment.budget.payments_resumed.v1") == 1
        # Bad input: no grounds, no reasons, a future date; an unknown budget.
        _, _, _ = await _refused(
            s.StopPayments(
                _stop(
                    b,
                    api.STOP_GROUNDS_UNSPECIFIED,
                    reasons=[],
                    stopped_on=(today + timedelta(days=1)).isoformat(),
                )
            )
        )
        code, reason, _ = await _refused(
            s.StopPayments(
                api.StopPaymentsRequest(
                    request_id=_rid(),
                    budget_id=_rid(),
                    grounds=api.STOP_GROUNDS_FRAUD,
                    reasons=["suspected fraud"],
                )
            )
        )
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "BUDGET_NOT_FOUND")


async def test_a_refused_eligibility_stops_the_budgets_that_rest_on_it(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 item 7: after CHC eligibility was refused, payments still went out. The
    decision in force (latest by date, shared/standing.py) now stops the CHC budget's releases
    and instalments (not the person's other cohort); a grant dated before the refusal changes
    nothing; a later-dated grant lets it pay again."""
    monkeypatch.setenv("ONEBUDGET_PAYMENT_SCHEDULER_INTERVAL_S", "3600")  # we drive it
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    pool = host.runtime.pool
    async with channel, pool.acquire() as conn:
        b = await _budget(conn, bp=(10_000, 0, 0))
        mh = await _budget(conn, "MENTAL_HEALTH", person_id=b.person_id)
        # The person's direct payment, on a direct-payment line of its own (ADR 11).
        d = await _budget(
            conn, bp=(10_000, 0, 0), person_id=b.person_id, management_option="DIRECT_PAYMENT"
        )
        provider = await payee(s)
        dp = await payee(s, api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, person_id=b.person_id)
        await _feed(conn, _eligibility(b.person_id, True, "2026-04-01"), b.person_id, 1)
        await s.ReleasePayment(release(b, provider, 100))
        # A direct-payment schedule whose first instalment falls due today.
        await s.CreateSchedule(
            api.CreateScheduleRequest(
                request_id=_rid(),
                budget_id=str(d.budget_id),
                plan_line_id=str(d.line_id),
                payee_id=dp,
                instalment_pence=1_000,
                every_weeks=4,
                start_date=SYSTEM_CLOCK.today().isoformat(),
            )
        )
        await _feed(conn, _eligibility(b.person_id, False, "2026-05-01"), b.person_id, 2)
        _, reason, metadata = await _refused(s.ReleasePayment(release(b, provider, 100)))
        assert (reason, metadata["grounds"]) == ("PAYMENTS_STOPPED", "INELIGIBILITY")
        await s.ReleasePayment(release(mh, provider, 100))
        # A stopped budget's schedule pays nothing: the instalment due today is refused.
        await run_due_instalments(pool, PaymentSettings(), SYSTEM_CLOCK, 10)
        failed = await conn.fetch("SELECT failure FROM payment.instalments")
        assert [r["failure"] for r in failed] == ["PAYMENTS_STOPPED"]
        assert (
            await conn.fetchval("SELECT count(*) FROM payment.payments WHERE kind = 'INSTALMENT'")
            == 0
        )
        # Resuming by hand is refused while the refusal is in force.
        _, reason, _ = await _refused(s.ResumePayments(_resume(b)))
        assert reason == "ELIGIBILITY_REFUSED"
        # A grant dated 1 April recorded after the refusal does not hold.
        await _feed(conn, _eligibility(b.person_id, True, "2026-04-01"), b.person_id, 3)
        assert (await _refused(s.ReleasePayment(release(b, provider, 100))))[1] == (
            "PAYMENTS_STOPPED"
        )
        await _feed(conn, _eligibility(b.person_id, True, "2026-06-01"), b.person_id, 4)
        assert (await s.ReleasePayment(release(b, provider, 100))).amount_pence == 100


async def test_payments_resume_after_consent_is_given_again(start_service: StartService) -> None:
    """Issue 13 item 6: consent withdrawn on 1 June, a new PHB granted on 1 July (the person is
    active again), a new budget agreed: every payment was refused PAYMENTS_STOPPED for ever.
    A death stays a stop whatever follows, and a grant recorded before the withdrawal lifts
    nothing."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        provider = await payee(s)
        person = uuid.uuid4()
        withdrawn = ent.ConsentWithdrawn(person_id=str(person), withdrawn_on="2026-06-01")
        await _feed(conn, withdrawn, person, 5)
        new = await _budget(conn, person_id=person)
        assert (await _refused(s.ReleasePayment(release(new, provider, 100))))[1] == (
            "PAYMENTS_STOPPED"
        )
        await _feed(conn, _phb_granted(person, "2026-03-01"), person, 4)  # recorded before
        assert (await _refused(s.ReleasePayment(release(new, provider, 100))))[1] == (
            "PAYMENTS_STOPPED"
        )
        await _feed(conn, _phb_granted(person, "2026-07-01"), person, 7)
        assert (await s.ReleasePayment(release(new, provider, 100))).amount_pence == 100
        died = uuid.uuid4()
        await _feed(conn, ent.PersonDied(person_id=str(died), died_on="2026-06-01"), died, 3)
        await _feed(conn, _phb_granted(died, "2026-07-01"), died, 4)
        after = await _budget(conn, person_id=died)
        _, reason, metadata = await _refused(s.ReleasePayment(release(after, provider, 100)))
        assert (reason, metadata["grounds"]) == ("PAYMENTS_STOPPED", "DEATH")
