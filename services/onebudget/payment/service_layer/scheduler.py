"""Direct-payment instalments, each paid exactly once; expiry of reservations; stopping payments.

Exactly once, even with two replicas and restarts at any point: each instalment is one
transaction that locks its schedule row (FOR UPDATE SKIP LOCKED: another replica takes another
schedule), inserts the (schedule_id, instalment_no) row (primary key), creates the ledger
transfers whose ids derive from the same pair (uuid5), writes the payment, advances the
schedule and outboxes the event, then commits. A crash before the commit leaves nothing; after
it, the schedule has moved on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import asyncpg

from onebudget import ledger
from onebudget.events.v1 import payment_pb2 as ev
from onebudget.ledger import CreateTransferResult as R
from onebudget.ledger import Transfer
from onebudget.ledger import reads as ledger_reads
from onebudget.ledger.chart import payee_account_id
from onebudget.payment.adapters import repository as repo
from onebudget.payment.config import PaymentSettings
from onebudget.payment.domain.ids import instalment_payment_id, transfer_id
from onebudget.payment.domain.model import (
    STREAMS,
    Accepted,
    BudgetContext,
    Parts,
    Payee,
    PaymentAsk,
    PlanLine,
    decide_payments,
    is_money_refusal,
    refusal_after_ledger,
)
from onebudget.payment.domain.schedules import (
    REPAYMENT_DUE_DAYS_DEFAULT,
    backdated_unpaid,
    due_date,
    end_reclaim_terms,
    instalment_pence_due,
    instalment_period,
    is_backdated,
    last_day_paid_for,
    may_pay_now,
    plan_instalment,
    unspent_after,
    unspent_after_end,
)
from onebudget.payment.service_layer import mapping
from onebudget.payment.service_layer.handlers import (
    cancel_reservation,
    payment_context,
    raise_repayment,
)
from onebudget.payment.service_layer.outgoing import SCHEMA, event
from onebudget.payment.service_layer.release import with_ledger_end as _with_ledger_end
from onebudget.shared import tracing
from onebudget.shared.clock import Clock
from onebudget.shared.errors import DomainError
from onebudget.shared.logging import get_logger
from onebudget.shared.metrics import count_ledger_transfers, counting_ledger_transfers
from onebudget.shared.outbox import OutgoingEvent, add_to_outbox

_log = get_logger("onebudget.payment.scheduler")


@dataclass
class SchedulerRun:
    """One pass of the scheduler over the due schedules (it may span several calls of
    `run_due_instalments` when more than `limit_max` instalments are due): the back-dated
    instalments paid per schedule so far, and the schedules held back until the next run."""

    backdated_paid: dict[uuid.UUID, int] = field(default_factory=dict)
    held: set[uuid.UUID] = field(default_factory=set)
    # What the run did, counted after each instalment's commit (for the metrics).
    paid: int = 0
    not_paid: int = 0


async def run_due_instalments(
    pool: asyncpg.Pool,
    settings: PaymentSettings,
    clock: Clock,
    limit_max: int,
    run: SchedulerRun | None = None,
) -> int:
    """Pay (or refuse) instalments due by England's date on `clock`, one transaction each;
    returns how many were handled (fewer than `limit_max`: nothing else is due in this `run`).

    A schedule gets at most `settings.catch_up_max` back-dated instalments paid in one run
    (domain/schedules.py `may_pay_now`); beyond that it is held until the next run, flagged
    (its `backdated_held` count, shown by GetSchedule) and logged `schedule_catch_up_limited`."""
    run = run if run is not None else SchedulerRun()
    today = clock.today()
    handled = 0
    while handled < limit_max:
        async with pool.acquire() as conn, conn.transaction():
            schedule = await repo.next_due_schedule(conn, today, skip=run.held)
            if schedule is None:
                return handled
            sid = schedule["schedule_id"]
            due = due_date(
                schedule["start_date"], schedule["every_weeks"], schedule["next_instalment_no"]
            )
            paid_before = run.backdated_paid.get(sid, 0)
            if not may_pay_now(due, today, paid_before, settings.catch_up_max):
                await _hold(conn, schedule, today, paid_before)
                run.held.add(sid)
                continue
            # A trace of its own per instalment (tracing on): its events carry it onwards.
            with tracing.internal_span(
                "payment.scheduler instalment", **{"onebudget.service": "payment"}
            ):
                transfers = await _instalment(conn, settings, schedule, today, clock)
        # Committed: count it.
        count_ledger_transfers("payment", "instalment", transfers)
        if transfers:
            run.paid += 1
        else:
            run.not_paid += 1
        if is_backdated(due, today):
            run.backdated_paid[sid] = paid_before + 1
        handled += 1
    return handled


async def _hold(conn: asyncpg.Connection, s: Any, today: date, paid_this_run: int) -> None:
    """Flag a schedule whose back-dated instalments are beyond this run's limit."""
    held = backdated_unpaid(
        s["start_date"], s["every_weeks"], s["next_instalment_no"], s["end_date"], today
    )
    await repo.flag_backdated(conn, s["schedule_id"], held)
    _log.warning(
        "schedule_catch_up_limited",
        schedule_id=str(s["schedule_id"]),
        paid_this_run=paid_this_run,
        backdated_held=held,
        next_due_date=s["next_due_date"].isoformat(),
    )


