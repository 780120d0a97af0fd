"""No NHS number and no date of birth in clear in JetStream (issue 14): entitlement's events carry
the person's id and the date of birth sealed for reporting, which still counts a child or an
adult by it."""

from __future__ import annotations

import asyncio
import uuid

import nats
from google.protobuf import field_mask_pb2

from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as api_grpc
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.shared import bus
from onebudget.shared.channels import open_aio_channel
from tests.conftest import StartService
from tests.integration.test_entitlement_support import new_nhs_number

PEOPLE = [("1958-02-03", "1958-02-13"), ("2009-07-21", None), ("1987-12-30", None)]


def _spellings(day: str) -> list[bytes]:
    y, m, d = day.split("-")
    return [s.encode() for s in (day, f"{y}{m}{d}", f"{d}/{m}/{y}", f"{d}{m}{y}")]


async def _stream_bytes(nats_url: str, person_ids: set[str]) -> list[bytes]:
    """Every message JetStream stored about these people (their subjects' whole history)."""
    nc = await nats.connect(nats_url, **bus.auth_options())
    found: list[bytes] = []
    try:
        js = nc.jetstream()
        info = await js.stream_info("ENTITLEMENT")
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg("ENTITLEMENT", seq)
            except nats.js.errors.NotFoundError:
                continue
            data = msg.data or b""
            if any(p.encode() in data for p in person_ids):
                found.append(data)
    finally:
        await nc.close()
    return found


async def test_no_nhs_number_or_birth_date_is_stored_in_the_stream(
    start_service: StartService, nats_url: str
) -> None:
    entitlement = await start_service(ENTITLEMENT)
    reporting = await start_service(REPORTING)
    people: dict[str, tuple[str, str, str]] = {}  # person_id -> (nhs, born, born at the end)
    async with open_aio_channel(entitlement.address) as channel:
        stub = api_grpc.EntitlementServiceStub(channel)  # type: ignore[no-untyped-call]
        for born, corrected in PEOPLE:
            nhs = new_nhs_number()
            person = await stub.RegisterPerson(
                api.RegisterPersonRequest(
                    request_id=str(uuid.uuid4()),
                    nhs_number=nhs,
                    given_name="Grace",
                    family_name="Hopper",
                    date_of_birth=born,
                    commissioner_ods_code="QNQ",
                    council_gss_code="E10000014",
                )
            )
            if corrected:
                await stub.UpdatePersonDetails(
                    api.UpdatePersonDetailsRequest(
                        request_id=str(uuid.uuid4()),
                        person_id=person.person_id,
                        person=api.Person(date_of_birth=corrected),
                        update_mask=field_mask_pb2.FieldMask(paths=["date_of_birth"]),
                        reason="typed wrongly",
                    )
                )
            people[person.person_id] = (nhs, born, corrected or born)

    # Reporting opened the sealed dates: it holds each person's date of birth, corrected ones too.
    assert reporting.runtime is not None
    pool = reporting.runtime.pool
    async with asyncio.timeout(30):
        while True:
            rows = await pool.fetch(
                "SELECT person_id::text, date_of_birth::text FROM reporting.people"
                " WHERE person_id = ANY($1::uuid[])",
                list(people),
            )
            held = {r["person_id"]: r["date_of_birth"] for r in rows}
            if held == {p: v[2] for p, v in people.items()}:
                break
            await asyncio.sleep(0.1)

    stored = await _stream_bytes(nats_url, set(people))
    assert len(stored) == len(PEOPLE) + 1  # three registrations, one correction
    for nhs, born, corrected in people.values():
        for message in stored:
            assert nhs.encode() not in message
            for spelling in _spellings(born) + _spellings(corrected):
                assert spelling not in message
