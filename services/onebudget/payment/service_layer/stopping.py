"""Stopping and resuming a budget's payments (reg 17), and what entitlement's decisions change.

The rules are pure (payment/domain/stops.py); this module loads, asks them, writes and outboxes.
StopPayments and ResumePayments run once per request_id in one transaction with their event.
Entitlement's events are applied in the consumer's transaction (with its applied_events row):
an eligibility decision is kept only if it holds over the one in force (shared/standing.py), and
a granted PHB lifts a withdrawal of consent recorded before it (the person is ACTIVE again).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, TypeAlias

import asyncpg

from onebudget.events.v1 import payment_pb2 as ev
from onebudget.payment.adapters import repository as repo
from onebudget.payment.domain import errors, stops
from onebudget.payment.service_layer.outgoing import SCHEMA, event
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared import standing
from onebudget.shared.clock import Clock
from onebudget.shared.errors import NotFound, Violations
from onebudget.shared.idempotency import check_request_id, run_idempotent
from onebudget.shared.outbox import add_to_outbox
from onebudget.shared.validation import parse_date, parse_uuid

REASONS_COUNT_MAX = 20
REASON_LENGTH_MAX = 1000
Conn: TypeAlias = asyncpg.Connection


def _reasons(reasons: Any, v: Violations) -> list[str]:
    cleaned = [r.strip() for r in reasons]
    v.check(1 <= len(cleaned) <= REASONS_COUNT_MAX, "reasons", f"1 to {REASONS_COUNT_MAX} reasons")
    v.check(
        all(0 < len(r) <= REASON_LENGTH_MAX for r in cleaned),
        "reasons",
        f"each 1 to {REASON_LENGTH_MAX} characters",
    )
    return cleaned


def _day(value: str, field: str, v: Violations, today: date) -> date:
    day = parse_date(value, field, v) or today
    v.check(day <= today, field, "must not be in the future")
    return day


def _open_stop(row: Any) -> stops.OpenStop | None:
    if row["open_grounds"] is None:
        return None
    return stops.OpenStop(stops.StopGrounds(row["open_grounds"]), row["open_stopped_on"])


async def _budget(conn: Conn, budget_id: uuid.UUID) -> Any:
    row = await repo.budget_for_stop(conn, budget_id)
    if row is None:
        raise NotFound(
            reason=errors.BUDGET_NOT_FOUND,
            message="no such budget",
            metadata={"budget_id": str(budget_id)},
        )
    return row


def stop_message(row: Any) -> api.PaymentStop:
    return api.PaymentStop(
        stop_id=str(row["stop_id"]),
        budget_id=str(row["budget_id"]),
        grounds=f"STOP_GROUNDS_{row['grounds']}",
        reasons=list(row["reasons"]),
        stopped_on=row["stopped_on"].isoformat(),
        resumed_on=row["resumed_on"].isoformat() if row["resumed_on"] else "",
        resume_reasons=list(row["resume_reasons"]),
    )


async def _outbox(conn: Conn, payload: Any, row: Any, request_id: str, clock: Clock) -> None:
    await add_to_outbox(
        conn,
        SCHEMA,
        [
            event(
                payload,
                "budget",
                row["budget_id"],
                row["version"],
                request_id,
                occurred_at=clock.now(),
            )
        ],
    )


async def stop_payments(
    pool: asyncpg.Pool, request: api.StopPaymentsRequest, clock: Clock
) -> api.PaymentStop:
    """StopPayments: grounds, reasons and a date (England's, default today, not in the
    future); stops.check_stop decides whether the budget can be stopped."""
    v = Violations()
    check_request_id(request.request_id, v)
    budget_id = parse_uuid(request.budget_id, "budget_id", v)
    v.check(request.grounds != api.STOP_GROUNDS_UNSPECIFIED, "grounds", "required")
    reasons = _reasons(request.reasons, v)
    stopped_on = _day(request.stopped_on, "stopped_on", v, clock.today())
    v.raise_if_any()
    assert budget_id is not None
    grounds = stops.StopGrounds(api.StopGrounds.Name(request.grounds).removeprefix("STOP_GROUNDS_"))

    async def effect(conn: Conn) -> api.PaymentStop:
        budget = await _budget(conn, budget_id)
        stops.check_stop(_open_stop(budget), budget["state"])
        row = await repo.insert_stop(
            conn,
            stop_id=uuid.uuid4(),
            budget_id=budget_id,
            grounds=grounds.value,
            reasons=reasons,
            stopped_on=stopped_on,
        )
        payload = ev.PaymentsStopped(
            stop_id=str(row["stop_id"]),
            budget_id=str(budget_id),
            person_id=str(budget["person_id"] or ""),
            grounds=grounds.value,
            reasons=reasons,
            stopped_on=stopped_on.isoformat(),
        )
        await _outbox(conn, payload, row, request.request_id, clock)
        return stop_message(row)

    result: api.PaymentStop = await run_idempotent(
        pool, SCHEMA, "StopPayments", request, api.PaymentStop, effect
    )
    return result


async def resume_payments(
    pool: asyncpg.Pool, request: api.ResumePaymentsRequest, clock: Clock
) -> api.PaymentStop:
    """ResumePayments: reasons and a date (default today, not in the future);
    stops.check_resume decides whether the law allows it."""
    v = Violations()
    check_request_id(request.request_id, v)
    budget_id = parse_uuid(request.budget_id, "budget_id", v)
    reasons = _reasons(request.reasons, v)
    resumed_on = _day(request.resumed_on, "resumed_on", v, clock.today())
    v.raise_if_any()
    assert budget_id is not None

    async def effect(conn: Conn) -> api.PaymentStop:
        budget = await _budget(conn, budget_id)
        stops.check_resume(_open_stop(budget), resumed_on, budget["eligibility_granted"])
        row = await repo.resume_stop(conn, budget["stop_id"], resumed_on, reasons)
        payload = ev.PaymentsResumed(
            stop_id=str(row["stop_id"]),
            budget_id=str(budget_id),
            person_id=str(budget["person_id"] or ""),
            grounds=row["grounds"],
            reasons=reasons,
            resumed_on=resumed_on.isoformat(),
        )
        await _outbox(conn, payload, row, request.request_id, clock)
        return stop_message(row)

    result: api.PaymentStop = await run_idempotent(
        pool, SCHEMA, "ResumePayments", request, api.PaymentStop, effect
    )
    return result


# -- entitlement's decisions ----------------------------------------------------------------------


async def eligibility_decided(
    conn: Conn, person_id: uuid.UUID, category: str, granted: bool, on: date, recorded: int
) -> None:
    """Keep the decision in force per category (shared/standing.py): a refusal in force stops
    the budgets that rest on that cohort, a later grant lets them pay again."""
    new = standing.Decision(granted, on, recorded)
    held = await repo.get_eligibility(conn, person_id, category)
    if held is not None and not standing.holds_over(
        new, standing.Decision(held["granted"], held["decided_on"], held["recorded"])
    ):
        return
    await repo.set_eligibility(conn, person_id, category, granted, on, recorded)


async def phb_granted(conn: Conn, person_id: uuid.UUID, recorded: int) -> None:
    """A granted PHB request is the person's consent again: a withdrawal recorded before it no
    longer stops payments (a death always does)."""
    row = await repo.person_stop(conn, person_id)
    if row is not None and stops.lifts_person_stop(row["why"], row["recorded"], recorded):
        await repo.lift_person_stop(conn, person_id)
