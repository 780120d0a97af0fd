"""The edge of every gRPC service: request context, error mapping, one log line, metrics and,
when tracing is on (shared/tracing.py), a server span per RPC.

Typed domain errors become `google.rpc.Status` with `ErrorInfo` (stable reason, domain
`<service>.onebudget`) and, for bad input, `BadRequest` field violations, sent in the
`grpc-status-details-bin` trailer that grpcio-status clients decode. Any other exception becomes
INTERNAL with a fixed message: the traceback goes to our log, never to the caller.

A refused mutating call is recorded in the service's audit trail before the caller learns of
it (shared/audit_log.AuditRecorder, ADR 17); accepted ones are recorded with their effect.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2, descriptor_pool, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from onebudget.shared import tracing
from onebudget.shared.audit import is_mutating
from onebudget.shared.audit_log import AuditRecorder
from onebudget.shared.auth import TokenVerifier, bearer_token
from onebudget.shared.edge_checks import bounded_violations, check_request, safe_deserializer
from onebudget.shared.errors import (
    Aborted,
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from onebudget.shared.identity import Actor, acting_as
from onebudget.shared.logging import get_logger
from onebudget.shared.metrics import observe_rpc
from onebudget.shared.permissions import check_permission
from onebudget.shared.transient import as_retryable

_log = get_logger("onebudget.rpc")

_CODES: list[tuple[type[DomainError], grpc.StatusCode]] = [
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (Aborted, grpc.StatusCode.ABORTED),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
]
# Methods that are plumbing, not business: no canonical log line, no wrapping.
_QUIET_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
STATUS_DETAILS_KEY = "grpc-status-details-bin"
INTERNAL_MESSAGE = "internal error; the service logged the details"
METADATA_LENGTH_MAX = 200  # per ErrorInfo key and value: details stay far below 16 KB


def status_code_for(error: DomainError) -> grpc.StatusCode:
    for error_type, code in _CODES:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION


def to_rpc_status(error: DomainError, domain: str) -> status_pb2.Status:
    """A `google.rpc.Status` for a domain error: ErrorInfo, BadRequest and RetryInfo details."""
    code = status_code_for(error)
    info = error_details_pb2.ErrorInfo(
        reason=error.reason,
        domain=domain,
        metadata={
            k[:METADATA_LENGTH_MAX]: v[:METADATA_LENGTH_MAX] for k, v in error.metadata.items()
        },
    )
    details = [_pack(info)]
    if isinstance(error, InvalidArgument) and error.violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in bounded_violations(list(error.violations))
            ]
        )
        details.append(_pack(bad))
    if isinstance(error, Aborted | Unavailable):
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(error.retry_after_ms)
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    return status_pb2.Status(code=code.value[0], message=error.message, details=details)


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _request_id(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> str:
    value = getattr(request, "request_id", "")
    if value:
        return str(value)
    for key, meta_value in context.invocation_metadata() or ():
        if key == "x-request-id":
            return str(meta_value)
    return ""


Handler = Callable[[Any, "grpc.aio.ServicerContext[Any, Any]"], Awaitable[Any]]


class Guard:
    """Who may pass the edge (issue 14): the caller's bearer token is verified for the
    service's audience (shared/auth.py), then its role checked against the permission table
    (shared/permissions.py). Raises Unauthenticated / PermissionDenied; returns the Actor."""

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier

    async def authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> Actor:
        """The caller its token proves (Unauthenticated if none is proven)."""
        return await self.verifier.verify(bearer_token(context.invocation_metadata()))

    def authorise(self, actor: Actor, method: str) -> None:
        """Whether the proven `actor` may call `method` (PermissionDenied if not)."""
        check_permission(actor, method)

    async def admit(self, method: str, context: grpc.aio.ServicerContext[Any, Any]) -> Actor:
        actor = await self.authenticate(context)
        self.authorise(actor, method)
        return actor


def _wrap(
    method: str,
    service: str,
    inner: Handler,
    guard: Guard,
    recorder: AuditRecorder | None = None,
) -> Handler:
    domain = f"{service}.onebudget"
    short_name = method.rsplit("/", 1)[-1]

    async def handle(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        started = time.perf_counter()
        outcome = "OK"
        fields: dict[str, Any] = {}
        logged = False
        caller: Actor | None = None  # proven by the guard; None while unproven

        def log_line() -> None:
            # The canonical line is written before the caller learns the outcome (an abort
            # answers the caller at once), so a log reader never sees an answer without it.
            nonlocal logged
            logged = True
            duration_s = time.perf_counter() - started
            _log.info(
                "rpc",
                method=method,
                status=outcome,
                duration_ms=round(duration_s * 1000, 3),
                request_id=_request_id(request, context),
                **fields,
            )
            observe_rpc(service, method, outcome, duration_s)
            tracing.note_rpc_outcome(outcome)

        try:
            try:
                # Who is calling first: an unproven caller learns nothing about its request.
                actor = caller = await guard.authenticate(context)
                guard.authorise(actor, method)  # a refusal's record names the proven caller
                fields["subject"] = actor.subject
                fields["role"] = actor.role.value
                check_request(request)  # decoded, no control characters, known enum values
                with acting_as(actor):
                    return await inner(request, context)
            except (DomainError, grpc.aio.AbortError):
                raise
            except Exception as failure:
                # A lost database or bus connection, or a transaction PostgreSQL aborted, is
                # worth a retry (UNAVAILABLE / ABORTED); anything else is our bug (INTERNAL).
                retryable = as_retryable(failure)
                if retryable is None:
                    raise
                _log.warning("rpc_transient_failure", method=method, error=repr(failure))
                raise retryable from failure
        except DomainError as error:
            status = to_rpc_status(error, domain)
            outcome = status_code_for(error).name
            fields["reason"] = error.reason
            if recorder is not None and is_mutating(request):
                await recorder.refused(
                    short_name, request, error, status_code_for(error), actor=caller
                )
            log_line()
            await context.abort(
                status_code_for(error),
                error.message,
                trailing_metadata=((STATUS_DETAILS_KEY, status.SerializeToString()),),
            )
        except grpc.aio.AbortError:
            outcome = "ABORTED_BY_HANDLER"
            raise
        except Exception:
            outcome = "INTERNAL"
            _log.exception("rpc_failed", method=method, request_id=_request_id(request, context))
            log_line()
            await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
        finally:
            if not logged:
                log_line()

    tracer = tracing.TRACER
    if tracer is None:
        return handle  # off when the server is built: not one instruction more per call (ADR 20)

    async def traced(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        with tracing.server_span(tracer, service, method, context.invocation_metadata()):
            return await handle(request, context)

    return traced


class EdgeServicer:
    """A servicer whose unary-unary methods are wrapped with the edge (error mapping and the
    canonical log line) once, when the server is built. Same behaviour as `EdgeInterceptor`,
    without grpc.aio's interceptor chain (a coroutine and a lookup) on every call."""

    def __init__(
        self,
        servicer: Any,
        service_name: str,
        service: str,
        guard: Guard,
        recorder: AuditRecorder | None = None,
    ) -> None:
        """`guard`: who may call (issue 14); `recorder`: where refusals of mutating calls are
        recorded (the audit trail)."""
        self._servicer = servicer
        descriptor = descriptor_pool.Default().FindServiceByName(service_name)
        for m in descriptor.methods:
            inner = getattr(servicer, m.name)
            method = f"/{service_name}/{m.name}"
            if not (m.client_streaming or m.server_streaming):
                inner = _wrap(method, service, inner, guard, recorder)
            else:
                inner = _guard_stream(method, inner, guard)
            setattr(self, m.name, inner)

    def __getattr__(self, name: str) -> Any:  # anything else the servicer has
        return getattr(self._servicer, name)


