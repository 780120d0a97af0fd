"""OpenTelemetry traces across gRPC and NATS (issue 16; docs/adr/0020).

Off by default. On when an OTLP endpoint is configured (ONEBUDGET_OTEL_EXPORTER_OTLP_ENDPOINT,
or the standard OTEL_EXPORTER_OTLP_ENDPOINT: `configure`), or when a test hands its own
TracerProvider to `enable`. Then:

- the edge (shared/grpc_edge.py) opens a SERVER span per business RPC, continuing the caller's
  W3C `traceparent` (and `tracestate`) from the incoming gRPC metadata;
- every event written to an outbox (shared/outbox.new_event) carries the trace context of the
  span that caused it in its envelope (`traceparent`, `tracestate`), so it is stored with the
  outbox row and travels with the event through JetStream; a command handled in another task
  (payment's release batcher) takes the context it was submitted under (`current_trace`);
- a durable consumer (shared/consumer.py) applies each event inside a CONSUMER span whose
  parent is the envelope's context, so a payment is one trace from the broker's call to the
  reporting projection, and the events a consumer writes continue it;
- work no call started (payment's scheduler paying an instalment) opens a root span of its own
  (`internal_span`), so an instalment too is one trace from the scheduler to the projection.

Off, each hook is one test of a module global (`TRACER is None`): no span, no context, no
import of OpenTelemetry at all; an envelope's trace fields stay empty (no bytes on the wire).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

# None while tracing is off: the only thing the hot path looks at.
TRACER: Tracer | None = None
_PROVIDER: TracerProvider | None = None

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
NO_TRACE = ("", "")


def enable(provider: TracerProvider) -> None:
    """Trace with `provider` from now on (its processors decide where spans go)."""
    global TRACER, _PROVIDER
    TRACER = provider.get_tracer("onebudget")
    _PROVIDER = provider


def disable() -> None:
    """Stop tracing (spans already ended stay with the provider's processors)."""
    global TRACER, _PROVIDER
    TRACER = None
    _PROVIDER = None


def configure(service: str, otlp_endpoint: str) -> None:
    """A process's tracing from its configuration: nothing when `otlp_endpoint` is "" (the
    default); else an SDK provider that batches spans to that OTLP/HTTP collector, naming this
    process `onebudget-<service>`. The exporter package (opentelemetry-exporter-otlp-proto-http,
    the `otlp` extra) is imported only here, so it is needed only when configured."""
    if not otlp_endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    endpoint = otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):  # the base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is
        endpoint += "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": f"onebudget-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    enable(provider)


def shutdown() -> None:
    """Flush and stop the provider `configure` made (at the end of the process)."""
    provider = _PROVIDER
    disable()
    if provider is not None:
        provider.shutdown()


def current_trace() -> tuple[str, str]:
    """The W3C (traceparent, tracestate) of the span current in this task; ("", "") when
    tracing is off or no span is current."""
    if TRACER is None:
        return NO_TRACE
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get(TRACEPARENT, ""), carrier.get(TRACESTATE, "")


def _parent(traceparent: str, tracestate: str) -> Any:
    from opentelemetry.propagate import extract

    carrier = {TRACEPARENT: traceparent}
    if tracestate:
        carrier[TRACESTATE] = tracestate
    return extract(carrier) if traceparent else None


@contextlib.contextmanager
def server_span(
    tracer: Tracer, service: str, method: str, metadata: Sequence[tuple[str, Any]] | None
) -> Iterator[Span]:
    """A SERVER span for one RPC, a child of the caller's `traceparent` metadata if any."""
    from opentelemetry.trace import SpanKind

    found = {k: str(v) for k, v in metadata or () if k in (TRACEPARENT, TRACESTATE)}
    parent = _parent(found.get(TRACEPARENT, ""), found.get(TRACESTATE, ""))
    service_name, _, name = method.lstrip("/").partition("/")
    with tracer.start_as_current_span(
        method.lstrip("/"),
        context=parent,
        kind=SpanKind.SERVER,
        attributes={
            "rpc.system": "grpc",
            "rpc.service": service_name,
            "rpc.method": name,
            "onebudget.service": service,
        },
        record_exception=False,  # a refusal is an answer, not a crash: the status code says
        set_status_on_exception=False,
    ) as span:
        yield span


def note_rpc_outcome(code: str) -> None:
    """The RPC's gRPC status code on the current span (nothing when tracing is off)."""
    if TRACER is None:
        return
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    span = trace.get_current_span()
    span.set_attribute("rpc.grpc.status_code", code)
    if code in ("INTERNAL", "UNKNOWN"):
        span.set_status(Status(StatusCode.ERROR))


def internal_span(name: str, **attributes: str) -> contextlib.AbstractContextManager[Any]:
    """A root span for work no call started (a scheduler's instalment), so the events it writes
    start a trace of their own; nothing at all when tracing is off."""
    tracer = TRACER
    if tracer is None:
        return contextlib.nullcontext()
    from opentelemetry.context import Context
    from opentelemetry.trace import SpanKind

    return tracer.start_as_current_span(
        name, context=Context(), kind=SpanKind.INTERNAL, attributes=attributes
    )


@contextlib.contextmanager
def consumer_span(
    tracer: Tracer,
    service: str,
    consumer: str,
    event_type: str,
    event_id: str,
    trace: tuple[str, str],
) -> Iterator[Span]:
    """A CONSUMER span for applying one event, continuing the trace its envelope carries."""
    from opentelemetry.trace import SpanKind

    with tracer.start_as_current_span(
        f"{consumer} process {event_type.rsplit('.', 1)[-1]}",
        context=_parent(*trace),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation": "process",
            "messaging.consumer.group.name": consumer,
            "messaging.message.id": event_id,
            "onebudget.service": service,
            "onebudget.event_type": event_type,
        },
    ) as span:
        yield span
