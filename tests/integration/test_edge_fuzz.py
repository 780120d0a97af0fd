"""Every RPC of every service, fuzzed from the proto descriptors against the four running
services (issue 15: "input that the edge lets through"): garbage bytes, and messages with
arbitrary strings (control characters included), out-of-range numbers and unknown enum values.

Whatever comes in, the answer is OK or a well-formed refusal: never INTERNAL or UNKNOWN, an
error trailer far below gRPC's 16 KB limit, and a refused request leaves no trace (no stored
answer and no event for its request_id). `scripts/fuzz` is the long run of the same test
(HYPOTHESIS_PROFILE=deep)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.shared import db
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.grpc_edge import STATUS_DETAILS_KEY
from onebudget.shared.server import ServiceHost
from tests.conftest import StartService

SERVICES = {
    "entitlement": ("onebudget.entitlement.v1.EntitlementService", ENTITLEMENT),
    "allocation": ("onebudget.allocation.v1.AllocationService", ALLOCATION),
    "payment": ("onebudget.payment.v1.PaymentService", PAYMENT),
    "reporting": ("onebudget.reporting.v1.ReportingService", REPORTING),
}
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNIMPLEMENTED}
TRAILER_BYTES_MAX = 16 * 1024
CALL_TIMEOUT_S = 30.0
INT64 = (-(2**63), 2**63 - 1)
PLAUSIBLE = [
    "QNQ",
    "E06000036",
    "9434765918",
    "2026-11-29",
    "2026-W48-3",
    "0001-01-01",
    "personal_care",
    "urgent_care",
    "",
]


def _strings() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=30),
        st.sampled_from(PLAUSIBLE),
        st.uuids().map(str),
        st.uuids().map(lambda u: str(u).upper()),
        st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=5),
        st.just("poison\x00"),
        st.just("x" * 20_000),
    )


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _strings()
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        assert enum is not None
        known = [v.number for v in enum.values]
        return st.one_of(st.sampled_from(known), st.integers(-3, 200))
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=20)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=False, width=32)
    low, high = _BOUNDS.get(kind, INT64)
    return st.one_of(st.integers(low, high), st.integers(max(low, -5), 1_000_000))


_BOUNDS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of `descriptor` with any subset of fields set to anything the type allows."""
    cls = message_factory.GetMessageClass(descriptor)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            sub = field.message_type
            assert sub is not None
            if depth >= 2 or sub.full_name.startswith("google.protobuf."):
                continue
            one = messages(sub, depth + 1)
        else:
            one = _scalar(field)
        fields[field.name] = st.lists(one, max_size=3) if field.is_repeated else one

    def build(values: dict[str, Any]) -> Message:
        made = cls()
        for name, value in values.items():
            field = descriptor.fields_by_name[name]
            target = getattr(made, name) if field.is_repeated else None
            if field.is_repeated and field.type == FieldDescriptor.TYPE_MESSAGE:
                for item in value:
                    target.add().CopyFrom(item)  # type: ignore[union-attr]
            elif field.is_repeated:
                target.extend(value)  # type: ignore[union-attr]
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(made, name).CopyFrom(value)
            else:
                setattr(made, name, value)
        return made

    return st.fixed_dictionaries({}, optional=fields).map(build)


def _unary_methods() -> list[tuple[str, str, Descriptor]]:
    pool = descriptor_pool.Default()
    found: list[tuple[str, str, Descriptor]] = []
    for schema, (full_name, _spec) in SERVICES.items():
        service: ServiceDescriptor = pool.FindServiceByName(full_name)
        for method in service.methods:
            if not (method.client_streaming or method.server_streaming):
                found.append((schema, f"/{full_name}/{method.name}", method.input_type))
    return found


METHODS = _unary_methods()


@pytest.fixture
async def four(start_service: StartService) -> AsyncIterator[dict[str, Any]]:
    hosts: dict[str, ServiceHost] = {}
    for schema, (_name, spec) in SERVICES.items():
        hosts[schema] = await start_service(spec)
    channels = {s: open_aio_channel(h.address) for s, h in hosts.items()}
    # Every schema is looked at, so as the migrating role: a service's own role may read only
    # its own schema (ADR 16).
    pool = await db.create_pool(hosts["payment"].config.database_url, max_size=2)
    yield {"channels": channels, "pool": pool}
    await pool.close()
    for channel in channels.values():
        await channel.close()