def _guard_stream(method: str, inner: Any, guard: Guard) -> Any:
    """A streaming method (none today) is admitted like a unary one before it runs."""

    async def handle(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            actor = await guard.admit(method, context)
        except (Unauthenticated, PermissionDenied) as error:
            status = to_rpc_status(error, "onebudget")
            await context.abort(
                status_code_for(error),
                error.message,
                trailing_metadata=((STATUS_DETAILS_KEY, status.SerializeToString()),),
            )
        with acting_as(actor):
            async for reply in inner(request, context):
                yield reply

    return handle


class EdgeInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Wraps every unary-unary business method with error mapping and the canonical log line."""

    def __init__(self, service: str, guard: Guard) -> None:
        self._service = service
        self._guard = guard
        # Wrapped once per method, not once per call: the server's handler for a method is fixed.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or method.startswith(_QUIET_PREFIXES):
            return handler
        wrapped = grpc.unary_unary_rpc_method_handler(
            _wrap(method, self._service, handler.unary_unary, self._guard),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._wrapped[method] = wrapped
        return wrapped


class SafeDecodingServer:
    """Stands in for the server while a generated `add_*Servicer_to_server` registers a
    service: each method's request deserializer is wrapped (edge_checks.safe_deserializer) so
    bytes that are not the request message reach the edge, which refuses them as
    INVALID_ARGUMENT, instead of grpc answering INTERNAL. The generated code registers the same
    handlers twice (generic, then registered); both are passed on with the safe deserializers."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        for handler in handlers:
            # A DictionaryGenericHandler from grpc.method_handlers_generic_handler.
            methods = getattr(handler, "_method_handlers", None)
            service = getattr(handler, "_name", "")
            if methods is None:
                self._server.add_generic_rpc_handlers((handler,))
                continue
            safe = {path.rsplit("/", 1)[1]: _safe(h) for path, h in methods.items()}
            self._server.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(service, safe),)
            )

    def add_registered_method_handlers(self, service: str, handlers: Any) -> None:
        self._server.add_registered_method_handlers(
            service, {name: _safe(h) for name, h in handlers.items()}
        )


def _safe(handler: Any) -> Any:
    if handler.request_deserializer is None:
        return handler
    return handler._replace(request_deserializer=safe_deserializer(handler.request_deserializer))
