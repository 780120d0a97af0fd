"""Use cases of people, eligibility and PHB requests: validate, then run the effect once per
request_id in one transaction with its outbox events (nothing stored, nothing published on error).

Validation that needs no stored state gives INVALID_ARGUMENT with every field violation at once;
rules that depend on stored state (ages, rights, states) give FAILED_PRECONDITION with a reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeAlias, TypeVar

import asyncpg
from google.protobuf.message import Message

from onebudget.entitlement.adapters import repository as repo
from onebudget.entitlement.domain import errors, model
from onebudget.entitlement.domain.dates import age_on, format_date
from onebudget.entitlement.domain.model import Category, Outcome, PersonState, RequestState
from onebudget.entitlement.service_layer import mapping
from onebudget.entitlement.service_layer.outgoing import publish
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.events.v1 import entitlement_pb2 as ev
from onebudget.shared import identifiers, paging, sealing
from onebudget.shared.clock import Clock
from onebudget.shared.errors import FailedPrecondition, NotFound, Violations
from onebudget.shared.idempotency import check_request_id, run_idempotent
from onebudget.shared.identity import Role, current_actor
from onebudget.shared.permissions import check_scope
from onebudget.shared.validation import require_uuid

SCHEMA = "entitlement"
NAME_LENGTH_MAX = 200
TEXT_LENGTH_MAX = 1000
REASONS_COUNT_MAX = 20
CORRECTABLE_FIELDS = (
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "commissioner_ods_code",
    "council_gss_code",
)
ResponseT = TypeVar("ResponseT", bound=Message)
Conn: TypeAlias = asyncpg.Connection


def _check_text(value: str, field: str, violations: Violations, limit: int) -> None:
    if not value.strip():
        violations.add(field, "required")
    elif len(value) > limit:
        violations.add(field, f"at most {limit} characters")


def _check_reasons(reasons: tuple[str, ...], field: str, violations: Violations) -> None:
    violations.check(len(reasons) <= REASONS_COUNT_MAX, field, f"at most {REASONS_COUNT_MAX}")
    violations.check(
        all(len(r) <= TEXT_LENGTH_MAX for r in reasons),
        field,
        f"each at most {TEXT_LENGTH_MAX} characters",
    )


def _check_ods(value: str, field: str, violations: Violations) -> None:
    violations.check(
        identifiers.is_valid_ods_code(value),
        field,
        "an ODS code: 3 or 5 upper-case letters or digits (e.g. QNQ, 00L, D4U1Y)",
    )


def _check_gss(value: str, field: str, violations: Violations) -> None:
    violations.check(
        identifiers.is_valid_gss_council_code(value),
        field,
        "a council GSS code with social-care duties: E06, E08, E09 or E10 and 6 digits",
    )


def _check_nhs_number(value: str, field: str, violations: Violations) -> str:
    normalised = identifiers.normalise_nhs_number(value)
    violations.check(
        identifiers.is_valid_nhs_number(normalised),
        field,
        "10 digits with a valid modulus-11 check digit",
    )
    return normalised


UNSCOPED = (Role.SYSTEM, Role.AUDITOR)  # see every organisation (permissions.check_scope)


def _person_not_found(person_id: uuid.UUID) -> NotFound:
    return NotFound(
        reason=errors.PERSON_NOT_FOUND,
        message="no such person",
        metadata={"person_id": str(person_id)},
    )


def _deceased() -> FailedPrecondition:
    return FailedPrecondition(
        reason=errors.PERSON_DECEASED, message="the person's death is recorded"
    )


def before_birth(what: str) -> FailedPrecondition:
    """FAILED_PRECONDITION DATE_BEFORE_BIRTH: `what` (a date of the request) is before the
    person's date of birth."""
    return FailedPrecondition(
        reason=errors.DATE_BEFORE_BIRTH, message=f"{what} is before the date of birth"
    )


