"""Reviews: learned from other services' events (a direct payment started, a budget agreed),
completed by RecordReviewCompleted, listed by due date."""

from __future__ import annotations

import uuid
from datetime import UTC, date
from typing import TypeVar

import asyncpg
from google.protobuf.message import Message

from onebudget.entitlement.adapters import repository as repo
from onebudget.entitlement.domain import errors
from onebudget.entitlement.domain.dates import format_date, parse_iso_date
from onebudget.entitlement.domain.reviews import (
    ReviewKind,
    first_review,
    is_direct_payment,
    next_review,
)
from onebudget.entitlement.service_layer import mapping
from onebudget.entitlement.service_layer.handlers import SCHEMA, check_person_scope
from onebudget.entitlement.service_layer.outgoing import publish
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.events.v1 import allocation_pb2, envelope_pb2, payment_pb2
from onebudget.events.v1 import entitlement_pb2 as ev
from onebudget.shared import paging
from onebudget.shared.clock import Clock, england_date
from onebudget.shared.consumer import PoisonEvent
from onebudget.shared.errors import FailedPrecondition, NotFound, Violations
from onebudget.shared.idempotency import check_request_id, run_idempotent
from onebudget.shared.identifiers import is_valid_ods_code
from onebudget.shared.identity import current_actor
from onebudget.shared.permissions import check_scope

SUBJECT_ID_LENGTH_MAX = 100
EventT = TypeVar("EventT", bound=Message)


class ReviewHandlers:
    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        """`clock.today()` (England's date) judges "the future" in requests."""
        self._pool = pool
        self._today = clock.today

    async def list_reviews_due(
        self, request: api.ListReviewsDueRequest
    ) -> api.ListReviewsDueResponse:
        v = Violations()
        size = paging.page_size(request.page_size, v)
        v.check(
            is_valid_ods_code(request.commissioner_ods_code),
            "commissioner_ods_code",
            "required: an ODS code (3 or 5 upper-case letters or digits)",
        )
        due_from = mapping.parse_date(request.due_from, "due_from", v)
        due_to = mapping.parse_date(request.due_to, "due_to", v)
        v.check(due_from <= due_to, "due_to", "must not be before due_from")
        query = f"reviews|{request.commissioner_ods_code}|{request.due_from}|{request.due_to}"
        key = paging.decode_token(request.page_token, query, v)
        after = _review_key(key, v)
        v.raise_if_any()
        check_scope(current_actor(), [request.commissioner_ods_code])
        rows = await repo.list_reviews_due(
            self._pool,
            commissioner=request.commissioner_ods_code,
            due_from=due_from,
            due_to=due_to,
            after=after,
            limit=size + 1,
        )
        page = rows[:size]
        token = ""
        if len(rows) > size:
            last = page[-1]
            token = paging.encode_token(
                [last["due_on"].isoformat(), last["kind"], last["subject_id"]], query
            )
        return api.ListReviewsDueResponse(
            reviews=[mapping.review_to_api(r) for r in page], next_page_token=token
        )

    async def record_review_completed(
        self, request: api.RecordReviewCompletedRequest
    ) -> api.ReviewDue:
        v = Violations()
        check_request_id(request.request_id, v)
        kind = mapping.kind_from_api(request.kind)
        v.check(kind is not None, "kind", "required: DIRECT_PAYMENT or CARE_PLAN")
        v.check(
            0 < len(request.subject_id) <= SUBJECT_ID_LENGTH_MAX,
            "subject_id",
            f"required, at most {SUBJECT_ID_LENGTH_MAX} characters",
        )
        on = mapping.parse_date(request.completed_on, "completed_on", v, today=self._today())
        v.raise_if_any()
        assert kind is not None

        async def effect(conn: asyncpg.Connection) -> api.ReviewDue:
            subject = await repo.get_review_subject(
                conn, kind.value, request.subject_id, for_update=True
            )
            if subject is None:
                raise NotFound(
                    reason=errors.REVIEW_SUBJECT_NOT_FOUND,
                    message=f"no {kind} {request.subject_id!r} is known to need reviews",
                )
            reviewed = await repo.get_person(conn, subject["person_id"])
            if reviewed is not None:
                check_person_scope(reviewed)
            if on < subject["started_on"]:
                raise FailedPrecondition(
                    reason=errors.REVIEW_BEFORE_START,
                    message="completed_on is before the start being reviewed",
                )
            review_id = uuid.uuid4()
            await repo.insert_completed_review(conn, review_id, kind.value, request.subject_id, on)
            await _reschedule(conn, kind, subject)
            person = await repo.get_person(conn, subject["person_id"], for_update=True)
            if person is None:
                raise NotFound(reason=errors.PERSON_NOT_FOUND, message="no such person")
            updated = await repo.bump_person(conn, subject["person_id"])
            row = await repo.get_review_subject(conn, kind.value, request.subject_id)
            assert row is not None
            await publish(
                conn,
                updated,
                request.request_id,
                ev.ReviewCompleted(
                    person_id=str(subject["person_id"]),
                    review_id=str(review_id),
                    kind="REVIEW_KIND_" + kind.value,
                    subject_id=request.subject_id,
                    completed_on=format_date(on),
                    next_due_on=format_date(row["due_on"]),
                    commissioner_ods_code=updated["commissioner_ods_code"],
                    council_gss_code=updated["council_gss_code"],
                ),
            )
            return mapping.review_to_api(row)

        return await run_idempotent(
            self._pool, SCHEMA, "RecordReviewCompleted", request, api.ReviewDue, effect
        )