async def _instalment(
    conn: asyncpg.Connection, settings: PaymentSettings, s: Any, today: date, clock: Clock
) -> int:
    """Pay (or refuse, or end) the schedule's next instalment; returns the ledger transfers
    written (0: not paid)."""
    n = s["next_instalment_no"]
    due = due_date(s["start_date"], s["every_weeks"], n)
    if s["end_date"] is not None and due > s["end_date"]:
        await repo.update_schedule(conn, s["schedule_id"], state="ENDED")
        return 0
    payment_id = instalment_payment_id(s["schedule_id"], n)
    budgets = await repo.budgets(conn, [s["budget_id"]])
    ctx = budgets.get(s["budget_id"])
    lines = await repo.plan_lines(conn, [s["plan_line_id"]], for_update=True)
    line = lines.get(s["plan_line_id"])
    left = line.cost_pence - line.committed_pence if line else s["instalment_pence"]
    plan = plan_instalment(
        instalment_pence_due(s["instalment_pence"], left), s["offset_outstanding_pence"]
    )
    last = s["end_date"] or (ctx.budget.end_date if ctx else None)
    served = instalment_period(due, s["every_weeks"], last)
    refused: DomainError | None = None
    parts: Parts = (0, 0, 0)
    if plan.pay_pence > 0:
        ask = PaymentAsk(s["budget_id"], s["plan_line_id"], s["payee_id"], plan.pay_pence, *served)
        payees = await repo.payees(conn, [s["payee_id"]])
        accounts = [a for a in ctx.budget.accounts if a is not None] if ctx else []
        available = await ledger.available_balances(conn, accounts)
        # The one way to pay, as a release would be decided.
        decision = _decide(settings, ask, budgets, lines, payees, available, today)
        if not isinstance(decision, Accepted) and is_money_refusal(decision):
            budgets = await _with_ledger_end(conn, budgets)
            ctx = budgets.get(s["budget_id"])
            decision = _decide(settings, ask, budgets, lines, payees, available, today)
        if isinstance(decision, Accepted):
            assert ctx is not None
            parts = decision.parts
            results = await _pay(conn, s, ctx.budget.accounts, payment_id, parts)
            if results is not None:
                refused = refusal_after_ledger(
                    ask,
                    results,
                    ctx=(await _with_ledger_end(conn, budgets)).get(s["budget_id"]),
                    line=line,
                    payee=payees.get(s["payee_id"]),
                    today=today,
                    excluded_categories=settings.excluded_categories,
                )
        else:
            refused = decision
    paid = plan.pay_pence > 0 and refused is None
    if paid:
        await _payment_row(conn, s, payment_id, n, served, parts, clock)
    fresh = await repo.insert_instalment(
        conn,
        schedule_id=s["schedule_id"],
        instalment_no=n,
        due_date=due,
        scheduled_pence=plan.scheduled_pence,
        offset_pence=plan.offset_pence if refused is None else 0,
        payment_id=payment_id if paid else None,
        failure=refused.reason if refused else None,
    )
    assert fresh, "the schedule row lock makes each instalment row new"
    events: list[OutgoingEvent] = []
    context = mapping.context(ctx.budget, line) if ctx else ev.PaymentContext()
    if paid:
        events += _paid_events(s, n, served, payment_id, parts, plan.offset_pence, context)
    elif refused is not None:
        payload = ev.InstalmentFailed(
            schedule_id=str(s["schedule_id"]),
            instalment_no=n,
            context=context,
            reason=refused.reason,
            due_date=due.isoformat(),
        )
        events.append(event(payload, "schedule", s["schedule_id"], s["version"] + 1, ""))
    nxt = due_date(s["start_date"], s["every_weeks"], n + 1)
    ended = s["end_date"] is not None and nxt > s["end_date"]
    await repo.update_schedule(
        conn,
        s["schedule_id"],
        next_instalment_no=n + 1,
        next_due_date=nxt,
        offset_outstanding_pence=s["offset_outstanding_pence"]
        - (plan.offset_pence if refused is None else 0),
        instalments_paid=s["instalments_paid"] + (1 if paid else 0),
        state="ENDED" if ended else "ACTIVE",
        # Caught up: nothing back-dated is left, so no flag either.
        backdated_held=s["backdated_held"] if is_backdated(nxt, today) and not ended else 0,
    )
    await add_to_outbox(conn, SCHEMA, events)
    return sum(1 for part in parts if part > 0) if paid else 0