def check_person_scope(person: Any) -> None:
    """The acting caller works for the person's commissioner or council as entitlement records
    them (or is the person); raises PermissionDenied PERMISSION_DENIED_ORGANISATION (or
    _PERSON, _ANONYMOUS) by shared/permissions.check_scope (issue 14)."""
    check_scope(
        current_actor(),
        [person["commissioner_ods_code"], person["council_gss_code"] or ""],
        str(person["person_id"]),
    )


async def _living_person(conn: Conn, person_id: uuid.UUID) -> Any:
    """The person's row, locked for this transaction (their changes and versions serialise),
    if the caller may act on them (check_person_scope)."""
    person = await repo.get_person(conn, person_id, for_update=True)
    if person is None:
        raise _person_not_found(person_id)
    check_person_scope(person)
    if person["state"] == PersonState.DECEASED:
        raise _deceased()
    return person


def _sealed_birth(person_id: str, born: date) -> bytes:
    """The date of birth sealed for reporting (shared/sealing.py), or nothing when no
    personal-data key is configured (reporting then judges a child by the decision's flag)."""
    key = sealing.configured_key()
    return sealing.seal(key, format_date(born), person_id) if key is not None else b""


def registration_fields(
    request: api.RegisterPersonRequest, v: Violations, today: date, prefix: str = ""
) -> tuple[str, date]:
    """RegisterPerson's field checks (all but request_id), violations added to `v` with field
    names after `prefix`: the NHS number (normalised, modulus-11), the names, the date of birth
    (England's date, not after `today`), the ODS and GSS codes."""
    nhs_number = _check_nhs_number(request.nhs_number, prefix + "nhs_number", v)
    _check_text(request.given_name, prefix + "given_name", v, NAME_LENGTH_MAX)
    _check_text(request.family_name, prefix + "family_name", v, NAME_LENGTH_MAX)
    born = mapping.parse_date(request.date_of_birth, prefix + "date_of_birth", v, today=today)
    _check_ods(request.commissioner_ods_code, prefix + "commissioner_ods_code", v)
    _check_gss(request.council_gss_code, prefix + "council_gss_code", v)
    return nhs_number, born


@dataclass(frozen=True)
class EligibilityAsked:
    """A RecordEligibilityDecision request's checked fields (decided_on: England's date)."""

    category: Category
    outcome: Outcome
    reasons: tuple[str, ...]
    decided_on: date
    deciding_body: str


def eligibility_fields(
    request: api.RecordEligibilityDecisionRequest, v: Violations, today: date, prefix: str = ""
) -> EligibilityAsked | None:
    """RecordEligibilityDecision's field checks (all but request_id and person_id); None when
    `v` got a violation."""
    category = mapping.category_from_api(request.category)
    v.check(
        category is not None, prefix + "category", "required: one of the eligibility categories"
    )
    outcome = mapping.outcome_from_api(request.outcome)
    v.check(outcome is not None, prefix + "outcome", "required: GRANTED or REFUSED")
    reasons = model.clean_reasons(request.reasons)
    _check_reasons(reasons, prefix + "reasons", v)
    v.check(
        outcome is not Outcome.REFUSED or bool(reasons),
        prefix + "reasons",
        "a refusal must give its reasons",
    )
    decided_on = mapping.parse_date(request.decided_on, prefix + "decided_on", v, today=today)
    _check_text(request.deciding_body, prefix + "deciding_body", v, NAME_LENGTH_MAX)
    if category is None or outcome is None:
        return None
    return EligibilityAsked(category, outcome, reasons, decided_on, request.deciding_body.strip())


@dataclass(frozen=True)
class PhbAsked:
    """A RequestPersonalHealthBudget request's checked fields (requested_on: England's date)."""

    category: Category
    requested_on: date
    not_appropriate: tuple[str, ...]
    discretionary: Outcome | None
    discretionary_reasons: tuple[str, ...]


