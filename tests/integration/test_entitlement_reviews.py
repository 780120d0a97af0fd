"""Reviews due, learned from BudgetAgreed / DirectPaymentStarted events on the bus, and completed
over gRPC; a redelivered duplicate changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date

import grpc
import pytest
from google.protobuf.message import Message

from onebudget.entitlement.domain.dates import add_months
from onebudget.entitlement.entrypoints.consumers import (
    BUDGET_AGREED_DURABLE,
    BUDGET_ENDED_DURABLE,
    DIRECT_PAYMENT_STARTED_DURABLE,
    PAYMENT_RELEASED_DURABLE,
)
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.events.v1 import allocation_pb2, payment_pb2
from onebudget.events.v1 import entitlement_pb2 as ev
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.outbox import OutgoingEvent, new_event
from tests.conftest import StartService
from tests.integration.test_entitlement_support import Ent, entitlement, error_details, rid

WAIT_S = 10.0


@pytest.fixture
async def ent(start_service: StartService, nats_url: str) -> AsyncIterator[Ent]:
    async with entitlement(start_service, nats_url) as client:
        yield client


async def _publish(ent: Ent, event: OutgoingEvent, msg_id: str = "") -> None:
    await ent.nc.jetstream().publish(
        event.subject,
        event.envelope.SerializeToString(),
        headers={"Nats-Msg-Id": msg_id or event.event_id},
    )


def _budget_agreed(person_id: str, agreed_on: str, budget_id: str = "") -> OutgoingEvent:
    payload = allocation_pb2.BudgetAgreed(
        budget_id=budget_id or str(uuid.uuid4()),
        person_id=person_id,
        commissioner_ods_code="QNQ",
        council_gss_code="E10000014",
        nhs_pence=120_000,
        agreed_on=agreed_on,
    )
    return _event(payload, "allocation", "budget", payload.budget_id)


def _dp_started(person_id: str, start: str, *, nhs_funded: bool, budget: str = "") -> OutgoingEvent:
    payload = payment_pb2.DirectPaymentStarted(
        schedule_id=str(uuid.uuid4()),
        budget_id=budget or str(uuid.uuid4()),
        person_id=person_id,
        nhs_funded=nhs_funded,
        start_date=start,
    )
    return _event(payload, "payment", "schedule", payload.schedule_id)


def _event(payload: Message, source: str, aggregate: str, aggregate_id: str) -> OutgoingEvent:
    return new_event(payload, source=source, aggregate_type=aggregate, aggregate_id=aggregate_id)


async def _due(ent: Ent, commissioner: str = "QNQ", page_size: int = 0) -> list[api.ReviewDue]:
    found: list[api.ReviewDue] = []
    token = ""
    while True:
        page = await ent.stub.ListReviewsDue(
            api.ListReviewsDueRequest(
                commissioner_ods_code=commissioner,
                due_from="2024-01-01",
                due_to="2026-12-31",
                page_size=page_size,
                page_token=token,
            )
        )
        found += page.reviews
        token = page.next_page_token
        if not token:
            return found


async def _wait_due(ent: Ent, count: int, commissioner: str = "QNQ") -> list[api.ReviewDue]:
    async with asyncio.timeout(WAIT_S):
        # Polls the service over gRPC: there is no local event to wait on.
        while len(due := await _due(ent, commissioner)) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return due


async def _caught_up(ent: Ent) -> None:
    """Both durable consumers have nothing pending or unacknowledged."""
    js = ent.nc.jetstream()
    async with asyncio.timeout(WAIT_S):
        for stream, durable in (
            ("ALLOCATION", BUDGET_AGREED_DURABLE),
            ("PAYMENT", DIRECT_PAYMENT_STARTED_DURABLE),
            ("ALLOCATION", BUDGET_ENDED_DURABLE),
            ("PAYMENT", PAYMENT_RELEASED_DURABLE),
        ):
            while True:
                info = await js.consumer_info(stream, durable)
                if info.num_pending == 0 and info.num_ack_pending == 0:
                    break
                await asyncio.sleep(0.05)


async def test_events_make_reviews_due_by_the_rules(ent: Ent) -> None:
    person = await ent.register(commissioner_ods_code="00L")
    await _publish(ent, _dp_started(person.person_id, "2024-01-31", nhs_funded=True))
    await _publish(ent, _dp_started(person.person_id, "2024-02-10", nhs_funded=False))
    await _publish(ent, _budget_agreed(person.person_id, "2024-03-01"))
    due = await _wait_due(ent, 3, "00L")
    assert [(r.kind, r.started_on, r.window_opens_on, r.due_on) for r in due] == [
        (api.REVIEW_KIND_CARE_PLAN, "2024-03-01", "2024-04-12", "2024-04-26"),
        (api.REVIEW_KIND_DIRECT_PAYMENT, "2024-01-31", "2024-01-31", "2024-04-30"),
        (api.REVIEW_KIND_DIRECT_PAYMENT, "2024-02-10", "2024-02-10", "2024-08-10"),
    ]
    assert await _due(ent, "00L", page_size=1) == due
    assert all(r.person_id == person.person_id for r in due)


async def test_redelivered_duplicate_changes_nothing(ent: Ent) -> None:
    person = await ent.register(commissioner_ods_code="D4U1Y")
    event = _budget_agreed(person.person_id, "2024-03-01")
    await _publish(ent, event)
    [first] = await _wait_due(ent, 1, "D4U1Y")
    # The same event again under another message id (the stream's dedupe can't drop it), and a
    # later agreement of the same budget: the first start wins.
    await _publish(ent, event, msg_id=str(uuid.uuid4()))
    await _publish(ent, _budget_agreed(person.person_id, "2024-05-01", first.subject_id))
    await _caught_up(ent)
    assert await _due(ent, "D4U1Y") == [first]
    assert ent.host.runtime is not None
    applied = await ent.host.runtime.pool.fetchval(
        "SELECT count(*) FROM entitlement.applied_events WHERE event_id = $1",
        uuid.UUID(event.event_id),
    )
    assert applied == 1


async def test_review_completed_moves_the_next_review_and_is_published_once(ent: Ent) -> None:
    person = await ent.register(commissioner_ods_code="00L")
    await _publish(ent, _dp_started(person.person_id, "2024-01-31", nhs_funded=True))
    [due] = await _wait_due(ent, 1, "00L")
    request = api.RecordReviewCompletedRequest(
        request_id=rid(),
        kind=api.REVIEW_KIND_DIRECT_PAYMENT,
        subject_id=due.subject_id,
        completed_on="2024-04-15",
    )
    reviewed = await ent.stub.RecordReviewCompleted(request)
    assert (reviewed.last_completed_on, reviewed.due_on) == ("2024-04-15", "2025-04-15")
    before = await ent.counts()
    assert await ent.stub.RecordReviewCompleted(request) == reviewed  # a retry
    assert await ent.counts() == before
    [_, (subject, envelope)] = await ent.events(person.person_id, 2)
    assert subject == "onebudget.entitlement.person.review_completed.v1"
    payload = ev.ReviewCompleted()
    assert envelope.payload.Unpack(payload)
    assert (payload.subject_id, payload.next_due_on) == (due.subject_id, "2025-04-15")
    assert await _due(ent, "00L") == [reviewed]


async def test_bad_review_completions_store_nothing(ent: Ent) -> None:
    person = await ent.register(commissioner_ods_code="00L")
    await _publish(ent, _dp_started(person.person_id, "2024-01-31", nhs_funded=True))
    [due] = await _wait_due(ent, 1, "00L")
    cases = [
        ("2024-01-30", due.subject_id, grpc.StatusCode.FAILED_PRECONDITION, "REVIEW_BEFORE_START"),
        ("2024-02-01", "unknown", grpc.StatusCode.NOT_FOUND, "REVIEW_SUBJECT_NOT_FOUND"),
        ("2999-01-01", due.subject_id, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST"),
    ]
    for completed_on, subject_id, code, reason in cases:
        before = await ent.counts()
        request = api.RecordReviewCompletedRequest(
            request_id=rid(),
            kind=api.REVIEW_KIND_DIRECT_PAYMENT,
            subject_id=subject_id,
            completed_on=completed_on,
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await ent.stub.RecordReviewCompleted(request)
        assert (caught.value.code(), error_details(caught.value)[0]) == (code, reason)
        assert await ent.counts() == before


async def test_no_reviews_are_due_after_death(ent: Ent) -> None:
    person = await ent.register(commissioner_ods_code="00L")
    await _publish(ent, _budget_agreed(person.person_id, "2024-03-01"))
    await _wait_due(ent, 1, "00L")
    await ent.stub.RecordDeath(
        api.RecordDeathRequest(request_id=rid(), person_id=person.person_id, died_on="2024-04-01")
    )
    assert await _due(ent, "00L") == []


async def test_no_reviews_of_an_ended_budget_are_due(ent: Ent) -> None:
    """Issue 13, items 13-14: an ended budget's care-plan and direct-payment reviews stayed in
    ListReviewsDue (before the fix both were still listed). Another budget of the same person
    keeps its review; an end that arrives before its budget's agreement still counts."""
    person = await ent.register(commissioner_ods_code="00L")
    ended, kept, early = (str(uuid.uuid4()) for _ in range(3))
    await _publish(ent, _budget_agreed(person.person_id, "2024-03-01", ended))
    await _publish(ent, _dp_started(person.person_id, "2024-03-05", nhs_funded=True, budget=ended))
    await _publish(ent, _budget_agreed(person.person_id, "2024-03-02", kept))
    await _wait_due(ent, 3, "00L")
    await _publish(ent, _budget_ended(person.person_id, ended, "2024-06-01"))
    await _publish(ent, _budget_ended(person.person_id, early, "2024-06-01"))
    await _publish(ent, _budget_agreed(person.person_id, "2024-03-03", early))
    await _caught_up(ent)
    assert [(r.kind, r.subject_id) for r in await _due(ent, "00L")] == [
        (api.REVIEW_KIND_CARE_PLAN, kept)
    ]


