"""Eligibility decisions, commissioner policies, PHB requests and reconsiderations over gRPC."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.events.v1 import entitlement_pb2 as ev
from tests.conftest import StartService
from tests.integration.test_entitlement_support import Ent, entitlement, error_details, rid

SUBJECT = "onebudget.entitlement.person.{}.v1"
CHILD_BORN = "2012-03-01"


@pytest.fixture
async def ent(start_service: StartService, nats_url: str) -> AsyncIterator[Ent]:
    async with entitlement(start_service, nats_url) as client:
        yield client


Refusal = tuple[grpc.StatusCode, str, dict[str, str]]


async def _refused(ent: Ent, call: Any, request: Any) -> Refusal:
    """Call expecting an error; assert nothing was stored; return (code, reason, violations)."""
    before = await ent.counts()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request)
    assert await ent.counts() == before
    return (caught.value.code(), *error_details(caught.value))


def _phb(person_id: str, **overrides: Any) -> api.RequestPersonalHealthBudgetRequest:
    fields: dict[str, Any] = {
        "request_id": rid(),
        "person_id": person_id,
        "category": api.ELIGIBILITY_CATEGORY_CHC,
        "requested_on": "2024-05-01",
    }
    fields.update(overrides)
    return api.RequestPersonalHealthBudgetRequest(**fields)


async def test_decision_is_recorded_listed_and_published_once(ent: Ent) -> None:
    person = await ent.register()
    granted = await ent.decide(person.person_id)
    refused = await ent.decide(
        person.person_id,
        category=api.ELIGIBILITY_CATEGORY_WHEELCHAIR,
        outcome=api.DECISION_OUTCOME_REFUSED,
        reasons=["needs met by loan service"],
    )
    assert granted.age_on_decision == 63
    listed = await ent.stub.ListEligibility(api.ListEligibilityRequest(person_id=person.person_id))
    assert list(listed.decisions) == [refused, granted]  # newest first
    first = await ent.stub.ListEligibility(
        api.ListEligibilityRequest(person_id=person.person_id, page_size=1)
    )
    second = await ent.stub.ListEligibility(
        api.ListEligibilityRequest(
            person_id=person.person_id, page_size=1, page_token=first.next_page_token
        )
    )
    assert [*first.decisions, *second.decisions] == [refused, granted]
    assert not second.next_page_token

    events = await ent.events(person.person_id, 3)
    assert [s for s, _ in events] == [SUBJECT.format("registered")] + [
        SUBJECT.format("eligibility_decided")
    ] * 2
    payload = ev.EligibilityDecided()
    assert events[1][1].payload.Unpack(payload)
    assert payload.category == ev.ELIGIBILITY_CATEGORY_CHC
    assert payload.outcome == ev.DECISION_OUTCOME_GRANTED
    assert (payload.commissioner_ods_code, payload.child) == ("QNQ", False)
    assert [e.aggregate_version for _, e in events] == [1, 2, 3]


@pytest.mark.parametrize(
    ("born", "category", "decided_on"),
    [
        ("1960-05-17", api.ELIGIBILITY_CATEGORY_CHILDRENS_CC, "2024-04-02"),
        (CHILD_BORN, api.ELIGIBILITY_CATEGORY_CHC, "2024-04-02"),
        ("2006-04-03", api.ELIGIBILITY_CATEGORY_CHC, "2024-04-02"),  # 18 tomorrow
        ("2006-04-02", api.ELIGIBILITY_CATEGORY_CHILDRENS_CC, "2024-04-02"),  # 18 today
    ],
)
async def test_age_outside_the_category_rule_is_refused(
    ent: Ent, born: str, category: int, decided_on: str
) -> None:
    person = await ent.register(date_of_birth=born)
    request = api.RecordEligibilityDecisionRequest(
        request_id=rid(),
        person_id=person.person_id,
        category=category,  # type: ignore[arg-type]
        outcome=api.DECISION_OUTCOME_GRANTED,
        decided_on=decided_on,
        deciding_body="panel",
    )
    code, reason, _ = await _refused(ent, ent.stub.RecordEligibilityDecision, request)
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "AGE_OUTSIDE_CATEGORY_RULE")
    assert await ent.subjects(person.person_id, 1) == [SUBJECT.format("registered")]


async def test_age_boundaries_that_are_allowed(ent: Ent) -> None:
    adult = await ent.register(date_of_birth="2006-04-02")
    child = await ent.register(date_of_birth="2006-04-03")
    await ent.decide(adult.person_id, category=api.ELIGIBILITY_CATEGORY_CHC)
    decision = await ent.decide(child.person_id, category=api.ELIGIBILITY_CATEGORY_CHILDRENS_CC)
    assert decision.age_on_decision == 17


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"outcome": api.DECISION_OUTCOME_REFUSED, "reasons": []}, "reasons"),
        ({"outcome": api.DECISION_OUTCOME_REFUSED, "reasons": ["  "]}, "reasons"),
        ({"category": api.ELIGIBILITY_CATEGORY_UNSPECIFIED}, "category"),
        ({"outcome": api.DECISION_OUTCOME_UNSPECIFIED}, "outcome"),
        ({"decided_on": "2024-13-01"}, "decided_on"),
        ({"decided_on": "2999-01-01"}, "decided_on"),
        ({"deciding_body": ""}, "deciding_body"),
        ({"person_id": "nobody"}, "person_id"),
    ],
)
async def test_bad_decision_is_invalid(ent: Ent, overrides: dict[str, Any], field: str) -> None:
    person = await ent.register()
    fields: dict[str, Any] = {
        "request_id": rid(),
        "person_id": person.person_id,
        "category": api.ELIGIBILITY_CATEGORY_CHC,
        "outcome": api.DECISION_OUTCOME_GRANTED,
        "decided_on": "2024-04-02",
        "deciding_body": "panel",
        **overrides,
    }
    request = api.RecordEligibilityDecisionRequest(**fields)
    code, reason, violations = await _refused(ent, ent.stub.RecordEligibilityDecision, request)
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST")
    assert field in violations


async def test_decision_before_birth_is_refused(ent: Ent) -> None:
    person = await ent.register(date_of_birth=CHILD_BORN)
    request = api.RecordEligibilityDecisionRequest(
        request_id=rid(),
        person_id=person.person_id,
        category=api.ELIGIBILITY_CATEGORY_S117,
        outcome=api.DECISION_OUTCOME_GRANTED,
        decided_on="2011-01-01",
        deciding_body="panel",
    )
    code, reason, _ = await _refused(ent, ent.stub.RecordEligibilityDecision, request)
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "DATE_BEFORE_BIRTH")


async def test_policy_defaults_to_statutory_and_can_be_extended(ent: Ent) -> None:
    default = await ent.stub.GetCommissionerPolicy(
        api.GetCommissionerPolicyRequest(commissioner_ods_code="00L")
    )
    assert list(default.right_to_have_categories) == [
        api.ELIGIBILITY_CATEGORY_CHC,
        api.ELIGIBILITY_CATEGORY_CHILDRENS_CC,
        api.ELIGIBILITY_CATEGORY_S117,
        api.ELIGIBILITY_CATEGORY_WHEELCHAIR,
    ]
    request = api.SetCommissionerPolicyRequest(
        request_id=rid(),
        commissioner_ods_code="00L",
        extended_categories=[api.ELIGIBILITY_CATEGORY_JOINT_PACKAGE],
    )
    policy = await ent.stub.SetCommissionerPolicy(request)
    assert list(policy.extended_categories) == [api.ELIGIBILITY_CATEGORY_JOINT_PACKAGE]
    assert api.ELIGIBILITY_CATEGORY_JOINT_PACKAGE in policy.right_to_have_categories
    assert await ent.stub.SetCommissionerPolicy(request) == policy  # a retry
    bad = api.SetCommissionerPolicyRequest(request_id=rid(), commissioner_ods_code="0")
    code, _, violations = await _refused(ent, ent.stub.SetCommissionerPolicy, bad)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "commissioner_ods_code" in violations


async def test_right_to_have_is_granted_and_published_once(ent: Ent) -> None:
    person = await ent.register()
    await ent.decide(person.person_id)
    request = _phb(person.person_id)
    phb = await ent.stub.RequestPersonalHealthBudget(request)
    assert phb.state == api.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_GRANTED
    assert phb.right_to_have
    before = await ent.counts()
    assert await ent.stub.RequestPersonalHealthBudget(request) == phb  # a retry
    assert await ent.counts() == before
    events = await ent.events(person.person_id, 4)
    assert [s for s, _ in events][2:] == [
        SUBJECT.format("personal_health_budget_requested"),
        SUBJECT.format("personal_health_budget_request_decided"),
    ]
    decided = ev.PersonalHealthBudgetRequestDecided()
    assert events[3][1].payload.Unpack(decided)
    assert decided.outcome == ev.DECISION_OUTCOME_GRANTED
    assert (decided.phb_request_id, decided.right_to_have) == (phb.phb_request_id, True)


async def test_refusal_not_appropriate_then_reconsidered(ent: Ent) -> None:
    person = await ent.register()
    await ent.decide(person.person_id)
    phb = await ent.stub.RequestPersonalHealthBudget(
        _phb(person.person_id, not_appropriate_reasons=["in hospital for assessment"])
    )
    assert phb.state == api.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_REFUSED
    assert list(phb.reasons) == ["in hospital for assessment"]
    not_pending = api.DecideReconsiderationRequest(
        request_id=rid(),
        phb_request_id=phb.phb_request_id,
        outcome=api.DECISION_OUTCOME_GRANTED,
        reasons=["discharged"],
        decided_on="2024-06-01",
    )
    code, reason, _ = await _refused(ent, ent.stub.DecideReconsideration, not_pending)
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "RECONSIDERATION_NOT_REQUESTED")
    asked = await ent.stub.RequestReconsideration(
        api.RequestReconsiderationRequest(
            request_id=rid(), phb_request_id=phb.phb_request_id, requested_on="2024-05-10"
        )
    )
    assert asked.state == api.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_RECONSIDERATION_REQUESTED
    not_pending.request_id = rid()
    decided = await ent.stub.DecideReconsideration(not_pending)
    assert (decided.state, decided.reconsidered) == (
        api.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_GRANTED,
        True,
    )
    events = await ent.events(person.person_id, 5)
    assert events[-1][0] == SUBJECT.format("reconsideration_decided")
    payload = ev.ReconsiderationDecided()
    assert events[-1][1].payload.Unpack(payload)
    assert (payload.outcome, list(payload.reasons)) == (ev.DECISION_OUTCOME_GRANTED, ["discharged"])


async def test_a_reconsidered_refusal_is_not_reconsidered_again(ent: Ent) -> None:
    person = await ent.register()
    await ent.decide(person.person_id)
    phb = await ent.stub.RequestPersonalHealthBudget(
        _phb(person.person_id, not_appropriate_reasons=["risk to safety"])
    )
    await ent.stub.RequestReconsideration(
        api.RequestReconsiderationRequest(
            request_id=rid(), phb_request_id=phb.phb_request_id, requested_on="2024-05-10"
        )
    )
    await ent.stub.DecideReconsideration(
        api.DecideReconsiderationRequest(
            request_id=rid(),
            phb_request_id=phb.phb_request_id,
            outcome=api.DECISION_OUTCOME_REFUSED,
            reasons=["risk remains"],
            decided_on="2024-05-20",
        )
    )
    again = api.RequestReconsiderationRequest(
        request_id=rid(), phb_request_id=phb.phb_request_id, requested_on="2024-05-21"
    )
    code, reason, _ = await _refused(ent, ent.stub.RequestReconsideration, again)
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_RECONSIDERED")


async def test_no_right_needs_a_discretionary_decision(ent: Ent) -> None:
    person = await ent.register(commissioner_ods_code="D4U1Y")
    await ent.decide(person.person_id, category=api.ELIGIBILITY_CATEGORY_JOINT_PACKAGE)
    bare = _phb(person.person_id, category=api.ELIGIBILITY_CATEGORY_JOINT_PACKAGE)
    code, reason, _ = await _refused(ent, ent.stub.RequestPersonalHealthBudget, bare)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert reason == "DISCRETIONARY_DECISION_REQUIRED"
    refused = await ent.stub.RequestPersonalHealthBudget(
        _phb(
            person.person_id,
            category=api.ELIGIBILITY_CATEGORY_JOINT_PACKAGE,
            discretionary_outcome=api.DECISION_OUTCOME_REFUSED,
            discretionary_reasons=["not offered for joint packages here"],
        )
    )
    assert (refused.state, refused.right_to_have) == (
        api.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_REFUSED,
        False,
    )
    await ent.stub.SetCommissionerPolicy(
        api.SetCommissionerPolicyRequest(
            request_id=rid(),
            commissioner_ods_code="D4U1Y",
            extended_categories=[api.ELIGIBILITY_CATEGORY_JOINT_PACKAGE],
        )
    )
    granted = await ent.stub.RequestPersonalHealthBudget(
        _phb(person.person_id, category=api.ELIGIBILITY_CATEGORY_JOINT_PACKAGE)
    )
    assert (granted.state, granted.right_to_have) == (
        api.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_GRANTED,
        True,
    )


async def test_right_to_have_cannot_be_refused_at_discretion(ent: Ent) -> None:
    person = await ent.register()
    await ent.decide(person.person_id)
    request = _phb(
        person.person_id,
        discretionary_outcome=api.DECISION_OUTCOME_REFUSED,
        discretionary_reasons=["budget pressures"],
    )
    code, reason, _ = await _refused(ent, ent.stub.RequestPersonalHealthBudget, request)
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "RIGHT_TO_HAVE_APPLIES")


async def test_request_without_granted_eligibility_is_refused(ent: Ent) -> None:
    person = await ent.register()
    await ent.decide(person.person_id, outcome=api.DECISION_OUTCOME_REFUSED, reasons=["no"])
    code, reason, _ = await _refused(
        ent, ent.stub.RequestPersonalHealthBudget, _phb(person.person_id)
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NO_GRANTED_ELIGIBILITY")
    code, _, violations = await _refused(
        ent, ent.stub.RequestPersonalHealthBudget, _phb(person.person_id, requested_on="")
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "requested_on" in violations
