"""ImportPeople: up to 1,000 existing PHB holders in one call (ADR 23, issue 17).

Each item is a person's RegisterPerson, RecordEligibilityDecision and RequestPersonalHealthBudget
in one, checked by the same functions those unary calls use (handlers.registration_fields,
eligibility_fields, phb_fields; model.check_age_rule, handlers.require_granted, decide_phb), with
the same permission rules and organisation scope (shared/permissions.py), the same events and one
audit record each. Decided in memory, written in ONE transaction per call with a few set-based
statements whatever the number of items: claim the request ids, read the commissioners'
policies, insert people, decisions and PHB requests, the outbox events, the answers, drop the
claims of refused items, the audit records. An item refused writes nothing and stops no other;
a retried item gets its first answer and writes nothing; another item under a used request_id is
refused ALREADY_EXISTS, REQUEST_ID_REUSED.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

from onebudget.entitlement.adapters import repository as repo
from onebudget.entitlement.domain import model
from onebudget.entitlement.domain.model import Category
from onebudget.entitlement.service_layer import mapping
from onebudget.entitlement.service_layer.handlers import (
    SCHEMA,
    EligibilityAsked,
    PhbAsked,
    before_birth,
    decide_phb,
    eligibility_event,
    eligibility_fields,
    phb_fields,
    registered_event,
    registration_fields,
    request_and_decision_events,
    require_granted,
)
from onebudget.entitlement.service_layer.outgoing import person_events
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.shared import audit, bulk
from onebudget.shared.clock import Clock
from onebudget.shared.errors import DomainError, Violations
from onebudget.shared.idempotency import (
    answer_many,
    drop_many,
)
from onebudget.shared.identity import Actor, current_actor
from onebudget.shared.outbox import OutgoingEvent, add_to_outbox
from onebudget.shared.permissions import check_permission, check_scope
from onebudget.shared.request_keys import IdempotencyKey

METHOD = "ImportPeople"
_SERVICE = "/onebudget.entitlement.v1.EntitlementService/"
# An item is these three calls: the caller must be allowed each (shared/permissions.py).
UNARY_METHODS = tuple(
    _SERVICE + m
    for m in ("RegisterPerson", "RecordEligibilityDecision", "RequestPersonalHealthBudget")
)
# The person row after the four events of an item: registered, decided, requested, decided.
IMPORTED_VERSION = 4


@dataclass(frozen=True)
class Checked:
    """An item that passed the checks needing no stored state."""

    index: int
    key: IdempotencyKey
    item: api.ImportPersonItem
    nhs_number: str
    born: date
    eligibility: EligibilityAsked
    phb: PhbAsked


@dataclass(frozen=True)
class Decided:
    """What the rules decided for a new person: their age on the eligibility decision date and
    the PHB decision."""

    age: int
    phb: model.PhbDecision


def decide_new_person(
    born: date, eligibility: EligibilityAsked, phb: PhbAsked, policy: frozenset[Category]
) -> Decided:
    """The state rules of RecordEligibilityDecision then RequestPersonalHealthBudget for a person
    registered just now (ACTIVE, no earlier decisions), in the unary calls' order, by their
    functions: the age rule on the decision date (model.check_age_rule: CHC 18 or over,
    children's continuing care under 18; England's dates), requested_on not before the birth
    (DATE_BEFORE_BIRTH), the eligibility holding granted in the PHB's category on requested_on
    (require_granted, NO_GRANTED_ELIGIBILITY), and the commissioner's decision under `policy`
    (model.decide_phb_request: RIGHT_TO_HAVE_APPLIES, DISCRETIONARY_DECISION_REQUIRED). Raises
    FailedPrecondition with those reasons. Source: NHS (Direct Payments) Regulations 2013;
    Standing Rules reg 32A/32B (shared/domain.md, "Who has a right to a PHB")."""
    age = model.check_age_rule(eligibility.category, born, eligibility.decided_on)
    if phb.requested_on < born:
        raise before_birth("requested_on")
    record = model.EligibilityRecord(
        eligibility.category, eligibility.outcome, eligibility.decided_on
    )
    require_granted([record], phb.category, phb.requested_on)
    return Decided(age, decide_phb(phb, policy))


def item_error(error: DomainError) -> api.ItemError:
    """A refusal as the item's result carries it (shared/bulk.error_fields)."""
    fields = bulk.error_fields(error)
    violations = fields.pop("field_violations")
    return api.ItemError(
        **fields,
        field_violations=[api.ItemFieldViolation(field=f, description=d) for f, d in violations],
    )