def phb_fields(
    request: api.RequestPersonalHealthBudgetRequest, v: Violations, today: date, prefix: str = ""
) -> PhbAsked | None:
    """RequestPersonalHealthBudget's field checks (all but request_id and person_id); None when
    the category is missing."""
    category = mapping.category_from_api(request.category)
    v.check(
        category is not None, prefix + "category", "required: one of the eligibility categories"
    )
    on = mapping.parse_date(request.requested_on, prefix + "requested_on", v, today=today)
    not_appropriate = model.clean_reasons(request.not_appropriate_reasons)
    _check_reasons(not_appropriate, prefix + "not_appropriate_reasons", v)
    discretionary = mapping.outcome_from_api(request.discretionary_outcome)
    v.check(
        discretionary is not None or request.discretionary_outcome == 0,
        prefix + "discretionary_outcome",
        "GRANTED, REFUSED or unset",
    )
    discretionary_reasons = model.clean_reasons(request.discretionary_reasons)
    _check_reasons(discretionary_reasons, prefix + "discretionary_reasons", v)
    if category is None:
        return None
    return PhbAsked(category, on, not_appropriate, discretionary, discretionary_reasons)


def decide_phb(asked: PhbAsked, policy: frozenset[Category]) -> model.PhbDecision:
    """The commissioner's decision on the request under `policy` (model.decide_phb_request)."""
    return model.decide_phb_request(
        category=asked.category,
        policy=policy,
        not_appropriate_reasons=asked.not_appropriate,
        discretionary_outcome=asked.discretionary,
        discretionary_reasons=asked.discretionary_reasons,
    )


def registered_event(person: Any) -> ev.PersonRegistered:
    """PersonRegistered of a person row just inserted."""
    return ev.PersonRegistered(
        person_id=str(person["person_id"]),
        # No NHS number, no date of birth in clear (issue 14): JetStream keeps events
        # for years, and every service reads them.
        date_of_birth_sealed=_sealed_birth(str(person["person_id"]), person["date_of_birth"]),
        commissioner_ods_code=person["commissioner_ods_code"],
        council_gss_code=person["council_gss_code"],
    )


def eligibility_event(person: Any, decision: Any) -> ev.EligibilityDecided:
    """EligibilityDecided of a decision row, about the person row after it."""
    return ev.EligibilityDecided(
        person_id=str(person["person_id"]),
        decision_id=str(decision["decision_id"]),
        category=mapping.category_name(decision["category"]),
        outcome=mapping.outcome_name(decision["outcome"]),
        reasons=list(decision["reasons"]),
        decided_on=format_date(decision["decided_on"]),
        deciding_body=decision["deciding_body"],
        commissioner_ods_code=person["commissioner_ods_code"],
        council_gss_code=person["council_gss_code"],
        child=decision["age_on_decision"] < model.ADULT_AGE_YEARS,
    )