async def _reschedule(conn: asyncpg.Connection, kind: ReviewKind, subject: asyncpg.Record) -> None:
    completed = await repo.completed_review_dates(conn, kind.value, subject["subject_id"])
    schedule = next_review(
        kind, subject["started_on"], nhs_funded=subject["nhs_funded"], completed=completed
    )
    await repo.set_review_schedule(
        conn,
        kind.value,
        subject["subject_id"],
        last_completed_on=schedule.last_completed_on,
        window_opens_on=schedule.window_opens_on,
        due_on=schedule.due_on,
    )


def _review_key(key: list[str] | None, v: Violations) -> tuple[date, str, str] | None:
    if not key:
        return None
    due = parse_iso_date(key[0]) if len(key) == 3 else None
    if due is None:
        v.add("page_token", "not a page token from this list")
        return None
    return due, key[1], key[2]


# Consumers -----------------------------------------------------------------------------------


async def on_budget_agreed(conn: asyncpg.Connection, envelope: envelope_pb2.EventEnvelope) -> None:
    """A care plan agreed: its light review is due 8 weeks later."""
    event = _unpack(envelope, allocation_pb2.BudgetAgreed)
    await _start_reviews(
        conn,
        ReviewKind.CARE_PLAN,
        subject_id=event.budget_id,
        person_id=event.person_id,
        budget_id=event.budget_id,
        nhs_funded=event.nhs_pence > 0,
        started=event.agreed_on,
    )


async def on_direct_payment_started(
    conn: asyncpg.Connection, envelope: envelope_pb2.EventEnvelope
) -> None:
    """A direct payment started: reviewed within 3 months (NHS money) or 6 (council only)."""
    event = _unpack(envelope, payment_pb2.DirectPaymentStarted)
    await _start_reviews(
        conn,
        ReviewKind.DIRECT_PAYMENT,
        subject_id=event.schedule_id,
        person_id=event.person_id,
        budget_id=event.budget_id,
        nhs_funded=event.nhs_funded,
        started=event.start_date,
    )


async def on_payment_released(
    conn: asyncpg.Connection, envelope: envelope_pb2.EventEnvelope
) -> None:
    """A one-off release to the person's direct-payment account is a direct payment: reviewed
    within 3 months (NHS money) or 6 (council only) of the day it was paid, once per budget (a
    budget whose direct payments are already reviewed keeps that schedule)."""
    event = _unpack(envelope, payment_pb2.PaymentReleased)
    if not is_direct_payment(event.payee_kind):
        return
    if not envelope.HasField("occurred_at"):
        raise PoisonEvent("the envelope has no occurred_at")
    paid_on = england_date(envelope.occurred_at.ToDatetime(tzinfo=UTC))
    await _start_reviews(
        conn,
        ReviewKind.DIRECT_PAYMENT,
        subject_id=f"{event.context.budget_id}|{event.payee_id}",
        person_id=event.context.person_id,
        budget_id=event.context.budget_id,
        nhs_funded=event.streams.nhs_pence > 0,
        started=paid_on.isoformat(),
        once_per_budget=True,
    )


async def on_budget_ended(conn: asyncpg.Connection, envelope: envelope_pb2.EventEnvelope) -> None:
    """A budget ended: neither its care plan nor its direct payments are reviewed any more."""
    event = _unpack(envelope, allocation_pb2.BudgetEnded)
    ended_on = parse_iso_date(event.ended_on)
    if ended_on is None:
        raise PoisonEvent(f"ended_on {event.ended_on!r} is not an ISO date")
    if not 0 < len(event.budget_id) <= SUBJECT_ID_LENGTH_MAX:
        raise PoisonEvent("the event has no usable budget id")
    await repo.end_budget_reviews(conn, event.budget_id, ended_on)


def _unpack(envelope: envelope_pb2.EventEnvelope, message_type: type[EventT]) -> EventT:
    event = message_type()
    if not envelope.payload.Unpack(event):
        raise PoisonEvent(f"expected {message_type.DESCRIPTOR.full_name}, got {envelope.type}")
    return event


async def _start_reviews(
    conn: asyncpg.Connection,
    kind: ReviewKind,
    *,
    subject_id: str,
    person_id: str,
    budget_id: str,
    nhs_funded: bool,
    started: str,
    once_per_budget: bool = False,
) -> None:
    started_on = parse_iso_date(started)
    if started_on is None:
        raise PoisonEvent(f"start date {started!r} is not an ISO date")
    if not 0 < len(subject_id) <= SUBJECT_ID_LENGTH_MAX:
        raise PoisonEvent("the event has no usable subject id")
    try:
        person_uuid = uuid.UUID(person_id)
    except ValueError:
        raise PoisonEvent("person_id is not a UUID") from None
    opens, due = first_review(kind, started_on, nhs_funded=nhs_funded)
    # The first start wins: a re-agreed budget keeps its review schedule (ADR 0003).
    await repo.insert_review_subject(
        conn,
        kind=kind.value,
        subject_id=subject_id,
        person_id=person_uuid,
        budget_id=budget_id,
        nhs_funded=nhs_funded,
        started_on=started_on,
        window_opens_on=opens,
        due_on=due,
        once_per_budget=once_per_budget,
    )
