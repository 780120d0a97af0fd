"""Helpers for the payment tests (no tests here): funded budgets in the ledger and in payment's
read model (inserted through the consumer's read-model functions, as allocation's events would),
a gRPC stub, and readers of balances and of the outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from onebudget import ledger
from onebudget.ledger import Account, FundingStream, Transfer
from onebudget.payment.service_layer import read_model
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.payment.v1 import payment_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.server import ServiceHost

STREAMS = (FundingStream.NHS, FundingStream.COUNCIL, FundingStream.CLIENT)
_SOURCES = {
    FundingStream.NHS: ("ring_fence", uuid.UUID(int=1)),
    FundingStream.COUNCIL: ("allocation", uuid.UUID(int=2)),
    FundingStream.CLIENT: ("contribution", uuid.UUID(int=3)),
}


@dataclass(frozen=True)
class FundedBudget:
    budget_id: uuid.UUID
    line_id: uuid.UUID
    person_id: uuid.UUID
    accounts: tuple[uuid.UUID, uuid.UUID, uuid.UUID]


async def _sources(conn: asyncpg.Connection) -> None:
    await ledger.create_accounts(
        conn,
        [Account(i, kind, "SRC", stream) for stream, (kind, i) in _SOURCES.items()],
    )


async def funded_budget(
    conn: asyncpg.Connection,
    funds: tuple[int, int, int],
    *,
    bp: tuple[int, int, int] = (6000, 4000, 0),
    cost_pence: int = 10**12,
    category: str = "personal_care",
    allowed_payee_kind: str = "",
    allowed_payee_id: uuid.UUID | None = None,
    agreed: bool = True,
    person_id: uuid.UUID | None = None,
    management_option: str = "NOTIONAL",
    period: tuple[date, date] | None = None,
) -> FundedBudget:
    """A budget whose stream accounts hold `funds` (NHS, council, client) and one plan line."""
    await _sources(conn)
    budget_id, line_id = uuid.uuid4(), uuid.uuid4()
    person = person_id or uuid.uuid4()
    accounts = tuple(
        Account(uuid.uuid4(), "budget", str(budget_id), s, debits_must_not_exceed_credits=True)
        for s in STREAMS
    )
    assert set(await ledger.create_accounts(conn, accounts)) == {ledger.CreateAccountResult.OK}
    moves = [
        Transfer(
            uuid.uuid4(),
            _SOURCES[a.funding_stream][1],
            a.id,
            amount,
            "funding",
            budget_ref=str(budget_id),
            funding=True,
        )
        for a, amount in zip(accounts, funds, strict=True)
        if amount > 0
    ]
    results = await ledger.create_transfers(conn, moves)
    assert set(results) <= {ledger.CreateTransferResult.OK}, results
    ids = (accounts[0].id, accounts[1].id, accounts[2].id)
    await read_model.apply_budget(
        conn,
        read_model.BudgetFacts(
            budget_id=budget_id,
            state="DRAFT",
            person_id=person,
            start_date=period[0] if period else None,
            end_date=period[1] if period else None,
            commissioner_ods_code="QNQ",
            council_gss_code="E10000015",
            nhs_account_id=ids[0],
            council_account_id=ids[1],
            client_account_id=ids[2],
        ),
    )
    await read_model.apply_plan_line(
        conn,
        read_model.PlanLineFacts(
            plan_line_id=line_id,
            budget_id=budget_id,
            category=category,
            cost_pence=cost_pence,
            nhs_bp=bp[0],
            council_bp=bp[1],
            client_bp=bp[2],
            management_option=management_option,
            allowed_payee_id=allowed_payee_id,
            allowed_payee_kind=allowed_payee_kind,
        ),
    )
    if agreed:
        await read_model.agree_budget(conn, read_model.BudgetFacts(budget_id=budget_id))
    return FundedBudget(budget_id, line_id, person, ids)


async def available(conn: asyncpg.Connection, b: FundedBudget) -> list[int]:
    records = {
        r.account.id: r.balance.available
        for r in await ledger.lookup_accounts(conn, list(b.accounts))
    }
    return [records[a] for a in b.accounts]


async def outbox(conn: asyncpg.Connection) -> list[Any]:
    return list(await conn.fetch("SELECT subject, envelope FROM payment.outbox ORDER BY seq"))


def stub(host: ServiceHost) -> tuple[grpc.aio.Channel, api_grpc.PaymentServiceStub]:
    channel = open_aio_channel(host.address)
    return channel, api_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]


def error_of(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str, dict[str, str], list[str]]:
    """(code, ErrorInfo reason, metadata, BadRequest fields) of a failed call."""
    status = rpc_status.from_call(error)
    assert status is not None
    reason, metadata, fields = "", {}, []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = [v.field for v in bad.field_violations]
    return error.code(), reason, metadata, fields


def release(b: FundedBudget, payee_id: str, amount: int, **kw: Any) -> api.ReleasePaymentRequest:
    return api.ReleasePaymentRequest(
        request_id=kw.pop("request_id", str(uuid.uuid4())),
        budget_id=str(b.budget_id),
        plan_line_id=str(b.line_id),
        payee_id=payee_id,
        amount_pence=amount,
        service_period_start=kw.pop("service_period_start", "2026-05-01"),
        service_period_end=kw.pop("service_period_end", "2026-05-31"),
        broker_reference=kw.pop("broker_reference", "BRK-1"),
        **kw,
    )


async def payee(
    s: api_grpc.PaymentServiceStub,
    kind: api.PayeeKind = api.PAYEE_KIND_PROVIDER,
    family: bool = False,
    person_id: uuid.UUID | None = None,
) -> str:
    """A payee; a DIRECT_PAYMENT_ACCOUNT needs its holder, `person_id`."""
    p = await s.RegisterPayee(
        api.RegisterPayeeRequest(
            request_id=str(uuid.uuid4()),
            kind=kind,
            name="Care Co",
            close_family_member_in_household=family,
            person_id=str(person_id) if person_id else "",
        )
    )
    return str(p.payee_id)