def _decide(
    settings: PaymentSettings,
    ask: PaymentAsk,
    budgets: dict[uuid.UUID, BudgetContext],
    lines: dict[uuid.UUID, PlanLine],
    payees: dict[uuid.UUID, Payee],
    available: dict[uuid.UUID, int],
    today: date,
) -> Accepted | DomainError:
    (decision,) = decide_payments(
        [ask],
        budgets=budgets,
        lines=lines,
        payees=payees,
        available=available,
        today=today,
        excluded_categories=settings.excluded_categories,
    )
    return decision


async def _pay(
    conn: asyncpg.Connection,
    s: Any,
    accounts: tuple[uuid.UUID | None, ...],
    payment_id: uuid.UUID,
    parts: Parts,
) -> list[R] | None:
    """The instalment's linked stream transfers; None when the ledger took them, else its
    results (a concurrent writer moved a balance after the decision read it)."""
    moves = [
        Transfer(
            id=transfer_id(payment_id, "pay", stream),
            debit_account_id=account,
            credit_account_id=payee_account_id(s["payee_id"], stream),
            amount=part,
            reason="instalment",
            budget_ref=str(s["budget_id"]),
            plan_line_ref=str(s["plan_line_id"]),
            payment_ref=str(payment_id),
            linked=True,
        )
        for stream, account, part in zip(STREAMS, accounts, parts, strict=True)
        if part > 0
    ]
    moves[-1] = replace(moves[-1], linked=False)
    results = await ledger.create_transfers(conn, moves)
    if all(r is R.OK for r in results):
        return None
    assert R.EXISTS not in results, "instalment transfers exist only with their instalment row"
    return results


async def _payment_row(
    conn: asyncpg.Connection,
    s: Any,
    payment_id: uuid.UUID,
    n: int,
    served: tuple[date, date],
    parts: Parts,
    clock: Clock,
) -> None:
    await repo.insert_payments(
        conn,
        [
            {
                "payment_id": payment_id,
                "request_id": None,
                "kind": "INSTALMENT",
                "state": "RELEASED",
                "budget_id": s["budget_id"],
                "plan_line_id": s["plan_line_id"],
                "payee_id": s["payee_id"],
                "amount_pence": sum(parts),
                "nhs_pence": parts[0],
                "council_pence": parts[1],
                "client_pence": parts[2],
                "reserved_pence": 0,
                "reserved_nhs_pence": 0,
                "reserved_council_pence": 0,
                "reserved_client_pence": 0,
                "service_period_start": served[0],
                "service_period_end": served[1],
                "broker_reference": "",
                "schedule_id": s["schedule_id"],
                "instalment_no": n,
                "expires_at": None,
                "created_at": clock.now(),
            }
        ],
    )
    await repo.add_committed(conn, [s["plan_line_id"]], [parts])