_Outcome = bulk.Outcome


class PeopleImport:
    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        """Dates are England's; "the future" is judged by `clock.today()`."""
        self._pool = pool
        self._today = clock.today

    async def import_people(self, request: api.ImportPeopleRequest) -> api.ImportPeopleResponse:
        """Import each item (module docstring). Raises InvalidArgument INVALID_REQUEST for the
        call itself (its request_id, no items or more than ITEMS_MAX); every other refusal is
        the item's result."""
        bulk.check_call(request.request_id, request.items)
        actor = current_actor()
        today = self._today()
        outcomes: list[_Outcome | None] = [None] * len(request.items)
        checked: dict[int, Checked] = {}
        for i, item in enumerate(request.items):
            try:
                checked[i] = _check(i, item, actor, today)
            except DomainError as refused:
                outcomes[i] = refused
        async with self._pool.acquire() as conn, conn.transaction():
            keys = {i: c.key for i, c in checked.items()}
            claims = await bulk.claim(conn, SCHEMA, keys, actor, api.ImportedPerson)
            if claims.fresh:
                await _Batch(conn, outcomes).run([checked[i] for i in claims.fresh])
            claims.finish(outcomes)
            resources = [
                f"people/{o.person.person_id}"
                if isinstance(o, api.ImportedPerson)
                else audit.resource_name(item.person)
                for item, o in zip(request.items, outcomes, strict=True)
            ]
            await bulk.audit_items(
                conn, SCHEMA, actor, METHOD, request.items, outcomes, resources, claims.replayed
            )
        results = []
        for outcome in outcomes:
            if isinstance(outcome, api.ImportedPerson):
                results.append(api.ImportPersonResult(imported=outcome))
            else:
                assert isinstance(outcome, DomainError)
                results.append(api.ImportPersonResult(error=item_error(outcome)))
        return api.ImportPeopleResponse(results=results)


def _check(i: int, item: api.ImportPersonItem, actor: Actor, today: date) -> Checked:
    """The checks needing no stored state, as the unary calls make them before their
    transaction: fields, permission of each unary call, organisation scope."""
    prefix = f"items[{i}]."
    v = Violations()
    bulk.check_item_id(item.request_id, prefix + "request_id", v)
    for part in ("person", "eligibility", "phb"):
        v.check(
            not getattr(item, part).request_id,
            f"{prefix}{part}.request_id",
            "must be empty: the item's request_id names the whole item",
        )
    for part in ("eligibility", "phb"):
        v.check(
            not getattr(item, part).person_id,
            f"{prefix}{part}.person_id",
            "must be empty: the person is the one this item registers",
        )
    nhs_number, born = registration_fields(item.person, v, today, prefix + "person.")
    eligibility = eligibility_fields(item.eligibility, v, today, prefix + "eligibility.")
    phb = phb_fields(item.phb, v, today, prefix + "phb.")
    v.raise_if_any()
    assert eligibility is not None
    assert phb is not None
    for method in UNARY_METHODS:
        check_permission(actor, method)
    check_scope(actor, [item.person.commissioner_ods_code, item.person.council_gss_code])
    key = IdempotencyKey.of(METHOD, item)
    return Checked(i, key, item, nhs_number, born, eligibility, phb)