async def _left_a_trace(pool: asyncpg.Pool, schema: str, request_id: str) -> bool:
    try:
        uuid.UUID(request_id)
    except ValueError:
        return False  # not an id any service stores (and not text PostgreSQL would take)
    stored = await pool.fetchval(
        f"SELECT count(*) FROM {schema}.idempotency WHERE request_id = $1", request_id
    )
    events = await pool.fetchval(
        f"SELECT count(*) FROM {schema}.outbox"
        " WHERE position(convert_to($1, 'UTF8') in envelope) > 0",
        request_id,
    )
    return bool(stored or events)


def _trailer(error: grpc.aio.AioRpcError) -> bytes:
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY:
            return bytes(value)
    return b""


async def _call(four: dict[str, Any], schema: str, path: str, body: bytes, request_id: str) -> None:
    channel: grpc.aio.Channel = four["channels"][schema]
    call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    try:
        await call(body, timeout=CALL_TIMEOUT_S)
    except grpc.aio.AioRpcError as error:
        failure: grpc.aio.AioRpcError | None = error
    else:
        failure = None
    if failure is None:
        return
    assert failure.code() not in NEVER, (path, failure.code(), failure.details())
    trailer = _trailer(failure)
    assert len(trailer) < TRAILER_BYTES_MAX, (path, len(trailer))
    if trailer:
        assert status_pb2.Status.FromString(trailer).code == failure.code().value[0]
    if failure.code() == grpc.StatusCode.INVALID_ARGUMENT:
        assert not await _left_a_trace(four["pool"], schema, request_id), path


@settings(suppress_health_check=list(HealthCheck), deadline=None)  # examples: the profile
@given(data=st.data())
async def test_no_input_gets_internal_or_leaves_a_trace_on_refusal(
    four: dict[str, Any], data: st.DataObject
) -> None:
    for schema, path, descriptor in METHODS:
        message = data.draw(messages(descriptor), label=path)
        has_id = "request_id" in descriptor.fields_by_name
        request_id = str(getattr(message, "request_id")) if has_id else ""  # noqa: B009
        await _call(four, schema, path, message.SerializeToString(), request_id)
        garbage = data.draw(st.binary(min_size=1, max_size=64), label=f"{path} bytes")
        await _call(four, schema, path, garbage, "")


async def test_the_reported_inputs_are_invalid_arguments(four: dict[str, Any]) -> None:
    """The campaign's own inputs: an unknown enum number, a NUL byte in a string beside valid
    calls, undecodable bytes, and 1,000 bad ids in one request (a 45 KB trailer before)."""
    from onebudget.allocation.v1 import allocation_service_pb2 as al
    from onebudget.payment.v1 import payment_service_pb2 as api

    channel: grpc.aio.Channel = four["channels"]["payment"]
    path = "/onebudget.payment.v1.PaymentService/"
    unknown_kind: Any = 99
    cases = [
        (
            "RegisterPayee",
            api.RegisterPayeeRequest(request_id=str(uuid.uuid4()), kind=unknown_kind, name="A"),
        ),
        (
            "ReleasePayment",
            api.ReleasePaymentRequest(
                request_id=str(uuid.uuid4()),
                budget_id=str(uuid.uuid4()),
                plan_line_id=str(uuid.uuid4()),
                payee_id=str(uuid.uuid4()),
                amount_pence=100,
                broker_reference="poison\x00",
            ),
        ),
    ]
    for method, request in cases:
        call = channel.unary_unary(
            path + method, request_serializer=None, response_deserializer=None
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(request.SerializeToString(), timeout=CALL_TIMEOUT_S)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, method
    # 1,000 bad ids: every one is a violation, but the answer lists 20 and says there are more.
    revise = four["channels"]["allocation"].unary_unary(
        "/onebudget.allocation.v1.AllocationService/ReviseBudget",
        request_serializer=None,
        response_deserializer=None,
    )
    thousand = al.ReviseBudgetRequest(
        request_id=str(uuid.uuid4()),
        budget_id=str(uuid.uuid4()),
        reasons=["needs changed"],
        notice_date="2026-11-29",
        remove_plan_line_ids=[f"not-an-id-{n}" for n in range(1_000)],
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await revise(thousand.SerializeToString(), timeout=CALL_TIMEOUT_S)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    trailer = _trailer(caught.value)
    assert 0 < len(trailer) < 4 * 1024
    details = status_pb2.Status.FromString(trailer).details
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in details)
    assert len(bad.field_violations) == 21
    assert bad.field_violations[-1].description == "more faults than these 20 not listed"
    call = channel.unary_unary(
        path + "ReleasePayment", request_serializer=None, response_deserializer=None
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(b"\xff\xff\xff\xff not a message", timeout=CALL_TIMEOUT_S)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Error" not in (caught.value.details() or "")  # no Python exception class named