def _paid_events(
    s: Any,
    n: int,
    served: tuple[date, date],
    payment_id: uuid.UUID,
    parts: Parts,
    offset: int,
    context: ev.PaymentContext,
) -> list[OutgoingEvent]:
    due = served[0]
    version = s["version"] + 1
    paid = ev.InstalmentPaid(
        schedule_id=str(s["schedule_id"]),
        instalment_no=n,
        payment_id=str(payment_id),
        context=context,
        payee_id=str(s["payee_id"]),
        amount_pence=sum(parts),
        streams=mapping.event_streams(parts),
        offset_pence=offset,
        due_date=due.isoformat(),
        period_end=served[1].isoformat(),
    )
    events = [event(paid, "schedule", s["schedule_id"], version, "")]
    if s["instalments_paid"] == 0:
        started = ev.DirectPaymentStarted(
            schedule_id=str(s["schedule_id"]),
            budget_id=str(s["budget_id"]),
            person_id=context.person_id,
            nhs_funded=parts[0] > 0,
            start_date=due.isoformat(),
        )
        events.append(event(started, "schedule", s["schedule_id"], version, ""))
    return events


# -- expiry of reservations ----------------------------------------------------------------------


async def expire_reservations(pool: asyncpg.Pool, limit_max: int = 500) -> int:
    """Let the ledger release holds past their timeout, then mark those payments EXPIRED."""
    with counting_ledger_transfers("payment", "expiry"):
        return await _expire_reservations(pool, limit_max)


async def _expire_reservations(pool: asyncpg.Pool, limit_max: int) -> int:
    async with pool.acquire() as conn, conn.transaction():
        await ledger.expire_pending(conn, limit_max=limit_max)
        due = await repo.reserved_due(conn, limit_max)
        if not due:
            return 0
        first = {row["payment_id"]: _first_hold(row) for row in due}
        expired = await ledger_reads.expired_pending_ids(conn, list(first.values()))
        events: list[OutgoingEvent] = []
        for row in due:
            if first[row["payment_id"]] not in expired:
                continue  # the ledger's clock has not reached it yet: next round
            held = (
                -row["reserved_nhs_pence"],
                -row["reserved_council_pence"],
                -row["reserved_client_pence"],
            )
            await repo.add_committed(conn, [row["plan_line_id"]], [held])
            row = await repo.update_payment(conn, row["payment_id"], state="EXPIRED")
            parts = [
                row["reserved_nhs_pence"],
                row["reserved_council_pence"],
                row["reserved_client_pence"],
            ]
            payload = ev.PaymentExpired(
                payment_id=str(row["payment_id"]),
                context=await _context(conn, row),
                payee_id=str(row["payee_id"]),
                released_pence=row["reserved_pence"],
                streams=mapping.event_streams(parts),
            )
            events.append(event(payload, "payment", row["payment_id"], row["version"], ""))
        await add_to_outbox(conn, SCHEMA, events)
        return len(events)


def _first_hold(row: Any) -> uuid.UUID:
    parts = [row["reserved_nhs_pence"], row["reserved_council_pence"], row["reserved_client_pence"]]
    stream = next(s for s, p in zip(STREAMS, parts, strict=True) if p > 0)
    return transfer_id(row["payment_id"], "reserve", stream)


async def _context(conn: asyncpg.Connection, row: Any) -> ev.PaymentContext:
    return await payment_context(conn, row["budget_id"], row["plan_line_id"])


# -- stopping payments ---------------------------------------------------------------------------