class _Batch:
    """The fresh items of one call, decided and written in its transaction."""

    def __init__(self, conn: asyncpg.Connection, outcomes: list[_Outcome | None]) -> None:
        self.conn = conn
        self.outcomes = outcomes

    async def run(self, fresh: list[Checked]) -> None:
        extended = await repo.extended_categories_of(
            self.conn, sorted({c.item.person.commissioner_ods_code for c in fresh})
        )
        decided: dict[int, Decided] = {}
        seen_nhs: set[str] = set()
        for c in fresh:
            ods = c.item.person.commissioner_ods_code
            policy = model.right_to_have_categories(Category(x) for x in extended.get(ods, []))
            try:
                if c.nhs_number in seen_nhs:  # the first of the call takes the NHS number
                    raise repo.already_registered()
                decided[c.index] = decide_new_person(c.born, c.eligibility, c.phb, policy)
                seen_nhs.add(c.nhs_number)
            except DomainError as refused:
                self.outcomes[c.index] = refused
        going = [c for c in fresh if c.index in decided]
        person_ids = {c.index: uuid.uuid4() for c in going}
        people = await repo.insert_new_people(
            self.conn,
            [
                {
                    "person_id": person_ids[c.index],
                    "nhs_number": c.nhs_number,
                    "given_name": c.item.person.given_name.strip(),
                    "family_name": c.item.person.family_name.strip(),
                    "date_of_birth": c.born,
                    "commissioner_ods_code": c.item.person.commissioner_ods_code,
                    "council_gss_code": c.item.person.council_gss_code,
                    "version": IMPORTED_VERSION,
                }
                for c in going
            ],
        )
        inserted = {row["person_id"]: row for row in people}
        for c in going:
            if person_ids[c.index] not in inserted:  # registered before, or meanwhile
                self.outcomes[c.index] = repo.already_registered()
        going = [c for c in going if person_ids[c.index] in inserted]
        decisions = await repo.insert_decisions(
            self.conn,
            [
                {
                    "decision_id": uuid.uuid4(),
                    "person_id": person_ids[c.index],
                    "category": c.eligibility.category.value,
                    "outcome": c.eligibility.outcome.value,
                    "reasons": c.eligibility.reasons,
                    "decided_on": c.eligibility.decided_on,
                    "deciding_body": c.eligibility.deciding_body,
                    "age_on_decision": decided[c.index].age,
                }
                for c in going
            ],
        )
        phbs = await repo.insert_phb_requests(
            self.conn,
            [
                {
                    "phb_request_id": uuid.uuid4(),
                    "person_id": person_ids[c.index],
                    "category": c.phb.category.value,
                    "requested_on": c.phb.requested_on,
                    "right_to_have": decided[c.index].phb.right_to_have,
                    "state": decided[c.index].phb.outcome.value,
                    "reasons": decided[c.index].phb.reasons,
                    "decided_on": c.phb.requested_on,
                }
                for c in going
            ],
        )
        decision_of = {row["person_id"]: row for row in decisions}
        phb_of = {row["person_id"]: row for row in phbs}
        events: list[OutgoingEvent] = []
        answers: list[bytes] = []
        for c in going:
            pid = person_ids[c.index]
            person, decision, phb = inserted[pid], decision_of[pid], phb_of[pid]
            events += person_events(
                person,
                c.key.request_id,
                registered_event(person),
                eligibility_event(person, decision),
                *request_and_decision_events(person, phb),
            )
            imported = api.ImportedPerson(
                person=mapping.person_to_api(person),
                eligibility=mapping.decision_to_api(decision),
                phb=mapping.phb_request_to_api(phb),
            )
            self.outcomes[c.index] = imported
            answers.append(imported.SerializeToString())
        await add_to_outbox(self.conn, SCHEMA, events)
        await answer_many(self.conn, SCHEMA, [c.key.request_id for c in going], answers)
        answered = {c.index for c in going}
        await drop_many(
            self.conn, SCHEMA, [c.key.request_id for c in fresh if c.index not in answered]
        )
