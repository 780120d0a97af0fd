"""Entitlement's events applied to allocation's own view of people and their eligibility.

Runs inside the consumer's transaction, together with the applied_events row, so each event is
applied at most once. A death or a withdrawal of consent ends the person's open budgets there
and then: their unspent money returns to the funders in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date
from typing import Any

import asyncpg
from google.protobuf.message import Message

from onebudget.allocation.adapters import repository as repo
from onebudget.allocation.domain.model import EndReason
from onebudget.allocation.service_layer import budgets
from onebudget.events.v1 import entitlement_pb2 as ent
from onebudget.events.v1 import envelope_pb2
from onebudget.shared import standing
from onebudget.shared.clock import england_date
from onebudget.shared.consumer import PoisonEvent

STREAM = "ENTITLEMENT"
DURABLE = "allocation-entitlement"
SUBJECTS = (
    "onebudget.entitlement.person.registered.v1",
    "onebudget.entitlement.person.details_updated.v1",
    "onebudget.entitlement.person.eligibility_decided.v1",
    "onebudget.entitlement.person.personal_health_budget_request_decided.v1",
    "onebudget.entitlement.person.reconsideration_decided.v1",
    "onebudget.entitlement.person.died.v1",
    "onebudget.entitlement.person.consent_withdrawn.v1",
)
_TYPES: dict[str, type[Message]] = {
    t.DESCRIPTOR.full_name: t
    for t in (
        ent.PersonRegistered,
        ent.PersonDetailsUpdated,
        ent.EligibilityDecided,
        ent.PersonalHealthBudgetRequestDecided,
        ent.ReconsiderationDecided,
        ent.PersonDied,
        ent.ConsentWithdrawn,
    )
}


def _category(value: int) -> str:
    return str(ent.EligibilityCategory.Name(value)).removeprefix("ELIGIBILITY_CATEGORY_")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise PoisonEvent(f"bad date {value!r}") from exc


def _person_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise PoisonEvent(f"bad person_id {value!r}") from exc


async def handle(conn: asyncpg.Connection, envelope: envelope_pb2.EventEnvelope) -> None:
    """The consumer's handler: decode the payload and apply it (other types are skipped)."""
    payload_type = _TYPES.get(envelope.type)
    if payload_type is None:
        return
    payload = payload_type()
    if not envelope.payload.Unpack(payload):
        raise PoisonEvent(f"payload is not a {envelope.type}")
    occurred_on = None
    if envelope.HasField("occurred_at"):
        occurred_on = england_date(envelope.occurred_at.ToDatetime(tzinfo=UTC))
    await apply(conn, payload, envelope.event_id, occurred_on, envelope.aggregate_version)


async def apply(
    conn: asyncpg.Connection,
    event: Any,
    event_id: str,
    occurred_on: date | None = None,
    recorded: int = 0,
) -> None:
    """`occurred_on` (England's date of the event) dates an end when the event gives no date:
    a redelivery or a replay gets the same day, which reading the clock now would not.
    `recorded` is the person's event version: entitlement's recording order of a decision."""
    person = _person_id(event.person_id)
    if isinstance(event, ent.PersonRegistered | ent.PersonDetailsUpdated):
        await repo.upsert_person(conn, person, event.commissioner_ods_code, event.council_gss_code)
    elif isinstance(event, ent.EligibilityDecided):
        await _eligibility_decided(conn, person, event, recorded)
    elif isinstance(event, ent.PersonalHealthBudgetRequestDecided | ent.ReconsiderationDecided):
        await _phb_decided(conn, person, event, recorded)
        if event.outcome == ent.DECISION_OUTCOME_GRANTED:
            # A granted PHB after a withdrawal of consent makes the person active again.
            await repo.upsert_person(conn, person, "", "", state="ACTIVE")
    elif isinstance(event, ent.PersonDied):
        await _stop(
            conn,
            person,
            event,
            "DECEASED",
            EndReason.PERSON_DIED,
            event.died_on or occurred_on,
            event_id,
        )
    elif isinstance(event, ent.ConsentWithdrawn):
        await _stop(
            conn,
            person,
            event,
            "CONSENT_WITHDRAWN",
            EndReason.CONSENT_WITHDRAWN,
            event.withdrawn_on or occurred_on,
            event_id,
        )


async def _eligibility_decided(
    conn: asyncpg.Connection, person: uuid.UUID, event: Any, recorded: int
) -> None:
    """The decision is stored only if it holds over the one in force (shared/standing.py:
    the latest by decided_on, ties by recording order), as entitlement decides."""
    await repo.upsert_person(
        conn, person, event.commissioner_ods_code, event.council_gss_code, child=event.child
    )
    category = _category(event.category)
    new = standing.Decision(
        event.outcome == ent.DECISION_OUTCOME_GRANTED, _day(event.decided_on) or date.min, recorded
    )
    held = await repo.get_eligibility(conn, person, category)
    if held is not None and not standing.holds_over(new, _held(held)):
        return
    await repo.set_eligibility(
        conn, person, category, new.granted, _day(event.decided_on), event.child, recorded
    )


async def _phb_decided(
    conn: asyncpg.Connection, person: uuid.UUID, event: Any, recorded: int
) -> None:
    """A decision on a PHB request (or its reconsideration) in force per category, by the same
    rule: a budget rests on a granted one (model.budget_cohort)."""
    await repo.upsert_person(
        conn, person, event.commissioner_ods_code, event.council_gss_code, child=event.child
    )
    category = _category(event.category)
    new = standing.Decision(
        event.outcome == ent.DECISION_OUTCOME_GRANTED, _day(event.decided_on) or date.min, recorded
    )
    held = await repo.get_phb(conn, person, category)
    if held is not None and not standing.holds_over(new, _held(held)):
        return
    await repo.set_phb(
        conn, person, category, new.granted, new.decided_on, event.right_to_have, recorded
    )


def _held(row: Any) -> standing.Decision:
    return standing.Decision(row["granted"], row["decided_on"] or date.min, row["recorded"])


async def _stop(
    conn: asyncpg.Connection,
    person: uuid.UUID,
    event: Any,
    state: str,
    reason: EndReason,
    on: str | date | None,
    event_id: str,
) -> None:
    await repo.upsert_person(
        conn, person, event.commissioner_ods_code, event.council_gss_code, state=state
    )
    ended_on = on if isinstance(on, date) else _day(on or "")
    if ended_on is None:
        raise PoisonEvent("no date to end the budgets on")
    for budget in await repo.open_budgets_of(conn, person):
        # The event id stands in for a request id: it ties BudgetEnded to its cause.
        await budgets.finish(conn, budget, reason, ended_on, event_id)
