"""ImportPeople over gRPC against the real database and JetStream (ADR 23, issue 17): each item
registered, decided and requested by the unary calls' rules, written set-based; refused items
write nothing and stop no other; a re-run answers the same and writes nothing; scope per item;
the four events of each person arrive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.events.v1 import entitlement_pb2 as ev
from tests.conftest import StartService
from tests.integration.test_entitlement_support import (
    Ent,
    entitlement,
    error_details,
    new_nhs_number,
    rid,
)

SUBJECT = "onebudget.entitlement.person.{}.v1"
CHC = api.ELIGIBILITY_CATEGORY_CHC
GRANTED = api.DECISION_OUTCOME_GRANTED


@pytest.fixture
async def ent(start_service: StartService, nats_url: str) -> AsyncIterator[Ent]:
    async with entitlement(start_service, nats_url) as client:
        yield client


def item(
    *,
    person: dict[str, Any] | None = None,
    eligibility: dict[str, Any] | None = None,
    phb: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> api.ImportPersonItem:
    """A good CHC item (an adult, a right to have: granted) with the fields given replaced."""
    p: dict[str, Any] = {
        "nhs_number": new_nhs_number(),
        "given_name": "Ada",
        "family_name": "Lovelace",
        "date_of_birth": "1960-05-17",
        "commissioner_ods_code": "QNQ",
        "council_gss_code": "E10000014",
    }
    e: dict[str, Any] = {
        "category": CHC,
        "outcome": GRANTED,
        "reasons": ["imported"],
        "decided_on": "2024-04-02",
        "deciding_body": "QNQ CHC panel",
    }
    h: dict[str, Any] = {"category": CHC, "requested_on": "2024-04-03"}
    p.update(person or {})
    e.update(eligibility or {})
    h.update(phb or {})
    return api.ImportPersonItem(
        request_id=request_id or rid(),
        person=api.RegisterPersonRequest(**p),
        eligibility=api.RecordEligibilityDecisionRequest(**e),
        phb=api.RequestPersonalHealthBudgetRequest(**h),
    )


async def send(ent: Ent, *items: api.ImportPersonItem) -> list[api.ImportPersonResult]:
    response: api.ImportPeopleResponse = await ent.stub.ImportPeople(
        api.ImportPeopleRequest(request_id=rid(), items=items)
    )
    assert len(response.results) == len(items)
    return list(response.results)


def reason(result: api.ImportPersonResult) -> str:
    assert result.WhichOneof("outcome") == "error", result
    return result.error.reason


async def audit_rows(ent: Ent) -> list[tuple[str, str, str]]:
    assert ent.host.runtime is not None
    rows = await ent.host.runtime.pool.fetch(
        "SELECT resource, outcome, reason FROM entitlement.audit_log"
        " WHERE method = 'ImportPeople' ORDER BY seq"
    )
    return [(r["resource"], r["outcome"], r["reason"]) for r in rows]


async def test_imports_each_person_with_the_unary_calls_results_and_events(ent: Ent) -> None:
    adult = item()
    child = item(
        person={"date_of_birth": "2015-01-01"},
        eligibility={"category": api.ELIGIBILITY_CATEGORY_CHILDRENS_CC},
        phb={"category": api.ELIGIBILITY_CATEGORY_CHILDRENS_CC},
    )
    # No right to have for a long-term condition: granted at the commissioner's discretion.
    discretionary = item(
        eligibility={"category": api.ELIGIBILITY_CATEGORY_LONG_TERM_CONDITION},
        phb={
            "category": api.ELIGIBILITY_CATEGORY_LONG_TERM_CONDITION,
            "discretionary_outcome": GRANTED,
            "discretionary_reasons": ["agreed locally"],
        },
    )
    results = await send(ent, adult, child, discretionary)
    imported = [r.imported for r in results]
    assert all(r.WhichOneof("outcome") == "imported" for r in results)
    for got, sent in zip(imported, (adult, child, discretionary), strict=True):
        assert got.person.nhs_number == sent.person.nhs_number
        assert got.person.version == 4
        assert got.person.state == api.PERSON_STATE_ACTIVE
        assert got.eligibility.person_id == got.person.person_id
        assert got.phb.person_id == got.person.person_id
        assert got.phb.state == api.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_GRANTED
        stored = await ent.stub.GetPerson(api.GetPersonRequest(person_id=got.person.person_id))
        assert stored == got.person
        listed = await ent.stub.ListEligibility(
            api.ListEligibilityRequest(person_id=got.person.person_id)
        )
        assert list(listed.decisions) == [got.eligibility]
    assert imported[0].phb.right_to_have
    assert imported[1].phb.right_to_have
    assert not imported[2].phb.right_to_have
    assert list(imported[2].phb.reasons) == ["agreed locally"]
    assert imported[0].eligibility.age_on_decision == 63
    assert imported[1].eligibility.age_on_decision == 9

    # The four events of each person, versions 1 to 4, as the unary calls publish them.
    for got in imported:
        events = await ent.events(got.person.person_id, 4)
        assert [s for s, _ in events] == [
            SUBJECT.format(name)
            for name in ("registered", "eligibility_decided", "personal_health_budget_requested",
                         "personal_health_budget_request_decided")
        ]  # fmt: skip
        assert [e.aggregate_version for _, e in events] == [1, 2, 3, 4]
    _, decided = (await ent.events(imported[1].person.person_id, 4))[1]
    payload = ev.EligibilityDecided()
    assert decided.payload.Unpack(payload)
    assert payload.child
    assert payload.decision_id == imported[1].eligibility.decision_id
    _, phb_decided = (await ent.events(imported[2].person.person_id, 4))[3]
    decision = ev.PersonalHealthBudgetRequestDecided()
    assert phb_decided.payload.Unpack(decision)
    assert not decision.right_to_have
    assert decision.outcome == ev.DECISION_OUTCOME_GRANTED
    # One audit record per item, naming the person made.
    assert await audit_rows(ent) == [
        (f"people/{got.person.person_id}", "OK", "") for got in imported
    ]


async def test_each_bad_item_is_refused_alone_and_writes_nothing(ent: Ent) -> None:
    taken = new_nhs_number()
    await ent.register(nhs_number=taken)
    twice = new_nhs_number()
    before = await ent.counts()
    good = item()
    items = [
        item(person={"nhs_number": "1234567890"}),  # bad check digit
        item(person={"date_of_birth": "2010-01-01"}),  # CHC for a child
        item(person={"nhs_number": taken}),  # registered by RegisterPerson already
        item(person={"nhs_number": twice}),
        item(person={"nhs_number": twice}),  # the same person twice in one call
        item(phb={"discretionary_outcome": GRANTED, "discretionary_reasons": ["x"]}),
        item(
            eligibility={"category": api.ELIGIBILITY_CATEGORY_LONG_TERM_CONDITION},
            phb={"category": api.ELIGIBILITY_CATEGORY_LONG_TERM_CONDITION},
        ),  # no right to have and no discretionary decision
        item(eligibility={"outcome": api.DECISION_OUTCOME_REFUSED, "reasons": ["not eligible"]}),
        item(phb={"category": api.ELIGIBILITY_CATEGORY_S117}),  # eligible for another category
        item(eligibility={"decided_on": "2024-05-01"}, phb={"requested_on": "2024-04-03"}),
        item(person={"date_of_birth": "1960-05-17"}, phb={"requested_on": "1950-01-01"}),
        item(phb={"person_id": rid()}),
        good,
    ]
    results = await send(ent, *items)
    assert [r.WhichOneof("outcome") for r in results[-2:]] == ["error", "imported"]
    assert [r.error.reason for r in results[:-1]] == [
        "INVALID_REQUEST",
        "AGE_OUTSIDE_CATEGORY_RULE",
        "PERSON_ALREADY_REGISTERED",
        "",  # the first of the two is imported
        "PERSON_ALREADY_REGISTERED",
        "RIGHT_TO_HAVE_APPLIES",
        "DISCRETIONARY_DECISION_REQUIRED",
        "NO_GRANTED_ELIGIBILITY",
        "NO_GRANTED_ELIGIBILITY",
        "NO_GRANTED_ELIGIBILITY",
        "DATE_BEFORE_BIRTH",
        "INVALID_REQUEST",
    ]
    assert results[3].imported.person.nhs_number == twice
    bad = results[0].error
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert [v.field for v in bad.field_violations] == ["items[0].person.nhs_number"]
    assert [v.field for v in results[11].error.field_violations] == ["items[11].phb.person_id"]
    assert results[1].error.code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert results[1].error.metadata["category"] == "CHC"
    # Only the two imported people wrote anything: three rows each, four events, one answer.
    after = await ent.counts()
    grown = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    assert grown == {
        "people": 2,
        "eligibility_decisions": 2,
        "phb_requests": 2,
        "outbox": 8,
        "idempotency": 2,
    }
    audited = await audit_rows(ent)
    assert len(audited) == len(items)
    assert audited[1][1:] == ("FAILED_PRECONDITION", "AGE_OUTSIDE_CATEGORY_RULE")
    assert audited[-1] == (f"people/{results[-1].imported.person.person_id}", "OK", "")


async def test_a_rerun_answers_the_same_and_writes_nothing(ent: Ent) -> None:
    first_items = [item(), item(), item(person={"date_of_birth": "2010-01-01"})]
    first = await send(ent, *first_items)
    assert reason(first[2]) == "AGE_OUTSIDE_CATEGORY_RULE"
    before = await ent.counts()
    again = await send(ent, *first_items)
    assert again[:2] == first[:2]
    assert reason(again[2]) == "AGE_OUTSIDE_CATEGORY_RULE"
    assert await ent.counts() == before
    assert [a[2] for a in (await audit_rows(ent))[-3:-1]] == ["REPLAYED", "REPLAYED"]
    # The refused item fixed under its own request_id is imported now (a refusal stored
    # nothing); an item changed under a used request_id is refused, nothing written for it.
    fixed = api.ImportPersonItem()
    fixed.CopyFrom(first_items[2])
    fixed.person.date_of_birth = "1970-01-01"
    changed = api.ImportPersonItem()
    changed.CopyFrom(first_items[0])
    changed.person.given_name = "Augusta"
    retried = await send(ent, changed, fixed, first_items[1], first_items[1])
    assert reason(retried[0]) == "REQUEST_ID_REUSED"
    assert retried[1].imported.person.date_of_birth == "1970-01-01"
    assert retried[2] == first[1]
    assert retried[3] == first[1]
    after = await ent.counts()
    assert after["people"] == before["people"] + 1
    assert after["idempotency"] == before["idempotency"] + 1


async def test_scope_is_checked_per_item(ent: Ent) -> None:
    # The test's care manager acts for the organisations the tests named; not for these.
    foreign = item(person={"commissioner_ods_code": "Z9Z9Z", "council_gss_code": "E06999999"})
    ours = item()
    before = await ent.counts()
    results = await send(ent, foreign, ours)
    assert reason(results[0]) == "PERMISSION_DENIED_ORGANISATION"
    assert results[0].error.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert results[1].imported.person.nhs_number == ours.person.nhs_number
    after = await ent.counts()
    assert after["people"] == before["people"] + 1


async def test_the_call_itself_needs_one_to_a_thousand_items(ent: Ent) -> None:
    for items in ([], [item(request_id=rid()) for _ in range(1_001)]):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await ent.stub.ImportPeople(api.ImportPeopleRequest(request_id=rid(), items=items))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "items" in error_details(caught.value)[1]
