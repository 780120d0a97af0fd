"""Rows to API messages and event payloads (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from google.protobuf import timestamp_pb2

from onebudget.events.v1 import payment_pb2 as ev
from onebudget.payment.domain.funders import FunderReturn
from onebudget.payment.domain.model import Budget, PlanLine
from onebudget.payment.v1 import payment_service_pb2 as api

Row = Mapping[str, Any]


def iso(day: date | None) -> str:
    return day.isoformat() if day is not None else ""


def timestamp(at: datetime | None) -> timestamp_pb2.Timestamp | None:
    if at is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def streams(nhs: int, council: int, client: int) -> api.StreamPence:
    return api.StreamPence(nhs_pence=nhs, council_pence=council, client_pence=client)


def event_streams(parts: tuple[int, int, int] | list[int]) -> ev.PaymentStreamPence:
    nhs, council, client = parts
    return ev.PaymentStreamPence(nhs_pence=nhs, council_pence=council, client_pence=client)


def funds_returned(r: FunderReturn) -> ev.FundsReturned:
    return ev.FundsReturned(
        funding_stream=r.stream.value,
        account_id=str(r.account_id),
        account_kind=r.kind,
        amount_pence=r.amount_pence,
        passed_on_to_account_id=str(r.then_to) if r.then_to else "",
    )


def payment_message(row: Row) -> api.Payment:
    """A payment row as the API shows it: a live reservation's amount and streams are what it
    holds (the row's paid columns stay 0 until it is confirmed)."""
    held = row["state"] == "RESERVED"
    amount = row["reserved_pence"] if held else row["amount_pence"]
    paid = "reserved_" if held else ""
    return api.Payment(
        payment_id=str(row["payment_id"]),
        kind=f"PAYMENT_KIND_{row['kind']}",
        state=f"PAYMENT_STATE_{row['state']}",
        budget_id=str(row["budget_id"]),
        plan_line_id=str(row["plan_line_id"]),
        payee_id=str(row["payee_id"]),
        amount_pence=amount,
        streams=streams(
            row[f"{paid}nhs_pence"], row[f"{paid}council_pence"], row[f"{paid}client_pence"]
        ),
        reserved_pence=row["reserved_pence"],
        returned_pence=row.get("returned_pence", 0) or 0,
        service_period_start=iso(row["service_period_start"]),
        service_period_end=iso(row["service_period_end"]),
        broker_reference=row["broker_reference"],
        schedule_id=str(row["schedule_id"]) if row["schedule_id"] else "",
        instalment_no=row["instalment_no"] or 0,
        create_time=timestamp(row["created_at"]),
        expire_time=timestamp(row["expires_at"]),
    )


def payee_message(row: Row) -> api.Payee:
    return api.Payee(
        payee_id=str(row["payee_id"]),
        kind=f"PAYEE_KIND_{row['kind']}",
        name=row["name"],
        close_family_member_in_household=row["close_family"],
        family_payment_approved=row["approved_at"] is not None,
        approval_reason=row["approval_reason"] or "",
        approver=row["approver"] or "",
        create_time=timestamp(row["created_at"]),
        person_id=str(row["person_id"] or ""),
        organisation_code=row["organisation_code"],
    )


def context(budget: Budget, line: PlanLine | None) -> ev.PaymentContext:
    return ev.PaymentContext(
        budget_id=str(budget.budget_id),
        plan_line_id=str(line.plan_line_id) if line else "",
        person_id=str(budget.person_id) if budget.person_id else "",
        commissioner_ods_code=budget.commissioner_ods_code,
        council_gss_code=budget.council_gss_code,
        management_option=line.management_option if line else "",
        category=line.category if line else "",
    )


def schedule_message(row: Row) -> api.Schedule:
    return api.Schedule(
        schedule_id=str(row["schedule_id"]),
        budget_id=str(row["budget_id"]),
        plan_line_id=str(row["plan_line_id"]),
        payee_id=str(row["payee_id"]),
        instalment_pence=row["instalment_pence"],
        every_weeks=row["every_weeks"],
        start_date=iso(row["start_date"]),
        end_date=iso(row["end_date"]),
        state=f"SCHEDULE_STATE_{row['state']}",
        next_instalment_no=row["next_instalment_no"],
        next_due_date=iso(row["next_due_date"]),
        offset_outstanding_pence=row["offset_outstanding_pence"],
        instalments_paid=row["instalments_paid"],
        stop_reason=row["stop_reason"],
        backdated_held=row["backdated_held"],
    )


def repayment_message(row: Row) -> api.Repayment:
    return api.Repayment(
        repayment_id=str(row["repayment_id"]),
        budget_id=str(row["budget_id"]),
        payee_id=str(row["payee_id"]),
        grounds=f"REPAYMENT_GROUNDS_{row['grounds']}",
        reasons=list(row["reasons"]),
        amount_pence=row["amount_pence"],
        received_pence=row["received_pence"],
        written_off_pence=row["written_off_pence"],
        due_date=iso(row["due_date"]),
        repayer=f"REPAYER_{row['repayer']}",
        state=f"REPAYMENT_STATE_{row['state']}",
        streams=streams(row["nhs_pence"], row["council_pence"], row["client_pence"]),
        create_time=timestamp(row["created_at"]),
    )