def _budget_ended(person_id: str, budget_id: str, ended_on: str) -> OutgoingEvent:
    payload = allocation_pb2.BudgetEnded(
        budget_id=budget_id, person_id=person_id, reason="REQUESTED", ended_on=ended_on
    )
    return _event(payload, "allocation", "budget", budget_id)


def _released(person_id: str, budget_id: str, payee_kind: str, nhs_pence: int) -> OutgoingEvent:
    payload = payment_pb2.PaymentReleased(
        payment_id=str(uuid.uuid4()),
        context=payment_pb2.PaymentContext(budget_id=budget_id, person_id=person_id),
        payee_id=str(uuid.UUID(int=7)),
        payee_kind=payee_kind,
        amount_pence=10_000,
        streams=payment_pb2.PaymentStreamPence(
            nhs_pence=nhs_pence, council_pence=10_000 - nhs_pence
        ),
    )
    return _event(payload, "payment", "payment", payload.payment_id)


async def test_a_one_off_direct_payment_starts_the_direct_payment_review(ent: Ent) -> None:
    """Issue 13, item 14: before the fix only a schedule's first instalment started the
    direct-payment review, so a one-off release to the person's direct-payment account was
    never reviewed. Paid today: due within 3 months with NHS money, 6 council-only; a payment
    to a provider starts nothing; a second one-off of the same budget changes nothing."""
    person = await ent.register(commissioner_ods_code="00L")
    nhs_budget, council_budget, provider_budget = (str(uuid.uuid4()) for _ in range(3))
    dp = "DIRECT_PAYMENT_ACCOUNT"
    await _publish(ent, _released(person.person_id, nhs_budget, dp, 6_000))
    await _publish(ent, _released(person.person_id, nhs_budget, dp, 10_000))
    await _publish(ent, _released(person.person_id, council_budget, dp, 0))
    await _publish(ent, _released(person.person_id, provider_budget, "PROVIDER", 10_000))
    await _caught_up(ent)
    today = SYSTEM_CLOCK.today()
    due = {
        r.subject_id.split("|")[0]: r
        for r in await _due_between(ent, "00L", today, add_months(today, 7))
    }
    assert set(due) == {nhs_budget, council_budget}
    assert due[nhs_budget].kind == api.REVIEW_KIND_DIRECT_PAYMENT
    assert (due[nhs_budget].started_on, due[nhs_budget].due_on) == (
        today.isoformat(),
        add_months(today, 3).isoformat(),
    )
    assert due[council_budget].due_on == add_months(today, 6).isoformat()


async def _due_between(ent: Ent, commissioner: str, first: date, last: date) -> list[api.ReviewDue]:
    page = await ent.stub.ListReviewsDue(
        api.ListReviewsDueRequest(
            commissioner_ods_code=commissioner,
            due_from=first.isoformat(),
            due_to=last.isoformat(),
            page_size=100,
        )
    )
    return list(page.reviews)


async def test_list_reviews_due_needs_a_commissioner_and_a_range(ent: Ent) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await ent.stub.ListReviewsDue(
            api.ListReviewsDueRequest(due_from="2024-05-01", due_to="2024-04-01")
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {"commissioner_ods_code", "due_to"} <= set(error_details(caught.value)[1])