class EntitlementHandlers:
    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        """Dates in requests are England's calendar dates; "the future" is judged by
        `clock.today()` (England's date)."""
        self._pool = pool
        self._today = clock.today

    async def _once(
        self,
        method: str,
        request: Message,
        response_type: type[ResponseT],
        effect: Callable[[Conn], Awaitable[ResponseT]],
    ) -> ResponseT:
        return await run_idempotent(self._pool, SCHEMA, method, request, response_type, effect)

    # People ---------------------------------------------------------------------------------

    async def register_person(self, request: api.RegisterPersonRequest) -> api.Person:
        v = Violations()
        check_request_id(request.request_id, v)
        nhs_number, born = registration_fields(request, v, self._today())
        v.raise_if_any()
        # Only for a commissioner or council the caller works for (issue 14).
        check_scope(current_actor(), [request.commissioner_ods_code, request.council_gss_code])

        async def effect(conn: Conn) -> api.Person:
            person = await repo.insert_person(
                conn,
                uuid.uuid4(),
                nhs_number=nhs_number,
                given_name=request.given_name.strip(),
                family_name=request.family_name.strip(),
                date_of_birth=born,
                commissioner_ods_code=request.commissioner_ods_code,
                council_gss_code=request.council_gss_code,
            )
            await publish(conn, person, request.request_id, registered_event(person))
            return mapping.person_to_api(person)

        return await self._once("RegisterPerson", request, api.Person, effect)

    async def get_person(self, request: api.GetPersonRequest) -> api.Person:
        v = Violations()
        person_id = require_uuid(request.person_id, "person_id", v)
        v.raise_if_any()
        person = await repo.get_person(self._pool, person_id)
        if person is None:
            raise _person_not_found(person_id)
        check_person_scope(person)
        return mapping.person_to_api(person)

    async def list_people(self, request: api.ListPeopleRequest) -> api.ListPeopleResponse:
        v = Violations()
        size = paging.page_size(request.page_size, v)
        if request.commissioner_ods_code:
            _check_ods(request.commissioner_ods_code, "commissioner_ods_code", v)
        if request.council_gss_code:
            _check_gss(request.council_gss_code, "council_gss_code", v)
        query = f"people|{request.commissioner_ods_code}|{request.council_gss_code}"
        key = paging.decode_token(request.page_token, query, v)
        after = require_uuid(key[0], "page_token", v) if key else None
        v.raise_if_any()
        actor = current_actor()
        named = [c for c in (request.commissioner_ods_code, request.council_gss_code) if c]
        if named or actor.role not in UNSCOPED:
            check_scope(actor, named or actor.organisations)
        rows = await repo.list_people(
            self._pool,
            after=after,
            limit=size + 1,
            commissioner=request.commissioner_ods_code,
            council=request.council_gss_code,
            organisations=None if actor.role in UNSCOPED else list(actor.organisations),
        )
        page = rows[:size]
        token = ""
        if len(rows) > size:
            token = paging.encode_token([str(page[-1]["person_id"])], query)
        return api.ListPeopleResponse(
            people=[mapping.person_to_api(r) for r in page], next_page_token=token
        )

    async def update_person_details(self, request: api.UpdatePersonDetailsRequest) -> api.Person:
        v = Violations()
        check_request_id(request.request_id, v)
        person_id = require_uuid(request.person_id, "person_id", v)
        _check_text(request.reason, "reason", v, TEXT_LENGTH_MAX)
        changes = self._requested_corrections(request, v)
        v.raise_if_any()

        async def effect(conn: Conn) -> api.Person:
            person = await repo.get_person(conn, person_id, for_update=True)
            if person is None:
                raise _person_not_found(person_id)
            check_person_scope(person)
            moved = [changes.get(k, "") for k in ("commissioner_ods_code", "council_gss_code")]
            if any(moved):  # nor moves them to an organisation it does not act for
                check_scope(current_actor(), moved)
            changed = {k: val for k, val in changes.items() if person[k] != val}
            if not changed:
                return mapping.person_to_api(person)
            if person["died_on"] is not None and person["died_on"] < changed.get(
                "date_of_birth", person["date_of_birth"]
            ):
                raise before_birth("the recorded death")
            updated = await repo.update_person(conn, person_id, changed)
            await repo.insert_correction(
                conn, person_id, sorted(changed), request.reason.strip(), request.request_id
            )
            await publish(
                conn,
                updated,
                request.request_id,
                ev.PersonDetailsUpdated(
                    person_id=str(person_id),
                    changed_fields=sorted(changed),
                    date_of_birth_sealed=_sealed_birth(str(person_id), updated["date_of_birth"]),
                    commissioner_ods_code=updated["commissioner_ods_code"],
                    council_gss_code=updated["council_gss_code"],
                ),
            )
            return mapping.person_to_api(updated)

        return await self._once("UpdatePersonDetails", request, api.Person, effect)

    def _requested_corrections(
        self, request: api.UpdatePersonDetailsRequest, v: Violations
    ) -> dict[str, Any]:
        """The masked fields' new values, validated like a registration's."""
        paths = list(request.update_mask.paths)
        v.check(bool(paths), "update_mask", "name at least one field to correct")
        new = request.person
        changes: dict[str, Any] = {}
        for path in paths:
            field = f"person.{path}"
            if path not in CORRECTABLE_FIELDS:
                v.add("update_mask", f"{path!r} cannot be corrected here")
            elif path == "nhs_number":
                changes[path] = _check_nhs_number(new.nhs_number, field, v)
            elif path in ("given_name", "family_name"):
                _check_text(getattr(new, path), field, v, NAME_LENGTH_MAX)
                changes[path] = getattr(new, path).strip()
            elif path == "date_of_birth":
                changes[path] = mapping.parse_date(new.date_of_birth, field, v, today=self._today())
            elif path == "commissioner_ods_code":
                _check_ods(new.commissioner_ods_code, field, v)
                changes[path] = new.commissioner_ods_code
            else:
                _check_gss(new.council_gss_code, field, v)
                changes[path] = new.council_gss_code
        return changes

    async def record_death(self, request: api.RecordDeathRequest) -> api.Person:
        v = Violations()
        check_request_id(request.request_id, v)
        person_id = require_uuid(request.person_id, "person_id", v)
        died_on = mapping.parse_date(request.died_on, "died_on", v, today=self._today())
        v.raise_if_any()

        async def effect(conn: Conn) -> api.Person:
            person = await _living_person(conn, person_id)
            if died_on < person["date_of_birth"]:
                raise before_birth("died_on")
            updated = await repo.bump_person(
                conn, person_id, state=PersonState.DECEASED.value, died_on=died_on
            )
            await publish(
                conn,
                updated,
                request.request_id,
                ev.PersonDied(
                    person_id=str(person_id),
                    died_on=format_date(died_on),
                    commissioner_ods_code=updated["commissioner_ods_code"],
                    council_gss_code=updated["council_gss_code"],
                ),
            )
            return mapping.person_to_api(updated)

        return await self._once("RecordDeath", request, api.Person, effect)

    async def record_consent_withdrawn(
        self, request: api.RecordConsentWithdrawnRequest
    ) -> api.Person:
        v = Violations()
        check_request_id(request.request_id, v)
        person_id = require_uuid(request.person_id, "person_id", v)
        on = mapping.parse_date(request.withdrawn_on, "withdrawn_on", v, today=self._today())
        v.raise_if_any()

        async def effect(conn: Conn) -> api.Person:
            person = await _living_person(conn, person_id)
            if person["state"] == PersonState.CONSENT_WITHDRAWN:
                raise FailedPrecondition(
                    reason=errors.CONSENT_ALREADY_WITHDRAWN,
                    message="consent is already withdrawn",
                )
            if on < person["date_of_birth"]:
                raise before_birth("withdrawn_on")
            updated = await repo.bump_person(
                conn,
                person_id,
                state=PersonState.CONSENT_WITHDRAWN.value,
                consent_withdrawn_on=on,
            )
            await publish(
                conn,
                updated,
                request.request_id,
                ev.ConsentWithdrawn(
                    person_id=str(person_id),
                    withdrawn_on=format_date(on),
                    commissioner_ods_code=updated["commissioner_ods_code"],
                    council_gss_code=updated["council_gss_code"],
                ),
            )
            return mapping.person_to_api(updated)

        return await self._once("RecordConsentWithdrawn", request, api.Person, effect)

    # Eligibility ----------------------------------------------------------------------------

    async def record_eligibility_decision(
        self, request: api.RecordEligibilityDecisionRequest
    ) -> api.EligibilityDecision:
        v = Violations()
        check_request_id(request.request_id, v)
        person_id = require_uuid(request.person_id, "person_id", v)
        asked = eligibility_fields(request, v, self._today())
        v.raise_if_any()
        assert asked is not None

        async def effect(conn: Conn) -> api.EligibilityDecision:
            person = await _living_person(conn, person_id)
            age = model.check_age_rule(asked.category, person["date_of_birth"], asked.decided_on)
            decision = await repo.insert_decision(
                conn,
                decision_id=uuid.uuid4(),
                person_id=person_id,
                category=asked.category.value,
                outcome=asked.outcome.value,
                reasons=asked.reasons,
                decided_on=asked.decided_on,
                deciding_body=asked.deciding_body,
                age_on_decision=age,
            )
            updated = await repo.bump_person(conn, person_id)
            await publish(conn, updated, request.request_id, eligibility_event(updated, decision))
            return mapping.decision_to_api(decision)

        return await self._once(
            "RecordEligibilityDecision", request, api.EligibilityDecision, effect
        )

    async def list_eligibility(
        self, request: api.ListEligibilityRequest
    ) -> api.ListEligibilityResponse:
        v = Violations()
        person_id = require_uuid(request.person_id, "person_id", v)
        size = paging.page_size(request.page_size, v)
        query = f"eligibility|{request.person_id}"
        key = paging.decode_token(request.page_token, query, v)
        before = _int_key(key, v)
        v.raise_if_any()
        person = await repo.get_person(self._pool, person_id)
        if person is None:
            raise _person_not_found(person_id)
        check_person_scope(person)
        rows = await repo.list_decisions(self._pool, person_id, before_seq=before, limit=size + 1)
        page = rows[:size]
        token = paging.encode_token([str(page[-1]["seq"])], query) if len(rows) > size else ""
        return api.ListEligibilityResponse(
            decisions=[mapping.decision_to_api(r) for r in page], next_page_token=token
        )

    # Right to have --------------------------------------------------------------------------

    async def set_commissioner_policy(
        self, request: api.SetCommissionerPolicyRequest
    ) -> api.CommissionerPolicy:
        v = Violations()
        check_request_id(request.request_id, v)
        _check_ods(request.commissioner_ods_code, "commissioner_ods_code", v)
        categories = [mapping.category_from_api(c) for c in request.extended_categories]
        v.check(
            None not in categories,
            "extended_categories",
            "each must be one of the eligibility categories",
        )
        v.raise_if_any()
        extended = sorted({c.value for c in categories if c is not None})

        check_scope(current_actor(), [request.commissioner_ods_code])

        async def effect(conn: Conn) -> api.CommissionerPolicy:
            row = await repo.upsert_policy(conn, request.commissioner_ods_code, extended)
            return _policy_to_api(row["commissioner_ods_code"], row)

        return await self._once("SetCommissionerPolicy", request, api.CommissionerPolicy, effect)

    async def get_commissioner_policy(
        self, request: api.GetCommissionerPolicyRequest
    ) -> api.CommissionerPolicy:
        v = Violations()
        _check_ods(request.commissioner_ods_code, "commissioner_ods_code", v)
        v.raise_if_any()
        check_scope(current_actor(), [request.commissioner_ods_code])
        row = await repo.get_extended_categories(self._pool, request.commissioner_ods_code)
        return _policy_to_api(request.commissioner_ods_code, row)

    async def request_personal_health_budget(
        self, request: api.RequestPersonalHealthBudgetRequest
    ) -> api.PersonalHealthBudgetRequest:
        v = Violations()
        check_request_id(request.request_id, v)
        person_id = require_uuid(request.person_id, "person_id", v)
        asked = phb_fields(request, v, self._today())
        v.raise_if_any()
        assert asked is not None

        async def effect(conn: Conn) -> api.PersonalHealthBudgetRequest:
            person = await _living_person(conn, person_id)
            if asked.requested_on < person["date_of_birth"]:
                raise before_birth("requested_on")
            records = await _eligibility_records(conn, person_id)
            require_granted(records, asked.category, asked.requested_on)
            policy = await _policy(conn, person["commissioner_ods_code"])
            decision = decide_phb(asked, policy)
            on = asked.requested_on
            row = await repo.insert_phb_request(
                conn,
                phb_request_id=uuid.uuid4(),
                person_id=person_id,
                category=asked.category.value,
                requested_on=on,
                right_to_have=decision.right_to_have,
                state=decision.outcome.value,
                reasons=decision.reasons,
                decided_on=on,
            )
            await _publish_request_and_decision(conn, person, row, request.request_id)
            return mapping.phb_request_to_api(row)

        return await self._once(
            "RequestPersonalHealthBudget", request, api.PersonalHealthBudgetRequest, effect
        )

    async def request_reconsideration(
        self, request: api.RequestReconsiderationRequest
    ) -> api.PersonalHealthBudgetRequest:
        v = Violations()
        check_request_id(request.request_id, v)
        phb_id = require_uuid(request.phb_request_id, "phb_request_id", v)
        on = mapping.parse_date(request.requested_on, "requested_on", v, today=self._today())
        grounds = model.clean_reasons(request.grounds)
        _check_reasons(grounds, "grounds", v)
        v.raise_if_any()

        async def effect(conn: Conn) -> api.PersonalHealthBudgetRequest:
            phb = await _phb_request(conn, phb_id)
            await _living_person(conn, phb["person_id"])
            if phb["reconsidered"]:
                raise FailedPrecondition(
                    reason=errors.ALREADY_RECONSIDERED,
                    message="this refusal was already reconsidered: make a new request",
                )
            if phb["state"] != RequestState.REFUSED:
                raise FailedPrecondition(
                    reason=errors.NOT_REFUSED, message="only a refusal can be reconsidered"
                )
            if on < phb["decided_on"]:
                raise _before_request("requested_on", "the refusal")
            row = await repo.mark_reconsideration_requested(conn, phb_id, on, grounds)
            return mapping.phb_request_to_api(row)

        return await self._once(
            "RequestReconsideration", request, api.PersonalHealthBudgetRequest, effect
        )

    async def decide_reconsideration(
        self, request: api.DecideReconsiderationRequest
    ) -> api.PersonalHealthBudgetRequest:
        v = Violations()
        check_request_id(request.request_id, v)
        phb_id = require_uuid(request.phb_request_id, "phb_request_id", v)
        outcome = mapping.outcome_from_api(request.outcome)
        v.check(outcome is not None, "outcome", "required: GRANTED or REFUSED")
        reasons = model.clean_reasons(request.reasons)
        _check_reasons(reasons, "reasons", v)
        v.check(bool(reasons), "reasons", "a reconsideration must give its reasons")
        on = mapping.parse_date(request.decided_on, "decided_on", v, today=self._today())
        v.raise_if_any()
        assert outcome is not None

        async def effect(conn: Conn) -> api.PersonalHealthBudgetRequest:
            phb = await _phb_request(conn, phb_id)
            person = await _living_person(conn, phb["person_id"])
            if phb["state"] != RequestState.RECONSIDERATION_REQUESTED:
                raise FailedPrecondition(
                    reason=errors.RECONSIDERATION_NOT_REQUESTED,
                    message="no reconsideration of this request is pending",
                )
            if on < phb["reconsideration_requested_on"]:
                raise _before_request("decided_on", "the reconsideration request")
            row = await repo.record_reconsideration(conn, phb_id, outcome.value, reasons, on)
            updated = await _bump_for_decision(conn, person, outcome)
            await publish(
                conn,
                updated,
                request.request_id,
                ev.ReconsiderationDecided(**_decision_fields(updated, row)),
            )
            return mapping.phb_request_to_api(row)

        return await self._once(
            "DecideReconsideration", request, api.PersonalHealthBudgetRequest, effect
        )


