"""The events payment consumes: allocation's budgets and plan lines (its read model), and
entitlement's PersonDied / ConsentWithdrawn (payments stop), EligibilityDecided (a refusal in
force stops the budgets of its cohort) and granted PHB decisions (consent again: a withdrawal's
stop lifts). payment/domain/stops.py has the rules.

Payloads are read by field name from the decoded message (proto field names), so an event that
gains fields keeps working; a message this build does not know is acked and skipped.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date
from typing import Any

import asyncpg
from google.protobuf import json_format

from onebudget.events.v1 import allocation_pb2, entitlement_pb2, envelope_pb2
from onebudget.payment.config import PaymentSettings
from onebudget.payment.service_layer import read_model, stopping
from onebudget.payment.service_layer.read_model import BudgetFacts, PlanLineFacts
from onebudget.payment.service_layer.scheduler import end_budget_payments, stop_payments
from onebudget.shared.clock import england_date
from onebudget.shared.consumer import EventConsumer, PoisonEvent
from onebudget.shared.server import Runtime

# Settings as the defaults say, for a handler called without the service's (tests, replays).
DEFAULT_SETTINGS = PaymentSettings()

SCHEMA = "payment"
# Durable names are part of the deployment: renaming one replays its stream from the start.
ALLOCATION_DURABLE = "payment-read-model-allocation"
ENTITLEMENT_DURABLE = "payment-stop-entitlement"
ENTITLEMENT_SUBJECTS = (
    "onebudget.entitlement.person.died.v1",
    "onebudget.entitlement.person.consent_withdrawn.v1",
    "onebudget.entitlement.person.eligibility_decided.v1",
    "onebudget.entitlement.person.personal_health_budget_request_decided.v1",
    "onebudget.entitlement.person.reconsideration_decided.v1",
)
_PREFIX = "onebudget.events.v1."


def _decode(envelope: envelope_pb2.EventEnvelope, module: Any) -> dict[str, Any] | None:
    name = envelope.type.removeprefix(_PREFIX)
    message_type = getattr(module, name, None)
    if message_type is None:
        return None
    payload = message_type()
    if not envelope.payload.Unpack(payload):
        raise PoisonEvent(f"payload is not a {envelope.type}")
    decoded: dict[str, Any] = json_format.MessageToDict(
        payload, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return decoded


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        raise PoisonEvent(f"not a UUID: {value!r}") from None


def _date(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def budget_facts(d: dict[str, Any], state: str | None) -> BudgetFacts:
    budget_id = _uuid(d.get("budget_id"))
    if budget_id is None:
        raise PoisonEvent("no budget_id")
    accounts = {a.get("funding_stream"): a.get("account_id") for a in d.get("stream_accounts", [])}
    return BudgetFacts(
        budget_id=budget_id,
        state=state,
        person_id=_uuid(d.get("person_id")),
        commissioner_ods_code=d.get("commissioner_ods_code") or None,
        council_gss_code=d.get("council_gss_code") or None,
        start_date=_date(d.get("start_date")),
        end_date=_date(d.get("end_date")),
        nhs_account_id=_uuid(accounts.get("NHS")),
        council_account_id=_uuid(accounts.get("COUNCIL")),
        client_account_id=_uuid(accounts.get("CLIENT")),
        cohort=d.get("cohort") or None,
    )


def plan_line_facts(d: dict[str, Any], budget_id: object, *, agreed: bool) -> PlanLineFacts:
    """From allocation's PlanLineTerms."""
    line_id = _uuid(d.get("plan_line_id"))
    owner = _uuid(budget_id)
    if line_id is None or owner is None:
        raise PoisonEvent("a plan line needs plan_line_id and budget_id")
    return PlanLineFacts(
        plan_line_id=line_id,
        budget_id=owner,
        category=str(d.get("category", "")),
        cost_pence=int(d.get("cost_pence", 0)),
        nhs_bp=int(d.get("nhs_basis_points", 0)),
        council_bp=int(d.get("council_basis_points", 0)),
        client_bp=int(d.get("client_basis_points", 0)),
        management_option=str(d.get("management_option", "")),
        allowed_payee_id=_uuid(d.get("allowed_payee_id")),
        allowed_payee_kind=str(d.get("allowed_payee_kind", "")),
        agreed=agreed,
    )


