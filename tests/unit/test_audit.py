"""The audit trail's pure rules (shared/audit.py, ADR 17): what a record says, that it holds no
personal data, and that the chain check finds a changed, missing or inserted record by position."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onebudget.allocation.v1 import allocation_service_pb2 as alloc
from onebudget.entitlement.v1 import entitlement_service_pb2 as ent
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.shared import audit
from onebudget.shared.audit import AuditRecord, ChainHead, chain_problems, record_hash
from onebudget.shared.identity import Actor, Role, acting_as

BROKER = Actor("u-7f3a", Role.CARE_BROKER, ("QNQ", "E10000014"), "broker-app")
BUDGET = uuid.UUID(int=0xB0D6E7)
NHS_NUMBER = "9434765919"


def test_a_payment_names_its_budget_and_the_caller() -> None:
    request = pay.ReleasePaymentRequest(
        request_id=str(uuid.UUID(int=1)).upper(),
        budget_id=str(BUDGET),
        plan_line_id=str(uuid.UUID(int=2)),
        payee_id=str(uuid.UUID(int=3)),
    )
    with acting_as(BROKER):
        e = audit.entry("ReleasePayment", request)
    assert e == audit.AuditEntry(
        subject="u-7f3a",
        role="care_broker",
        organisations=("QNQ", "E10000014"),
        client_id="broker-app",
        method="ReleasePayment",
        request_id=str(uuid.UUID(int=1)),  # the canonical spelling
        resource=f"budgets/{BUDGET}",
        outcome="OK",
        reason="",
    )


def test_a_create_names_what_it_made_and_an_allocation_its_year() -> None:
    person = ent.Person(person_id=str(uuid.UUID(int=9)))
    assert audit.resource_name(ent.RegisterPersonRequest(), person) == f"people/{person.person_id}"
    year = alloc.SetCommissionerAllocationRequest(commissioner_ods_code="QNQ", financial_year=2027)
    assert audit.resource_name(year) == "commissioners/QNQ/years/2027"
    assert audit.resource_name(alloc.RegisterCouncilRequest(gss_code="E10000014")) == (
        "councils/E10000014"
    )


def test_no_personal_data_reaches_a_record() -> None:
    """A caller's NHS number, names and date of birth, in any field, never reach the trail."""
    request = ent.RegisterPersonRequest(
        request_id=NHS_NUMBER,  # a malformed id is not copied
        nhs_number=NHS_NUMBER,
        given_name="Ada",
        family_name="Lovelace",
        date_of_birth="1960-05-17",
        commissioner_ods_code="QNQ",
    )
    mistaken = ent.UpdatePersonDetailsRequest(request_id=str(uuid.uuid4()), person_id=NHS_NUMBER)
    careless = Actor(f"nhs-{NHS_NUMBER}", Role.CARE_MANAGER, ("QNQ", "Ada Lovelace"), NHS_NUMBER)
    for record in (
        audit.entry("RegisterPerson", request, actor=careless, outcome="INVALID_ARGUMENT"),
        audit.entry("UpdatePersonDetails", mistaken, actor=careless, reason="Ada Lovelace"),
    ):
        text = " ".join(str(v) for v in dataclasses.astuple(record))
        for personal in (NHS_NUMBER, "Ada", "Lovelace", "1960-05-17", "1960"):
            assert personal not in text, (personal, record)
    assert audit.resource_name(mistaken) == "-"


def test_only_calls_with_a_request_id_are_mutating() -> None:
    assert audit.is_mutating(pay.ReleasePaymentRequest())
    assert not audit.is_mutating(pay.GetPaymentRequest())
    assert not audit.is_mutating(object())  # bytes that did not decode (found by the edge fuzz)


# -- the chain ------------------------------------------------------------------------------------

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def chain(n: int) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    prev = audit.GENESIS_HASH
    for seq in range(1, n + 1):
        draft = AuditRecord(
            seq, T0 + timedelta(microseconds=seq), "u-1", "care_broker", ("QNQ",), "", "M",
            str(uuid.UUID(int=seq)), "budgets/x", "OK", "", prev, b"",
        )  # fmt: skip
        h = record_hash(prev, seq, draft.content())
        records.append(dataclasses.replace(draft, hash=h))
        prev = h
    return records