def _int_key(key: list[str] | None, v: Violations) -> int | None:
    if not key:
        return None
    try:
        return int(key[0])
    except ValueError:
        v.add("page_token", "not a page token from this list")
        return None


def _before_request(field: str, what: str) -> FailedPrecondition:
    return FailedPrecondition(
        reason=errors.DATE_BEFORE_REQUEST, message=f"{field} is before {what}"
    )


def _policy_to_api(commissioner: str, row: Any) -> api.CommissionerPolicy:
    extended = [Category(c) for c in row["extended_categories"]] if row else []
    rights = model.right_to_have_categories(extended)
    return api.CommissionerPolicy(
        commissioner_ods_code=commissioner,
        extended_categories=[mapping.category_name(c) for c in extended],
        right_to_have_categories=[mapping.category_name(c) for c in Category if c in rights],
        update_time=mapping.timestamp(row["updated_at"]) if row else None,
    )


async def _policy(conn: Conn, commissioner: str) -> frozenset[Category]:
    row = await repo.get_extended_categories(conn, commissioner)
    extended = [Category(c) for c in row["extended_categories"]] if row else []
    return model.right_to_have_categories(extended)


async def _eligibility_records(conn: Conn, person_id: uuid.UUID) -> list[model.EligibilityRecord]:
    rows = await repo.list_decisions(conn, person_id)
    return [
        model.EligibilityRecord(Category(r["category"]), Outcome(r["outcome"]), r["decided_on"])
        for r in reversed(rows)  # oldest first: recording order breaks same-day ties
    ]


