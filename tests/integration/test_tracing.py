"""Traces across gRPC and NATS (issue 16, ADR 20), with the SDK's in-memory exporter: a broker's
ReleasePayment, sent with a W3C traceparent, is one trace from the payment service's server span
through the event's envelope (stored in the outbox row) to reporting's projection of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from onebudget.events.v1 import envelope_pb2
from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.payment.service_layer.scheduler import SchedulerRun, run_due_instalments
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.shared import tracing
from onebudget.shared.clock import SYSTEM_CLOCK
from tests.conftest import StartService
from tests.integration.test_payment_support import funded_budget
from tests.integration.test_payment_support import payee as payment_payee
from tests.integration.test_payment_support import stub as payment_stub
from tests.integration.test_reporting_support import (
    agreed_budget,
    caught_up,
    eligible_person,
    new_gss,
    new_ods,
    payee,
    plan_line,
    pool_of,
    rid,
    setup_funders,
    start_stack,
)

FIRST_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
RELEASE = "onebudget.payment.v1.PaymentService/ReleasePayment"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    try:
        yield exporter
    finally:
        tracing.disable()
        provider.shutdown()


def _hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


async def test_a_payment_and_its_reporting_projection_share_one_trace(
    spans: InMemorySpanExporter, start_service: StartService
) -> None:
    stack = await start_stack(start_service, payment=True)
    try:
        ods, gss = new_ods(), new_gss()
        await setup_funders(stack, ods, gss, allocation=100_000_000, target_bp=500)
        person = await eligible_person(stack, ods, gss)
        budget = await agreed_budget(
            stack, person, ods, gss, [plan_line(300_000, (10_000, 0, 0))], nhs_only=True
        )
        await caught_up(stack, payment_too=True)
        assert stack.pay is not None
        provider = await payee(stack)
        spans.clear()
        # Two calls from two traces: the batch worker the first call starts must not lend its
        # trace to the second call's event (each command carries its caller's context).
        for trace_id in (FIRST_TRACE_ID, TRACE_ID):
            await stack.pay.ReleasePayment(
                pay.ReleasePaymentRequest(
                    request_id=rid(),
                    budget_id=budget.budget_id,
                    plan_line_id=budget.plan_lines[0].plan_line_id,
                    payee_id=provider,
                    amount_pence=1_000,
                ),
                metadata=(("traceparent", f"00-{trace_id}-{CALLER_SPAN_ID}-01"),),
            )
        await caught_up(stack, payment_too=True)
        assert stack.payment is not None
        row = await pool_of(stack.payment).fetchrow(
            "SELECT envelope FROM payment.outbox WHERE subject = $1 ORDER BY seq DESC LIMIT 1",
            "onebudget.payment.payment.released.v1",
        )
    finally:
        await stack.close()
    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.name == RELEASE and _hex_trace(s) == TRACE_ID]
    # The server span continues the broker's trace.
    assert server.kind is SpanKind.SERVER
    assert _hex_trace(server) == TRACE_ID
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == CALLER_SPAN_ID
    assert server.attributes is not None
    assert server.attributes["rpc.grpc.status_code"] == "OK"
    # The event, as stored in the outbox row, carries the server span's context.
    assert row is not None
    envelope = envelope_pb2.EventEnvelope.FromString(row["envelope"])
    assert server.context is not None
    assert envelope.traceparent == f"00-{TRACE_ID}-{server.context.span_id:016x}-01"
    # Reporting's projection of that event is a child of the server span, in the same trace.
    projected = [
        s
        for s in finished
        if s.kind is SpanKind.CONSUMER
        and s.attributes is not None
        and s.attributes["onebudget.service"] == "reporting"
        and s.attributes["messaging.message.id"] == envelope.event_id
    ]
    assert len(projected) == 1, [s.name for s in finished]
    (projection,) = projected
    assert _hex_trace(projection) == TRACE_ID
    assert projection.parent is not None
    assert projection.parent.span_id == server.context.span_id


async def test_off_no_span_and_no_trace_in_the_envelope(start_service: StartService) -> None:
    """Off (the default), an event's envelope has empty trace fields: nothing on the wire."""
    assert tracing.TRACER is None
    assert tracing.current_trace() == ("", "")
    stack = await start_stack(start_service, payment=False)
    try:
        ods, gss = new_ods(), new_gss()
        await setup_funders(stack, ods, gss, allocation=1_000_000, target_bp=500)
        rows = await pool_of(stack.allocation).fetch("SELECT envelope FROM allocation.outbox")
    finally:
        await stack.close()
    assert rows
    for row in rows:
        envelope = envelope_pb2.EventEnvelope.FromString(row["envelope"])
        assert (envelope.traceparent, envelope.tracestate) == ("", "")


async def test_each_instalment_the_scheduler_pays_starts_a_trace_its_event_carries(
    spans: InMemorySpanExporter, start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No call starts an instalment: the scheduler opens a root span per instalment, and the
    InstalmentPaid event carries it, so a direct payment can be followed too."""
    monkeypatch.setenv("ONEBUDGET_PAYMENT_SCHEDULER_INTERVAL_S", "3600")  # the test drives it
    host = await start_service(PAYMENT)
    assert host.runtime is not None
    pool = host.runtime.pool
    channel, s = payment_stub(host)
    async with channel:
        async with pool.acquire() as conn:
            b = await funded_budget(
                conn, (10**7, 10**7, 0), bp=(7000, 3000, 0), management_option="DIRECT_PAYMENT"
            )
        dp = await payment_payee(s, pay.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, person_id=b.person_id)
        await s.CreateSchedule(
            pay.CreateScheduleRequest(
                request_id=rid(),
                budget_id=str(b.budget_id),
                plan_line_id=str(b.line_id),
                payee_id=dp,
                instalment_pence=40_001,
                every_weeks=2,
                start_date=(SYSTEM_CLOCK.today() - timedelta(weeks=4)).isoformat(),
            )
        )
        spans.clear()
        run = SchedulerRun()
        await run_due_instalments(pool, PaymentSettings(), SYSTEM_CLOCK, 100, run)
        rows = await pool.fetch(
            "SELECT envelope FROM payment.outbox WHERE subject = $1",
            "onebudget.payment.schedule.instalment_paid.v1",
        )
    assert run.paid == 3  # 4 weeks back, every 2 weeks: today's included
    roots = {
        f"{span.context.span_id:016x}": _hex_trace(span)
        for span in spans.get_finished_spans()
        if span.name == "payment.scheduler instalment" and span.context is not None
    }
    assert len(roots) == 3
    carried = set()
    for row in rows:
        envelope = envelope_pb2.EventEnvelope.FromString(row["envelope"])
        _version, trace_id, span_id, _flags = envelope.traceparent.split("-")
        assert roots[span_id] == trace_id
        carried.add(span_id)
    assert carried == set(roots)  # one trace per instalment