async def stop_payments(
    conn: asyncpg.Connection,
    person_id: uuid.UUID,
    why: str,
    on: date,
    request_id: str,
    recorded: int = 0,
    due_days: int = REPAYMENT_DUE_DAYS_DEFAULT,
) -> None:
    """Death or consent withdrawn (reg 17): schedules stop, holds are cancelled, and the part of
    direct payments paid in advance for days after `on` is reclaimed (the notice's time limit
    `due_days` from `on`). `recorded` is the person's event version (a later granted PHB lifts a
    withdrawal: stopping.phb_granted)."""
    if not await repo.stop_person(conn, person_id, why, on, recorded):
        return
    budget_ids = await repo.person_budget_ids(conn, person_id)
    for reservation in await repo.open_reservations(conn, budget_ids):
        await cancel_reservation(conn, reservation, f"payments stopped: {why}", request_id)
    for s in await repo.active_schedules(conn, budget_ids):
        row = await repo.update_schedule(conn, s["schedule_id"], state="STOPPED", stop_reason=why)
        payload = ev.ScheduleStopped(
            schedule_id=str(s["schedule_id"]),
            budget_id=str(s["budget_id"]),
            person_id=str(person_id),
            reason=why,
            stopped_on=on.isoformat(),
        )
        await add_to_outbox(
            conn, SCHEMA, [event(payload, "schedule", s["schedule_id"], row["version"], "")]
        )
        await _reclaim_unspent(conn, s, why, on, request_id, due_days)


async def _reclaim_unspent(
    conn: asyncpg.Connection, s: Any, why: str, on: date, request_id: str, due_days: int
) -> None:
    unspent = 0
    for p in await repo.paid_instalments(conn, s["schedule_id"]):
        kept = p["amount_pence"] - p["returned_pence"]
        unspent += min(kept, unspent_after(p["amount_pence"], p["due_date"], s["every_weeks"], on))
    if unspent <= 0:
        return
    await raise_repayment(
        conn,
        budget_id=s["budget_id"],
        payee_id=s["payee_id"],
        grounds="DEATH" if why == "DEATH" else "CONSENT_WITHDRAWN",
        reasons=[f"direct payment paid in advance for days after {on.isoformat()}"],
        amount_pence=unspent,
        due=on + timedelta(days=due_days),
        repayer="ESTATE" if why == "DEATH" else "PERSON",
        request_id=request_id,
        plan_line_id=s["plan_line_id"],
    )


async def end_budget_payments(
    conn: asyncpg.Connection,
    budget_id: uuid.UUID,
    end_reason: str,
    ended_on: date,
    request_id: str,
    due_days: int = REPAYMENT_DUE_DAYS_DEFAULT,
) -> None:
    """A budget ended (allocation's BudgetEnded): everything that hangs on it ends too (issue 13,
    item 13). Its open reservations are cancelled (their holds go to the funders, as the end's
    sweep sent the rest), its active schedules end (ScheduleStopped, reason BUDGET_ENDED) and
    what their instalments paid in advance for days from the end date on is reclaimed (a
    repayment notice, reg 15: grounds and repayer by `end_reason`). Applied once: a schedule or
    reservation that payments stopped earlier (a death) is not stopped or reclaimed again."""
    for reservation in await repo.open_reservations(conn, [budget_id]):
        await cancel_reservation(conn, reservation, "budget ended", request_id)
    grounds, repayer = end_reclaim_terms(end_reason)
    for s in await repo.active_schedules(conn, [budget_id]):
        row = await repo.update_schedule(
            conn, s["schedule_id"], state="ENDED", stop_reason="BUDGET_ENDED"
        )
        budget = await payment_context(conn, budget_id, None)
        payload = ev.ScheduleStopped(
            schedule_id=str(s["schedule_id"]),
            budget_id=str(budget_id),
            person_id=budget.person_id,
            reason="BUDGET_ENDED",
            stopped_on=ended_on.isoformat(),
        )
        await add_to_outbox(
            conn, SCHEMA, [event(payload, "schedule", s["schedule_id"], row["version"], "")]
        )
        unspent = 0
        for p in await repo.paid_instalments(conn, s["schedule_id"]):
            kept = p["amount_pence"] - p["returned_pence"]
            unspent += min(
                kept,
                unspent_after_end(p["amount_pence"], p["due_date"], s["every_weeks"], ended_on),
            )
        if unspent <= 0:
            continue
        last = last_day_paid_for(ended_on)
        await raise_repayment(
            conn,
            budget_id=budget_id,
            payee_id=s["payee_id"],
            grounds=grounds,
            reasons=[f"direct payment paid in advance for days after {last.isoformat()}"],
            amount_pence=unspent,
            due=ended_on + timedelta(days=due_days),
            repayer=repayer,
            request_id=request_id,
            plan_line_id=s["plan_line_id"],
        )