def require_granted(records: list[model.EligibilityRecord], category: Category, on: date) -> None:
    """The person's decisions (recording order) hold `category` granted on `on` (England's
    date; model.holds_granted), else FAILED_PRECONDITION NO_GRANTED_ELIGIBILITY (a PHB request
    needs a granted eligibility: NHS (Direct Payments) Regulations 2013, Standing Rules reg
    32A)."""
    if not model.holds_granted(records, category, on):
        raise FailedPrecondition(
            reason=errors.NO_GRANTED_ELIGIBILITY,
            message=f"the person holds no granted {category} eligibility on {on.isoformat()}",
            metadata={"category": category.value},
        )


async def _phb_request(conn: Conn, phb_id: uuid.UUID) -> Any:
    row = await repo.get_phb_request(conn, phb_id, for_update=True)
    if row is None:
        raise NotFound(
            reason=errors.PHB_REQUEST_NOT_FOUND,
            message="no such PHB request",
            metadata={"phb_request_id": str(phb_id)},
        )
    return row


async def _bump_for_decision(conn: Conn, person: Any, outcome: Outcome, steps: int = 1) -> Any:
    """A granted PHB is the person's consent again: withdrawn consent becomes ACTIVE."""
    restore = outcome is Outcome.GRANTED and person["state"] == PersonState.CONSENT_WITHDRAWN
    updated = None
    for step in range(steps):
        changes = {"state": PersonState.ACTIVE.value} if restore and step == 0 else {}
        updated = await repo.bump_person(conn, person["person_id"], **changes)
    return updated


