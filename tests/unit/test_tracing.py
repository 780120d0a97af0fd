"""Tracing's switch (shared/tracing.py, ADR 20): off unless an OTLP endpoint is configured, and
then on with the exporter; the endpoint is read from either variable and checked as a URL."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar, cast

import pytest
from opentelemetry.sdk.trace import TracerProvider

from onebudget.events.v1 import envelope_pb2
from onebudget.shared import grpc_edge, tracing
from onebudget.shared.auth import TokenVerifier
from onebudget.shared.config import ConfigError, otlp_endpoint
from onebudget.shared.outbox import new_event


def test_off_by_default() -> None:
    assert otlp_endpoint({}) == ""
    tracing.configure("payment", "")
    assert tracing.TRACER is None
    assert tracing.current_trace() == ("", "")
    event = new_event(
        envelope_pb2.EventEnvelope(), source="payment", aggregate_type="x", aggregate_id="1"
    )
    assert (event.envelope.traceparent, event.envelope.tracestate) == ("", "")


def test_the_endpoint_from_either_variable_ours_first() -> None:
    ours, standard = "http://collector:4318", "http://other:4318"
    assert otlp_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": standard}) == standard
    both = {"ONEBUDGET_OTEL_EXPORTER_OTLP_ENDPOINT": ours, "OTEL_EXPORTER_OTLP_ENDPOINT": standard}
    assert otlp_endpoint(both) == ours


@pytest.mark.parametrize("bad", ["collector:4318", "ftp://collector", "http://"])
def test_a_bad_endpoint_names_the_variable(bad: str) -> None:
    with pytest.raises(ConfigError, match="ONEBUDGET_OTEL_EXPORTER_OTLP_ENDPOINT"):
        otlp_endpoint({"ONEBUDGET_OTEL_EXPORTER_OTLP_ENDPOINT": bad})


class _Collector(BaseHTTPRequestHandler):
    """A stand-in OTLP/HTTP collector: records the paths it is sent spans on."""

    posted: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.posted.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_configured_it_traces_exports_and_events_carry_the_span() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tracing.configure("payment", f"http://127.0.0.1:{server.server_port}")
        tracer = tracing.TRACER
        assert tracer is not None
        with tracer.start_as_current_span("call") as span:
            traceparent, _ = tracing.current_trace()
            event = new_event(
                envelope_pb2.EventEnvelope(), source="payment", aggregate_type="x", aggregate_id="1"
            )
        context = span.get_span_context()
        assert traceparent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
        assert event.envelope.traceparent == traceparent
        tracing.shutdown()  # flushes the batch to the collector
    finally:
        tracing.disable()
        server.shutdown()
        server.server_close()
    assert tracing.TRACER is None
    assert _Collector.posted == ["/v1/traces"]


# Never called here: the test looks only at what the edge builds, not at a call.
_UNUSED_GUARD = grpc_edge.Guard(cast(TokenVerifier, object()))


async def _answer(request: Any, context: Any) -> str:
    return "answered"


def test_off_the_edge_adds_no_wrapper_on_it_adds_the_span() -> None:
    """Cost when off: the edge decides when the server is built, so an RPC runs exactly the
    handler it ran before tracing existed; on, one more layer opens the server span."""
    assert tracing.TRACER is None
    plain = grpc_edge._wrap("/x.v1.S/M", "payment", _answer, _UNUSED_GUARD)
    assert plain.__name__ == "handle"
    tracing.enable(TracerProvider())
    try:
        traced = grpc_edge._wrap("/x.v1.S/M", "payment", _answer, _UNUSED_GUARD)
    finally:
        tracing.disable()
    assert traced.__name__ == "traced"
