"""Between the API's protobuf messages, the domain's values and the database rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from google.protobuf import timestamp_pb2

from onebudget.entitlement.domain.dates import format_date
from onebudget.entitlement.domain.model import Category, Outcome
from onebudget.entitlement.domain.reviews import ReviewKind
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.shared.errors import Violations
from onebudget.shared.validation import parse_date as shared_parse_date

Row = Any  # an asyncpg.Record

_CATEGORY_PREFIX = "ELIGIBILITY_CATEGORY_"
_OUTCOME_PREFIX = "DECISION_OUTCOME_"
_KIND_PREFIX = "REVIEW_KIND_"


def category_from_api(value: int) -> Category | None:
    name = api.EligibilityCategory.Name(value) if value in api.EligibilityCategory.values() else ""
    suffix = name.removeprefix(_CATEGORY_PREFIX)
    return Category(suffix) if suffix in Category.__members__ else None


def category_name(category: str) -> str:
    """The enum value's name, e.g. ELIGIBILITY_CATEGORY_CHC (the same in the API and events)."""
    return _CATEGORY_PREFIX + category


def outcome_from_api(value: int) -> Outcome | None:
    name = api.DecisionOutcome.Name(value) if value in api.DecisionOutcome.values() else ""
    suffix = name.removeprefix(_OUTCOME_PREFIX)
    return Outcome(suffix) if suffix in Outcome.__members__ else None


def outcome_name(outcome: str) -> str:
    """The enum value's name, e.g. DECISION_OUTCOME_GRANTED (the same in the API and events)."""
    return _OUTCOME_PREFIX + outcome


def kind_from_api(value: int) -> ReviewKind | None:
    name = api.ReviewKind.Name(value) if value in api.ReviewKind.values() else ""
    suffix = name.removeprefix(_KIND_PREFIX)
    return ReviewKind(suffix) if suffix in ReviewKind.__members__ else None


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def parse_date(
    value: str, field: str, violations: Violations, *, today: date | None = None
) -> date:
    """A required ISO date, not after `today` when given. On a violation it returns date.min,
    which the caller never uses: it raises the collected violations first."""
    parsed = shared_parse_date(value, field, violations, required=True)
    if parsed is None:
        return date.min
    if today is not None and parsed > today:
        violations.add(field, "must not be in the future")
    return parsed


def person_to_api(row: Row) -> api.Person:
    r = row
    return api.Person(
        person_id=str(r["person_id"]),
        nhs_number=r["nhs_number"],
        given_name=r["given_name"],
        family_name=r["family_name"],
        date_of_birth=format_date(r["date_of_birth"]),
        commissioner_ods_code=r["commissioner_ods_code"],
        council_gss_code=r["council_gss_code"],
        state="PERSON_STATE_" + r["state"],
        died_on=format_date(r["died_on"]),
        consent_withdrawn_on=format_date(r["consent_withdrawn_on"]),
        version=r["version"],
        create_time=timestamp(r["created_at"]),
        update_time=timestamp(r["updated_at"]),
    )


def decision_to_api(r: Row) -> api.EligibilityDecision:
    return api.EligibilityDecision(
        decision_id=str(r["decision_id"]),
        person_id=str(r["person_id"]),
        category=category_name(r["category"]),
        outcome=outcome_name(r["outcome"]),
        reasons=list(r["reasons"]),
        decided_on=format_date(r["decided_on"]),
        deciding_body=r["deciding_body"],
        age_on_decision=r["age_on_decision"],
        create_time=timestamp(r["created_at"]),
    )


def phb_request_to_api(r: Row) -> api.PersonalHealthBudgetRequest:
    return api.PersonalHealthBudgetRequest(
        phb_request_id=str(r["phb_request_id"]),
        person_id=str(r["person_id"]),
        category=category_name(r["category"]),
        requested_on=format_date(r["requested_on"]),
        right_to_have=r["right_to_have"],
        state="PERSONAL_HEALTH_BUDGET_REQUEST_STATE_" + r["state"],
        reasons=list(r["reasons"]),
        decided_on=format_date(r["decided_on"]),
        reconsideration_requested_on=format_date(r["reconsideration_requested_on"]),
        reconsideration_grounds=list(r["reconsideration_grounds"]),
        reconsidered=r["reconsidered"],
        create_time=timestamp(r["created_at"]),
        update_time=timestamp(r["updated_at"]),
    )


def review_to_api(r: Row) -> api.ReviewDue:
    return api.ReviewDue(
        kind=_KIND_PREFIX + r["kind"],
        subject_id=r["subject_id"],
        person_id=str(r["person_id"]),
        commissioner_ods_code=r["commissioner_ods_code"] or "",
        council_gss_code=r["council_gss_code"] or "",
        budget_id=r["budget_id"],
        started_on=format_date(r["started_on"]),
        last_completed_on=format_date(r["last_completed_on"]),
        window_opens_on=format_date(r["window_opens_on"]),
        due_on=format_date(r["due_on"]),
        nhs_funded=r["nhs_funded"],
    )
