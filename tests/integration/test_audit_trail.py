"""The audit trail (issue 14, "The record of who did"; ADR 17) against real PostgreSQL and NATS:
every mutating call leaves one record (who, what, when, outcome), accepted ones with their
effect, refusals on their own; the trail is append-only in the database and its chain whole
under concurrent writers; no personal data reaches it."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import asyncpg
import grpc
import pytest

from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.entitlement.v1 import entitlement_service_pb2 as ent_api
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as ent_grpc
from onebudget.events.v1 import envelope_pb2
from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.service_layer.handlers import PaymentHandlers
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared import audit, audit_log, db
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.errors import FailedPrecondition
from onebudget.shared.idempotency import run_idempotent
from onebudget.shared.identity import Actor, Role, acting_as, current_actor, system_actor
from onebudget.shared.plumbing import plumbing_migrations
from onebudget.shared.roles import runtime_database_url
from onebudget.shared.runtime.issuer import role_for
from tests.conftest import FreshDatabase, StartService
from tests.integration.test_payment_support import funded_budget, outbox, payee, release, stub

BROKER = Actor("broker-7f3a", Role.CARE_BROKER, ("QNQ",), "broker-app")
NHS_NUMBER = "9434765919"


async def trail(conn: asyncpg.Connection | asyncpg.Pool, schema: str = "payment") -> list[Any]:
    return list(await conn.fetch(f"SELECT * FROM {schema}.audit_log ORDER BY seq"))


async def whole(conn: asyncpg.Connection, schema: str = "payment") -> list[str]:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        records = [r async for r in audit_log.records(conn, schema)]
        head = await audit_log.head(conn, schema)
    return audit.chain_problems(schema, records, head)


async def test_each_call_leaves_one_record_refusals_on_their_own(
    start_service: StartService,
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (1_000, 1_000, 0))
        provider = await payee(s)
        ask = release(b, provider, 500)
        paid = await s.ReleasePayment(ask)
        assert (await s.ReleasePayment(ask)) == paid  # a retry: the stored answer
        with pytest.raises(grpc.aio.AioRpcError) as short:
            await s.ReleasePayment(release(b, provider, 5_000))
        assert short.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await s.ReleasePayment(release(b, provider, 0))  # refused before any transaction
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        rows = await trail(conn)
        assert [(r["seq"], r["method"], r["outcome"], r["reason"]) for r in rows] == [
            (1, "RegisterPayee", "OK", ""),
            (2, "ReleasePayment", "OK", ""),
            (3, "ReleasePayment", "OK", "REPLAYED"),
            (4, "ReleasePayment", "FAILED_PRECONDITION", "INSUFFICIENT_FUNDS"),
            (5, "ReleasePayment", "INVALID_ARGUMENT", "INVALID_REQUEST"),
        ]
        assert rows[0]["resource"] == f"payees/{provider}"
        assert {r["resource"] for r in rows[1:]} == {f"budgets/{b.budget_id}"}
        assert rows[1]["request_id"] == ask.request_id == rows[2]["request_id"]
        # Each record names the caller its token proved (issue 14's edge), refusals included.
        roles = {
            r["method"]: role_for(f"/onebudget.payment.v1.PaymentService/{r['method']}")
            for r in rows
        }
        assert None not in roles.values()
        assert [(r["subject"], r["role"]) for r in rows] == [
            (f"test:{roles[r['method']]}", str(roles[r["method"]])) for r in rows
        ]
        assert await whole(conn) == []


async def test_a_batch_records_each_callers_actor_in_one_statement(
    start_service: StartService,
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    pool = host.runtime.pool
    channel, s = stub(host)
    handlers = PaymentHandlers(pool, PaymentSettings(), SYSTEM_CLOCK)
    other = Actor("broker-0c11", Role.CARE_BROKER, ("QNQ", "E10000014"))
    try:
        async with channel, pool.acquire() as conn:
            b = await funded_budget(conn, (1_000, 1_000, 0))
            provider = await payee(s)
            before = len(await trail(conn))

            async def pay(actor: Actor, amount: int) -> Any:
                with acting_as(actor):
                    return await handlers.release_payment(release(b, provider, amount))

            outcomes = await asyncio.gather(
                pay(BROKER, 100), pay(other, 200), pay(BROKER, 9_999), return_exceptions=True
            )
            assert isinstance(outcomes[2], FailedPrecondition)
            with acting_as(other):
                bulk = await handlers.release_payments(
                    api.ReleasePaymentsRequest(
                        request_id=str(uuid.uuid4()),
                        payments=[release(b, provider, 10), release(b, provider, 99_999)],
                    )
                )
            assert [r.WhichOneof("outcome") for r in bulk.results] == ["payment", "error"]
            rows = (await trail(conn))[before:]
            who = sorted((r["subject"], r["outcome"], tuple(r["organisations"])) for r in rows)
            assert who == [
                ("broker-0c11", "FAILED_PRECONDITION", ("QNQ", "E10000014")),
                ("broker-0c11", "OK", ("QNQ", "E10000014")),
                ("broker-0c11", "OK", ("QNQ", "E10000014")),
                ("broker-7f3a", "FAILED_PRECONDITION", ("QNQ",)),
                ("broker-7f3a", "OK", ("QNQ",)),
            ]
            # The bulk call's two items: one statement, so one instant.
            assert rows[-1]["at"] == rows[-2]["at"]
            assert await whole(conn) == []
            # Each payment's transfers and its event name the caller who asked for it.
            paid = {
                r["payment_id"]: r["request_id"]
                for r in await conn.fetch("SELECT payment_id, request_id FROM payment.payments")
            }
            by_request = {r["request_id"]: r["subject"] for r in rows}
            moved = await conn.fetch(
                "SELECT t.payment_ref, a.actor FROM ledger.transfers t"
                " LEFT JOIN ledger.transfer_actors a ON a.transfer_id = t.id"
                " WHERE t.payment_ref IS NOT NULL"
            )
            assert len(moved) == 3 * 2  # three payments, NHS and council parts
            for m in moved:
                subject = by_request[paid[uuid.UUID(m["payment_ref"])]]
                orgs = "QNQ" if subject == BROKER.subject else "QNQ,E10000014"
                assert m["actor"] == f"care_broker:{subject}@{orgs}"
            for row in (await outbox(conn))[-3:]:
                envelope = envelope_pb2.EventEnvelope.FromString(row["envelope"])
                assert envelope.actor.role == "care_broker"
                assert by_request[envelope.request_id] == envelope.actor.subject
    finally:
        await handlers.batcher.stop()


async def test_a_refused_effect_leaves_its_refusal_and_nothing_else(
    fresh_database: FreshDatabase,
) -> None:
    # A database of its own: its payment schema has the plumbing only (and so the grants of
    # payment's own role, ADR 16), none of the service's tables.
    url = await fresh_database()
    pool = await db.create_pool(url, max_size=12)
    try:
        await db.apply_migration_list(pool, "plumbing", plumbing_migrations("payment"))
        request = api.CancelPaymentRequest(
            request_id=str(uuid.uuid4()), payment_id=str(uuid.UUID(int=5))
        )

        async def refuse(conn: asyncpg.Connection) -> api.Payment:
            await conn.execute("CREATE TABLE payment.effect (x int)")  # an effect, then a refusal
            raise FailedPrecondition(reason="NOT_NOW", message="no")

        with acting_as(BROKER), pytest.raises(FailedPrecondition):
            await run_idempotent(pool, "payment", "CancelPayment", request, api.Payment, refuse)
        assert await trail(pool, "payment") == []  # rolled back with the effect
        assert await pool.fetchval("SELECT to_regclass('payment.effect')") is None

        async def accept(conn: asyncpg.Connection) -> api.Payment:
            return api.Payment(payment_id=request.payment_id)

        # Concurrent writers: the head's lock orders them; the chain stays whole.
        async def one(i: int) -> None:
            ask = api.CancelPaymentRequest(
                request_id=str(uuid.uuid4()), payment_id=str(uuid.UUID(int=i))
            )
            with acting_as(BROKER):
                await run_idempotent(pool, "payment", "CancelPayment", ask, api.Payment, accept)

        await asyncio.gather(*(one(i) for i in range(40)))
        rows = await trail(pool, "payment")
        assert [r["seq"] for r in rows] == list(range(1, 41))
        assert {r["subject"] for r in rows} == {"broker-7f3a"}
        async with pool.acquire() as conn:
            assert await whole(conn, "payment") == []
    finally:
        await pool.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE payment.audit_log SET outcome = 'OK'",
        "DELETE FROM payment.audit_log",
        "TRUNCATE payment.audit_log",
        "INSERT INTO payment.audit_head VALUES (2, 0, '')",
        "DELETE FROM payment.audit_head",
        "ALTER TABLE payment.audit_log DISABLE TRIGGER USER",
    ],
)
async def test_the_service_role_can_only_append(
    start_service: StartService, statement: str
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel:
        await payee(s)
    conn = await asyncpg.connect(runtime_database_url(host.config.database_url, "payment"))
    try:
        before = await trail(conn)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
        assert await trail(conn) == before
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE payment.audit_log SET subject = 'someone-else'",
        "DELETE FROM payment.audit_log",
        "TRUNCATE payment.audit_log",
        "UPDATE payment.audit_head SET last_seq = 0",
    ],
)
async def test_even_the_owner_cannot_change_a_record_while_the_triggers_are_on(
    start_service: StartService, statement: str
) -> None:
    host = await start_service(SPEC)
    channel, s = stub(host)
    async with channel:
        await payee(s)
    conn = await asyncpg.connect(host.config.database_url)  # the migrating superuser
    try:
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="append-only"):
            await conn.execute(statement)
        assert len(await trail(conn)) == 1
    finally:
        await conn.close()


async def test_no_nhs_number_name_or_birth_date_reaches_the_trail(
    start_service: StartService,
) -> None:
    host = await start_service(ENTITLEMENT)
    person: dict[str, Any] = {
        "nhs_number": NHS_NUMBER,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "date_of_birth": "1960-05-17",
        "commissioner_ods_code": "QNQ",
        "council_gss_code": "E10000014",
    }
    async with open_aio_channel(host.address) as channel:
        s = ent_grpc.EntitlementServiceStub(channel)  # type: ignore[no-untyped-call]
        made = await s.RegisterPerson(
            ent_api.RegisterPersonRequest(request_id=str(uuid.uuid4()), **person)
        )
        with pytest.raises(grpc.aio.AioRpcError):  # the same NHS number again: refused
            await s.RegisterPerson(
                ent_api.RegisterPersonRequest(request_id=str(uuid.uuid4()), **person)
            )
        with pytest.raises(grpc.aio.AioRpcError):  # malformed: personal data where ids go
            await s.RegisterPerson(
                ent_api.RegisterPersonRequest(
                    request_id=NHS_NUMBER, **{**person, "nhs_number": "Ada"}
                )
            )
        with pytest.raises(grpc.aio.AioRpcError):
            await s.UpdatePersonDetails(
                ent_api.UpdatePersonDetailsRequest(
                    request_id=str(uuid.uuid4()), person_id=NHS_NUMBER
                )
            )
    assert host.runtime is not None
    rows = await trail(host.runtime.pool, "entitlement")
    assert [r["outcome"] for r in rows] == [
        "OK",
        "ALREADY_EXISTS",
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
    ]
    assert rows[0]["resource"] == f"people/{made.person_id}"
    text = " ".join(str(value) for r in rows for value in dict(r).values())
    for personal in (NHS_NUMBER, "Ada", "Lovelace", "1960-05-17"):
        assert personal not in text


async def test_background_work_acts_as_the_service(start_service: StartService) -> None:
    """A transfer made outside any call names the actor in progress; a service's background
    tasks (relay, consumers, scheduler) run as `system:<service>`."""
    seen: list[Actor] = []

    async def probe() -> None:
        seen.append(current_actor())
        await asyncio.Event().wait()

    spec = dataclasses.replace(SPEC, background=lambda rt: [*SPEC.background(rt), probe])
    host = await start_service(spec)
    assert host.runtime is not None
    async with host.runtime.pool.acquire() as conn:
        with acting_as(BROKER):
            await funded_budget(conn, (1_000, 0, 0))
        actors = {r["actor"] for r in await conn.fetch("SELECT actor FROM ledger.transfer_actors")}
    assert actors == {"care_broker:broker-7f3a@QNQ"}
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.05)
    assert seen == [system_actor("payment")]


async def test_a_batch_append_hashes_what_audit_content_and_verify_say(
    fresh_database: FreshDatabase,
) -> None:
    """Issue 17: `audit_append` builds each record's content in its own statement (plumbing
    migration 0190) instead of calling `audit_content` per record. The bytes must stay those
    of the reference function and of shared/audit.content (what `audit verify` recomputes):
    no, one and several organisations, empty fields, non-ASCII text, in one batch and two."""
    url = await fresh_database()
    pool = await db.create_pool(url, max_size=2)
    try:
        await db.apply_migration_list(pool, "plumbing", plumbing_migrations("payment"))
        entries = [
            audit.AuditEntry("s", "care_broker", (), "", "ReleasePayment", "", "budgets/1"),
            audit.AuditEntry("b-1", "nhs_commissioner", ("QNQ",), "app", "M", "r", "x", "OK"),
            audit.AuditEntry(
                "é€x", "auditor", ("QNQ", "E10000015", "Z"), "c", "N", "q", "ü", "NOT_FOUND", "R_1"
            ),
        ]
        async with pool.acquire() as conn:
            for batch in (entries, entries[::-1] * 3):
                async with conn.transaction():
                    await audit_log.append(conn, "payment", batch)
            rows = await trail(conn)
            assert len(rows) == 12
            assert await whole(conn) == []  # the Python side (audit verify) agrees
            # ... and so does the reference definition, record by record.
            reference = await conn.fetch(
                "SELECT seq, sha256(prev_hash || int8send(seq) || sha256(payment.audit_content("
                " at, subject, role, organisations, client_id, method, request_id, resource,"
                " outcome, reason))) = hash AS same FROM payment.audit_log ORDER BY seq"
            )
            assert [r["same"] for r in reference] == [True] * 12
            assert [tuple(r["organisations"]) for r in rows[:3]] == [
                e.organisations for e in entries
            ]
    finally:
        await pool.close()
