"""The edge interceptor: typed errors become google.rpc.Status; anything else is INTERNAL with no
traceback; every RPC leaves one log line with method, status, duration and request_id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf import wrappers_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from structlog.testing import capture_logs

from onebudget.shared.errors import FailedPrecondition, FieldViolation, InvalidArgument
from onebudget.shared.grpc_edge import INTERNAL_MESSAGE, EdgeInterceptor, EdgeServicer, Guard
from onebudget.shared.identity import Actor, Role

SERVICE = "onebudget.test.v1.Probe"


class _AdmitAll(Guard):
    """The probe's methods are in no permission table: this edge admits every caller, so the
    tests here see only the error mapping (tests/integration/test_hostile_callers.py tests the
    real guard)."""

    def __init__(self) -> None:
        pass

    async def authenticate(self, context: Any) -> Actor:
        return Actor("probe-caller", Role.AUDITOR)

    def authorise(self, actor: Actor, method: str) -> None:
        pass  # every probe caller may call every probe method


async def _invalid(_request: Any, _context: Any) -> wrappers_pb2.StringValue:
    raise InvalidArgument(
        reason="INVALID_REQUEST",
        message="the request has invalid fields",
        violations=(FieldViolation("nhs_number", "check digit is wrong"),),
    )


async def _precondition(_request: Any, _context: Any) -> wrappers_pb2.StringValue:
    raise FailedPrecondition(
        reason="RING_FENCE_EXHAUSTED", message="not enough", metadata={"shortfall_pence": "12"}
    )


async def _crash(_request: Any, _context: Any) -> wrappers_pb2.StringValue:
    secret = "9434765919"
    raise RuntimeError(f"bug while handling {secret}")


async def _echo(request: wrappers_pb2.StringValue, _context: Any) -> wrappers_pb2.StringValue:
    return wrappers_pb2.StringValue(value=request.value)


def _handler(fn: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        fn,
        request_deserializer=wrappers_pb2.StringValue.FromString,
        response_serializer=wrappers_pb2.StringValue.SerializeToString,
    )


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server(interceptors=[EdgeInterceptor("probe", _AdmitAll())])
    handlers = {
        "Invalid": _handler(_invalid),
        "Precondition": _handler(_precondition),
        "Crash": _handler(_crash),
        "Echo": _handler(_echo),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as chan:
        yield chan
    await server.stop(0)


async def _call(channel: grpc.aio.Channel, method: str, value: str = "x") -> Any:
    call = channel.unary_unary(
        f"/{SERVICE}/{method}",
        request_serializer=wrappers_pb2.StringValue.SerializeToString,
        response_deserializer=wrappers_pb2.StringValue.FromString,
    )
    return await call(wrappers_pb2.StringValue(value=value), metadata=(("x-request-id", "r-1"),))


def _details(error: grpc.aio.AioRpcError) -> dict[str, Any]:
    status = rpc_status.from_call(error)
    assert status is not None
    found: dict[str, Any] = {}
    for detail in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                found[kind.DESCRIPTOR.name] = message
    return found


async def test_invalid_argument_carries_reason_and_field_violations(
    channel: grpc.aio.Channel,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(channel, "Invalid")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = _details(caught.value)
    assert details["ErrorInfo"].reason == "INVALID_REQUEST"
    assert details["ErrorInfo"].domain == "probe.onebudget"
    violation = details["BadRequest"].field_violations[0]
    assert (violation.field, violation.description) == ("nhs_number", "check digit is wrong")


async def test_failed_precondition_carries_metadata(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(channel, "Precondition")
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = _details(caught.value)["ErrorInfo"]
    assert info.reason == "RING_FENCE_EXHAUSTED"
    assert dict(info.metadata) == {"shortfall_pence": "12"}


async def test_unexpected_exception_is_internal_without_traceback(
    channel: grpc.aio.Channel,
) -> None:
    with capture_logs() as logs, pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(channel, "Crash")
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == INTERNAL_MESSAGE
    assert "Traceback" not in str(caught.value.debug_error_string())
    assert "9434765919" not in str(caught.value.details())
    assert any(e["event"] == "rpc_failed" for e in logs)


async def test_one_log_line_per_rpc_with_request_id(channel: grpc.aio.Channel) -> None:
    with capture_logs() as logs:
        assert (await _call(channel, "Echo", "hello")).value == "hello"
        with pytest.raises(grpc.aio.AioRpcError):
            await _call(channel, "Invalid")
    lines = [e for e in logs if e["event"] == "rpc"]
    assert [(e["method"], e["status"]) for e in lines] == [
        (f"/{SERVICE}/Echo", "OK"),
        (f"/{SERVICE}/Invalid", "INVALID_ARGUMENT"),
    ]
    for line in lines:
        assert line["request_id"] == "r-1"
        assert line["duration_ms"] >= 0


class _Health(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    """A servicer of a real generated service (grpc.health.v1.Health): Check is unary-unary,
    Watch server-streaming."""

    marker = "kept"

    async def Check(self, _request: Any, _context: Any) -> Any:
        raise FailedPrecondition(reason="NOT_READY", message="not yet")

    async def Watch(self, _request: Any, _context: Any) -> AsyncIterator[Any]:
        yield health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


async def test_edge_servicer_wraps_unary_methods_only() -> None:
    inner = _Health()
    edged = EdgeServicer(inner, "grpc.health.v1.Health", "probe", _AdmitAll())
    assert edged.Watch != inner.Watch  # streaming: admitted by the guard, no error mapping
    assert edged.marker == "kept"  # anything else: the servicer's own
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(edged, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as chan:
            stub = health_pb2_grpc.HealthStub(chan)
            with capture_logs() as logs, pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Check(health_pb2.HealthCheckRequest())
            replies = [r async for r in stub.Watch(health_pb2.HealthCheckRequest())]
    finally:
        await server.stop(0)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert _details(caught.value)["ErrorInfo"].reason == "NOT_READY"
    assert [(e["method"], e["status"]) for e in logs if e["event"] == "rpc"] == [
        ("/grpc.health.v1.Health/Check", "FAILED_PRECONDITION")
    ]
    assert len(replies) == 1