def _decision_fields(person: Any, phb: Any) -> dict[str, Any]:
    return {
        "person_id": str(person["person_id"]),
        "phb_request_id": str(phb["phb_request_id"]),
        "category": mapping.category_name(phb["category"]),
        "outcome": mapping.outcome_name(phb["state"]),
        "reasons": list(phb["reasons"]),
        "decided_on": format_date(phb["decided_on"]),
        "commissioner_ods_code": person["commissioner_ods_code"],
        "council_gss_code": person["council_gss_code"],
        "child": age_on(person["date_of_birth"], phb["decided_on"]) < model.ADULT_AGE_YEARS,
        "right_to_have": phb["right_to_have"],
    }


async def _publish_request_and_decision(conn: Conn, person: Any, phb: Any, request_id: str) -> None:
    updated = await _bump_for_decision(conn, person, Outcome(phb["state"]), steps=2)
    await publish(conn, updated, request_id, *request_and_decision_events(updated, phb))


def request_and_decision_events(
    person: Any, phb: Any
) -> tuple[ev.PersonalHealthBudgetRequested, ev.PersonalHealthBudgetRequestDecided]:
    """The two events of a PHB request and its decision, about the person row after both."""
    decided = _decision_fields(person, phb)
    requested = ev.PersonalHealthBudgetRequested(
        person_id=decided["person_id"],
        phb_request_id=decided["phb_request_id"],
        category=decided["category"],
        requested_on=format_date(phb["requested_on"]),
        commissioner_ods_code=decided["commissioner_ods_code"],
        council_gss_code=decided["council_gss_code"],
        child=decided["child"],
        right_to_have=decided["right_to_have"],
    )
    return requested, ev.PersonalHealthBudgetRequestDecided(**decided)