async def on_allocation_event(
    conn: asyncpg.Connection,
    envelope: envelope_pb2.EventEnvelope,
    settings: PaymentSettings = DEFAULT_SETTINGS,
) -> None:
    d = _decode(envelope, allocation_pb2)
    if d is None:
        return  # a message this build does not know (yet): nothing of ours depends on it
    name = envelope.type.removeprefix(_PREFIX)
    budget_id = d.get("budget_id")
    if name == "BudgetCreated":
        await read_model.apply_budget(conn, budget_facts(d, "DRAFT"))
    elif name == "BudgetAgreed":
        for line in d.get("plan_lines", []):
            await read_model.apply_plan_line(conn, plan_line_facts(line, budget_id, agreed=True))
        await read_model.agree_budget(conn, budget_facts(d, "AGREED"))
    elif name == "BudgetRevised":
        for line in d.get("added_lines", []):
            await read_model.apply_plan_line(conn, plan_line_facts(line, budget_id, agreed=True))
        for removed in d.get("removed_plan_line_ids", []):
            await _remove(conn, removed)
    elif name == "BudgetEnded":
        facts = budget_facts(d, "ENDED")
        await read_model.apply_budget(conn, facts)
        ended_on = _date(d.get("ended_on")) or _occurred_on(envelope)
        reason = str(d.get("reason") or "REQUESTED")
        await end_budget_payments(
            conn,
            facts.budget_id,
            reason,
            ended_on,
            envelope.request_id,
            settings.repayment_due_days,
        )
    elif name == "PlanLineAdded":
        line = d.get("line") or {}
        await read_model.apply_plan_line(conn, plan_line_facts(line, budget_id, agreed=False))
    elif name == "PlanLineRemoved":
        await _remove(conn, d.get("plan_line_id"))
    elif name == "FinancialYearClosed":
        ods, year = d.get("commissioner_ods_code"), int(d.get("financial_year") or 0)
        closed_on = _date(d.get("closed_on")) or _occurred_on(envelope)
        if not ods or not year:
            raise PoisonEvent("FinancialYearClosed needs commissioner_ods_code and financial_year")
        await read_model.close_year(conn, str(ods), year, closed_on)


async def _remove(conn: asyncpg.Connection, plan_line_id: object) -> None:
    line_id = _uuid(plan_line_id)
    if line_id is not None:
        await read_model.remove_plan_line(conn, line_id)


async def on_entitlement_event(
    conn: asyncpg.Connection,
    envelope: envelope_pb2.EventEnvelope,
    settings: PaymentSettings = DEFAULT_SETTINGS,
) -> None:
    d = _decode(envelope, entitlement_pb2)
    if d is None:
        return
    name = envelope.type.removeprefix(_PREFIX)
    person_id = _uuid(d.get("person_id"))
    if person_id is None:
        raise PoisonEvent("no person_id")
    recorded = envelope.aggregate_version  # the person's version: the recording order
    if name == "PersonDied":
        on = _date(d.get("died_on")) or _occurred_on(envelope)
        await stop_payments(
            conn, person_id, "DEATH", on, envelope.request_id, recorded, settings.repayment_due_days
        )
    elif name == "ConsentWithdrawn":
        on = _date(d.get("withdrawn_on")) or _occurred_on(envelope)
        await stop_payments(
            conn,
            person_id,
            "CONSENT_WITHDRAWN",
            on,
            envelope.request_id,
            recorded,
            settings.repayment_due_days,
        )
    elif name == "EligibilityDecided":
        await stopping.eligibility_decided(
            conn,
            person_id,
            str(d.get("category", "")).removeprefix("ELIGIBILITY_CATEGORY_"),
            d.get("outcome") == "DECISION_OUTCOME_GRANTED",
            _date(d.get("decided_on")) or _occurred_on(envelope),
            recorded,
        )
    elif (
        name in ("PersonalHealthBudgetRequestDecided", "ReconsiderationDecided")
        and d.get("outcome") == "DECISION_OUTCOME_GRANTED"
    ):
        await stopping.phb_granted(conn, person_id, recorded)


def _occurred_on(envelope: envelope_pb2.EventEnvelope) -> date:
    """England's date when the event happened: a redelivery or a replay gets the same day,
    which reading the clock now would not."""
    if not envelope.HasField("occurred_at"):
        raise PoisonEvent("the envelope has no occurred_at")
    return england_date(envelope.occurred_at.ToDatetime(tzinfo=UTC))


def payment_consumers(
    runtime: Runtime, settings: PaymentSettings = DEFAULT_SETTINGS
) -> Sequence[Callable[[], Awaitable[None]]]:
    allocation = EventConsumer(
        runtime.pool,
        runtime.js,
        schema=SCHEMA,
        stream="ALLOCATION",
        durable=ALLOCATION_DURABLE,
        handler=functools.partial(on_allocation_event, settings=settings),
    )
    entitlement = EventConsumer(
        runtime.pool,
        runtime.js,
        schema=SCHEMA,
        stream="ENTITLEMENT",
        durable=ENTITLEMENT_DURABLE,
        handler=functools.partial(on_entitlement_event, settings=settings),
        filter_subjects=ENTITLEMENT_SUBJECTS,
    )
    return (allocation.run, entitlement.run)