def head_of(records: list[AuditRecord]) -> ChainHead:
    return ChainHead(records[-1].seq, records[-1].hash)


def test_a_whole_chain_has_no_problem() -> None:
    records = chain(5)
    assert chain_problems("payment", records, head_of(records), head_of(records[:3])) == []
    assert chain_problems("payment", [], ChainHead(0, audit.GENESIS_HASH)) == []


def test_a_changed_record_is_found_at_its_position() -> None:
    records = chain(5)
    records[2] = dataclasses.replace(records[2], outcome="FAILED_PRECONDITION")
    assert chain_problems("payment", records, head_of(records)) == [
        "audit payment: record 3 changed (its hash does not match)"
    ]


def test_a_changed_and_rehashed_record_breaks_the_next_link() -> None:
    records = chain(5)
    forged = dataclasses.replace(records[2], subject="someone-else")
    records[2] = dataclasses.replace(
        forged, hash=record_hash(forged.prev_hash, 3, forged.content())
    )
    assert chain_problems("payment", records, head_of(records)) == [
        "audit payment: record 4 does not follow record 3 (a record inserted or replaced before it)"
    ]


def test_a_deleted_record_is_missing_at_its_position() -> None:
    records = chain(5)
    del records[1]
    assert chain_problems("payment", records, head_of(records)) == [
        "audit payment: record 2 missing (deleted)"
    ]
    whole = chain(5)
    assert chain_problems("payment", whole[:-1], head_of(whole)) == [
        "audit payment: record 5 missing at the end (the head is at 5)"
    ]


def test_a_record_added_at_the_end_lies_beyond_the_head() -> None:
    records = chain(5)
    assert chain_problems("payment", records, head_of(records[:4])) == [
        "audit payment: record 5 beyond the chain head (inserted at the end)"
    ]


def test_a_rehashed_chain_differs_from_its_anchor() -> None:
    records = chain(5)
    anchor = head_of(records[:4])
    rewritten = chain(5)
    rewritten[0] = dataclasses.replace(rewritten[0], subject="someone-else")
    prev = audit.GENESIS_HASH
    for i, r in enumerate(rewritten):  # a superuser re-hashes everything after the change
        moved = dataclasses.replace(r, prev_hash=prev)
        rewritten[i] = dataclasses.replace(moved, hash=record_hash(prev, r.seq, moved.content()))
        prev = rewritten[i].hash
    assert chain_problems("payment", rewritten, head_of(rewritten)) == []
    assert chain_problems("payment", rewritten, head_of(rewritten), anchor) == [
        "audit payment: record 4 differs from its anchor (the chain was rewritten at or before it)"
    ]
    assert chain_problems("payment", records[:2], head_of(records[:2]), anchor) == [
        "audit payment: the anchored record 4 is gone (the trail was cut back)"
    ]


@pytest.mark.parametrize("us", [0, 1, 999_999, 1_764_417_600_123_456])
def test_epoch_microseconds_are_exact(us: int) -> None:
    assert audit.epoch_us(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)) == us


@given(
    n=st.integers(1, 12),
    data=st.data(),
    kind=st.sampled_from(["change", "rehash", "delete", "truncate", "append"]),
)
def test_any_one_tampering_is_found_at_or_after_its_position(
    n: int, data: st.DataObject, kind: str
) -> None:
    """Whatever one record is touched and however, verify names a position, never earlier than
    the record touched (the head and, for a re-hash, the next link give it away)."""
    records = chain(n)
    head = head_of(records)
    k = data.draw(st.integers(0, n - 1))
    if kind == "change":
        records[k] = dataclasses.replace(records[k], reason="FORGED")
    elif kind == "rehash":
        forged = dataclasses.replace(records[k], subject="someone-else")
        records[k] = dataclasses.replace(
            forged, hash=record_hash(forged.prev_hash, forged.seq, forged.content())
        )
    elif kind == "delete":
        del records[k]
    elif kind == "truncate":
        records = records[:k]
    else:
        extra = chain(n + 1)[-1]
        records.append(extra)
    problems = chain_problems("t", records, head)
    assert problems, (kind, k)
    first = problems[0]
    positions = [int(p) for p in re.findall(r"\d+", first)]
    assert max(positions) >= k + 1, (kind, k, first)
