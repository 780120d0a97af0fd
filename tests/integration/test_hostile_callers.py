"""Hostile callers (issue 14, "Done means"): for every service, a call with no token, an expired
one, a forged one (another key), `alg: none`, a token for another service (its audience),
another issuer's, the wrong role and the wrong organisation is refused with the right code and
ErrorInfo reason, and changes nothing (the service's outbox and tables, and a read, say so).
The issue's own attacks are here: an anonymous SetCommissionerAllocation and an anonymous
RebuildReadModel."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import grpc
import jwt
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.allocation.v1 import allocation_service_pb2_grpc as al_grpc
from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.entitlement.v1 import entitlement_service_pb2 as ent
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as ent_grpc
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.payment.v1 import payment_service_pb2_grpc as pay_grpc
from onebudget.reporting.entrypoints.dashboard import serve
from onebudget.reporting.v1 import reporting_service_pb2 as rpt
from onebudget.reporting.v1 import reporting_service_pb2_grpc as rpt_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.identity import Actor, Role
from onebudget.shared.runtime.issuer import LocalIssuer
from tests.conftest import TEST_ISSUER, StartService
from tests.integration.test_entitlement_eligibility import _phb as ent_api_phb
from tests.integration.test_entitlement_reviews import _dp_started as dp_started
from tests.integration.test_entitlement_reviews import _publish as publish
from tests.integration.test_entitlement_reviews import _wait_due as wait_due
from tests.integration.test_entitlement_support import entitlement, new_nhs_number
from tests.integration.test_reporting_support import (
    YEAR,
    agreed_budget,
    caught_up,
    eligible_person,
    new_gss,
    new_ods,
    plan_line,
    pool_of,
    rid,
    setup_funders,
    start_stack,
)


def _token(
    role: Role,
    organisations: tuple[str, ...],
    audience: str,
    *,
    issuer: LocalIssuer = TEST_ISSUER,
    iss: str | None = None,
    now: float | None = None,
    ttl_s: int = 600,
) -> str:
    """A token signed by `issuer` (the test issuer: the services trust it), naming `iss`."""
    actor = Actor(f"hostile:{role.value}", role, organisations)
    return issuer.mint(actor, [audience], ttl_s, now=now, issuer=iss)


def _alg_none(audience: str) -> str:
    claims = {
        "iss": TEST_ISSUER.issuer,
        "sub": "hostile:none",
        "aud": [audience],
        "exp": int(time.time()) + 600,
        "onebudget_role": "commissioner_finance",
        "onebudget_organisations": ["QNQ"],
    }
    return jwt.encode(claims, "", algorithm="none")


@dataclass
class Attack:
    """One hostile token and what the service must answer."""

    name: str
    token: str
    code: grpc.StatusCode
    reason: str


def attacks(
    service: str, right_role: Role, wrong_role: Role, own: tuple[str, ...], other: str
) -> list[Attack]:
    """Every hostile caller of the issue against `service`, whose rightful caller has
    `right_role` for organisations `own`; `other` is an organisation the resource is not of."""
    audience = f"onebudget-{service}"
    another = "onebudget-entitlement" if service != "entitlement" else "onebudget-payment"
    now = time.time()
    forger = LocalIssuer(TEST_ISSUER.directory.parent / f"forger-{service}")
    unauth = grpc.StatusCode.UNAUTHENTICATED
    denied = grpc.StatusCode.PERMISSION_DENIED
    return [
        Attack("no token", "", unauth, "TOKEN_MISSING"),
        Attack(
            "expired",
            _token(right_role, own, audience, now=now - 7200, ttl_s=600),
            unauth,
            "TOKEN_EXPIRED",
        ),
        Attack(
            "forged (another key, the real issuer's name)",
            _token(right_role, own, audience, issuer=forger, iss=TEST_ISSUER.issuer),
            unauth,
            "TOKEN_INVALID",
        ),
        Attack("alg none", _alg_none(audience), unauth, "TOKEN_INVALID"),
        Attack(
            "a token for another service replayed",
            _token(right_role, own, another),
            unauth,
            "TOKEN_AUDIENCE",
        ),
        Attack(
            "another issuer",
            _token(right_role, own, audience, iss="https://idp.evil.example"),
            unauth,
            "TOKEN_ISSUER",
        ),
        Attack("wrong role", _token(wrong_role, own, audience), denied, "PERMISSION_DENIED_ROLE"),
        Attack(
            "wrong organisation",
            _token(right_role, (other,), audience),
            denied,
            "PERMISSION_DENIED_ORGANISATION",
        ),
    ]


Call = Callable[[grpc.aio.Channel], Awaitable[Any]]


def _reason(error: grpc.aio.AioRpcError, service: str) -> str:
    """The ErrorInfo reason, from the service's own domain."""
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            assert info.domain == f"{service}.onebudget"
            return str(info.reason)
    return ""


async def refused_every_way(address: str, service: str, call: Call, hostile: list[Attack]) -> None:
    for attack in hostile:
        async with open_aio_channel(address, token=attack.token) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(channel)
        error = refused.value
        assert (error.code(), _reason(error, service)) == (attack.code, attack.reason), attack.name


async def _count(pool: asyncpg.Pool, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table}"))


async def test_entitlement_refuses_hostile_callers(start_service: StartService) -> None:
    host = await start_service(ENTITLEMENT)
    ods, gss = new_ods(), new_gss()
    request = ent.RegisterPersonRequest(
        request_id=rid(),
        nhs_number=new_nhs_number(),
        given_name="Ada",
        family_name="Lovelace",
        date_of_birth="1960-05-17",
        commissioner_ods_code=ods,
        council_gss_code=gss,
    )

    async def register(channel: grpc.aio.Channel) -> Any:
        stub = ent_grpc.EntitlementServiceStub(channel)  # type: ignore[no-untyped-call]
        return await stub.RegisterPerson(request)

    hostile = attacks("entitlement", Role.CARE_MANAGER, Role.CARE_BROKER, (ods,), "00L")
    # The wrong organisation: a care manager of another commissioner and council.
    await refused_every_way(host.address, "entitlement", register, hostile)
    pool = pool_of(host)
    assert await _count(pool, "entitlement.people") == 0
    assert await _count(pool, "entitlement.outbox") == 0
    # The rightful caller is let in (the same request, now accepted once).
    rightful = _token(Role.CARE_MANAGER, (ods,), "onebudget-entitlement")
    async with open_aio_channel(host.address, token=rightful) as channel:
        person = await register(channel)
    assert person.commissioner_ods_code == ods
    assert await _count(pool, "entitlement.people") == 1


async def test_allocation_refuses_an_anonymous_allocation_and_every_hostile_caller(
    start_service: StartService,
) -> None:
    stack = await start_stack(start_service, payment=False)
    ods, gss = new_ods(), new_gss()
    await stack.alloc.RegisterCommissioner(
        al.RegisterCommissionerRequest(request_id=rid(), ods_code=ods, name="NHS Example")
    )
    # The issue's attack: whoever set a year first owned it. Now nobody but the ICB's own
    # finance officer may.
    attack = al.SetCommissionerAllocationRequest(
        request_id=rid(),
        commissioner_ods_code=ods,
        financial_year=YEAR,
        allocation_pence=1,
        phb_target_basis_points=500,
    )

    async def allocate(channel: grpc.aio.Channel) -> Any:
        stub = al_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]
        return await stub.SetCommissionerAllocation(attack)

    hostile = attacks("allocation", Role.COMMISSIONER_FINANCE, Role.CARE_BROKER, (ods,), ods)
    hostile[-1] = Attack(
        "a finance officer of another commissioner",
        _token(Role.COMMISSIONER_FINANCE, ("00L", gss), "onebudget-allocation"),
        grpc.StatusCode.PERMISSION_DENIED,
        "PERMISSION_DENIED_ORGANISATION",
    )
    outbox = await _count(pool_of(stack.allocation), "allocation.outbox")
    await refused_every_way(stack.allocation.address, "allocation", allocate, hostile)
    assert await _count(pool_of(stack.allocation), "allocation.commissioner_allocations") == 0
    assert await _count(pool_of(stack.allocation), "allocation.outbox") == outbox
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stack.alloc.GetCommissionerAllocation(
            al.GetCommissionerAllocationRequest(commissioner_ods_code=ods, financial_year=YEAR)
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    # ... and another commissioner's officer cannot read it either.
    nosy = _token(Role.COMMISSIONER_FINANCE, ("00L",), "onebudget-allocation")
    async with open_aio_channel(stack.allocation.address, token=nosy) as channel:
        stub = al_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetCommissionerAllocation(
                al.GetCommissionerAllocationRequest(commissioner_ods_code=ods, financial_year=YEAR)
            )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # The rightful officer sets it.
    rightful = _token(Role.COMMISSIONER_FINANCE, (ods,), "onebudget-allocation")
    async with open_aio_channel(stack.allocation.address, token=rightful) as channel:
        assert (await allocate(channel)).allocation_pence == 1


async def test_payment_refuses_hostile_brokers_and_moves_no_money(
    start_service: StartService,
) -> None:
    stack = await start_stack(start_service)
    assert stack.pay is not None
    assert stack.payment is not None
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss)
    person = await eligible_person(stack, ods, gss)
    budget = await agreed_budget(
        stack, person, ods, gss, [plan_line(100_000, (10_000, 0, 0))], nhs_only=True
    )
    await caught_up(stack, payment_too=True)
    payee = await stack.pay.RegisterPayee(
        pay.RegisterPayeeRequest(
            request_id=rid(), kind=pay.PAYEE_KIND_PROVIDER, name="Attacker's Care Ltd"
        )
    )
    release = pay.ReleasePaymentRequest(
        request_id=rid(),
        budget_id=budget.budget_id,
        plan_line_id=budget.plan_lines[0].plan_line_id,
        payee_id=payee.payee_id,
        amount_pence=5_000,
        broker_reference="HOSTILE",
    )

    async def pay_out(channel: grpc.aio.Channel) -> Any:
        stub = pay_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        return await stub.ReleasePayment(release)

    # A broker working for another commissioner and council cannot pay from this budget.
    hostile = attacks("payment", Role.CARE_BROKER, Role.AUDITOR, (ods,), "00L")
    pool = pool_of(stack.payment)
    outbox = await _count(pool, "payment.outbox")
    await refused_every_way(stack.payment.address, "payment", pay_out, hostile)
    assert await _count(pool, "payment.payments") == 0
    assert await _count(pool, "payment.outbox") == outbox
    ask = pay.GetBudgetStatementRequest(budget_id=budget.budget_id)
    before = await stack.pay.GetBudgetStatement(ask)
    # In a bulk call, the other broker's item is refused, item by item.
    other_broker = _token(Role.CARE_BROKER, ("00L",), "onebudget-payment")
    async with open_aio_channel(stack.payment.address, token=other_broker) as channel:
        stub = pay_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        bulk = await stub.ReleasePayments(
            pay.ReleasePaymentsRequest(request_id=rid(), payments=[release])
        )
    assert bulk.results[0].error.reason == "PERMISSION_DENIED_ORGANISATION"
    assert await _count(pool, "payment.payments") == 0
    # Nor may that broker read the budget's statement.
    async with open_aio_channel(stack.payment.address, token=other_broker) as channel:
        stub = pay_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.aio.AioRpcError) as nosy:
            await stub.GetBudgetStatement(ask)
    assert nosy.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await stack.pay.GetBudgetStatement(ask) == before
    # A broker working for the budget's commissioner pays.
    rightful = _token(Role.CARE_BROKER, ("00L", ods), "onebudget-payment")
    async with open_aio_channel(stack.payment.address, token=rightful) as channel:
        assert (await pay_out(channel)).amount_pence == 5_000


async def _refused_elsewhere(address: str, role: Role, call: Call) -> None:
    """`call` by a `role` of organisation ZZZ (no part of the resource) is refused
    PERMISSION_DENIED reason PERMISSION_DENIED_ORGANISATION by the service at `address`."""
    service = SERVICE_AT[address]
    token = _token(role, ("ZZZ",), f"onebudget-{service}")
    async with open_aio_channel(address, token=token) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(channel)
    found = (refused.value.code(), _reason(refused.value, service))
    assert found == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED_ORGANISATION")


SERVICE_AT: dict[str, str] = {}  # each started service's address -> its name


def _rpc(stub_type: Any, method: str, request: Any) -> Call:
    """A Call of `method` of `stub_type` (a generated gRPC stub class) with `request`."""

    async def call(channel: grpc.aio.Channel) -> Any:
        return await getattr(stub_type(channel), method)(request)

    return call


async def test_payment_scopes_reservations_stops_and_payees_to_the_budgets_organisations(
    start_service: StartService,
) -> None:
    """Issue 14: ConfirmPayment, CancelPayment, StopPayments, ResumePayments and RegisterPayee
    check the caller's organisations against the budget's (or the payee's); a caller of
    organisation ZZZ changes nothing."""
    stack = await start_stack(start_service)
    assert stack.pay is not None
    assert stack.payment is not None
    SERVICE_AT[stack.payment.address] = "payment"
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss)
    person = await eligible_person(stack, ods, gss)
    budget = await agreed_budget(
        stack, person, ods, gss, [plan_line(100_000, (10_000, 0, 0))], nhs_only=True
    )
    await caught_up(stack, payment_too=True)
    payee = await stack.pay.RegisterPayee(
        pay.RegisterPayeeRequest(request_id=rid(), kind=pay.PAYEE_KIND_PROVIDER, name="Care Co")
    )
    held = [
        await stack.pay.ReservePayment(
            pay.ReservePaymentRequest(
                request_id=rid(),
                budget_id=budget.budget_id,
                plan_line_id=budget.plan_lines[0].plan_line_id,
                payee_id=payee.payee_id,
                amount_pence=1_000,
                broker_reference=f"HOLD-{n}",
            )
        )
        for n in range(2)
    ]
    pool = pool_of(stack.payment)
    address = stack.payment.address

    async def snapshot() -> tuple[Any, ...]:
        return (
            await pool.fetch("SELECT payment_id, state, version FROM payment.payments ORDER BY 1"),
            await _count(pool, "payment.payment_stops"),
            await _count(pool, "payment.payees"),
            await _count(pool, "payment.outbox"),
        )

    def stub_of(channel: grpc.aio.Channel) -> Any:
        return pay_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]

    stub = pay_grpc.PaymentServiceStub

    before = await snapshot()
    # 1. Another organisation's broker neither confirms nor cancels this budget's reservation.
    for hold in held:
        confirm = pay.ConfirmPaymentRequest(
            request_id=rid(), payment_id=hold.payment_id, amount_pence=1_000
        )
        cancel = pay.CancelPaymentRequest(
            request_id=rid(), payment_id=hold.payment_id, reason="not mine"
        )
        await _refused_elsewhere(address, Role.CARE_BROKER, _rpc(stub, "ConfirmPayment", confirm))
        await _refused_elsewhere(address, Role.CARE_BROKER, _rpc(stub, "CancelPayment", cancel))
    assert await snapshot() == before
    # 2. Nor does another organisation's finance officer or care manager stop its payments, or
    # resume them once stopped.
    stop = pay.StopPaymentsRequest(
        request_id=rid(),
        budget_id=budget.budget_id,
        grounds=pay.STOP_GROUNDS_MISUSE,
        reasons=["misuse"],
    )
    for role in (Role.COMMISSIONER_FINANCE, Role.CARE_MANAGER):
        await _refused_elsewhere(address, role, _rpc(stub, "StopPayments", stop))
    assert await snapshot() == before
    await stack.pay.StopPayments(stop)
    stopped = await snapshot()
    resume = pay.ResumePaymentsRequest(
        request_id=rid(), budget_id=budget.budget_id, reasons=["resolved"]
    )
    for role in (Role.COMMISSIONER_FINANCE, Role.COUNCIL_FINANCE):
        await _refused_elsewhere(address, role, _rpc(stub, "ResumePayments", resume))
    assert await snapshot() == stopped
    # 3. A broker registers a provider only for its own organisations, and a direct-payment
    # account only for a person with a budget of one of them.
    provider = pay.RegisterPayeeRequest(
        request_id=rid(), kind=pay.PAYEE_KIND_PROVIDER, name="Care Co", organisation_code=ods
    )
    account = pay.RegisterPayeeRequest(
        request_id=rid(), kind=pay.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, name="DP", person_id=person
    )
    unknown = pay.RegisterPayeeRequest(
        request_id=rid(), kind=pay.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, name="DP", person_id=rid()
    )
    for request in (provider, account, unknown):
        await _refused_elsewhere(address, Role.CARE_BROKER, _rpc(stub, "RegisterPayee", request))
    assert await snapshot() == stopped
    # The budget's own broker does each.
    rightful = _token(Role.CARE_BROKER, (ods,), "onebudget-payment")
    async with open_aio_channel(address, token=rightful) as channel:
        assert (await stub_of(channel).RegisterPayee(provider)).organisation_code == ods
        assert (await stub_of(channel).RegisterPayee(account)).person_id == person
        cancelled = await stub_of(channel).CancelPayment(
            pay.CancelPaymentRequest(request_id=rid(), payment_id=held[1].payment_id)
        )
    assert cancelled.state == pay.PAYMENT_STATE_CANCELLED


async def test_payment_scopes_every_read_schedule_return_repayment_and_payee(
    start_service: StartService,
) -> None:
    """Issue 14: every other payment RPC naming a resource checks the caller's organisations
    against the budget's (a payment's, schedule's or repayment's budget) or the payee's: a
    caller of organisation ZZZ is refused PERMISSION_DENIED_ORGANISATION (reads too) and
    changes nothing (no row, no event, no audit record of a success); ListPayments and
    ListPayees show it nothing of this organisation; a budget holder reads only their own
    statement. The budget's own staff do each."""
    stack = await start_stack(start_service)
    assert stack.pay is not None
    assert stack.payment is not None
    SERVICE_AT[stack.payment.address] = "payment"
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss)
    person = await eligible_person(stack, ods, gss)
    budget = await agreed_budget(
        stack,
        person,
        ods,
        gss,
        [
            plan_line(100_000, (10_000, 0, 0)),
            plan_line(100_000, (10_000, 0, 0), al.MANAGEMENT_OPTION_DIRECT_PAYMENT),
        ],
        nhs_only=True,
    )
    await caught_up(stack, payment_too=True)
    bid = budget.budget_id
    provider = await stack.pay.RegisterPayee(
        pay.RegisterPayeeRequest(
            request_id=rid(), kind=pay.PAYEE_KIND_PROVIDER, name="Care Co", organisation_code=ods
        )
    )
    family = await stack.pay.RegisterPayee(
        pay.RegisterPayeeRequest(
            request_id=rid(),
            kind=pay.PAYEE_KIND_PERSONAL_ASSISTANT,
            name="A daughter",
            close_family_member_in_household=True,
            organisation_code=ods,
        )
    )
    account = await stack.pay.RegisterPayee(
        pay.RegisterPayeeRequest(
            request_id=rid(),
            kind=pay.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT,
            name="DP",
            person_id=person,
        )
    )
    paid = await stack.pay.ReleasePayment(
        pay.ReleasePaymentRequest(
            request_id=rid(),
            budget_id=bid,
            plan_line_id=budget.plan_lines[0].plan_line_id,
            payee_id=provider.payee_id,
            amount_pence=5_000,
            broker_reference="PAID",
        )
    )
    create = pay.CreateScheduleRequest(
        request_id=rid(),
        budget_id=bid,
        plan_line_id=budget.plan_lines[1].plan_line_id,
        payee_id=account.payee_id,
        instalment_pence=100_000,  # one instalment: the whole line
        every_weeks=4,
        start_date="2027-02-01",
        end_date="2027-02-01",
    )
    schedule = await stack.pay.CreateSchedule(create)
    require = pay.RequireRepaymentRequest(
        request_id=rid(),
        budget_id=bid,
        payee_id=provider.payee_id,
        grounds=pay.REPAYMENT_GROUNDS_OUTSIDE_PLAN,
        reasons=["reg 15"],
        amount_pence=1_000,
        due_date="2026-12-31",
        repayer=pay.REPAYER_PAYEE,
    )
    owed = await stack.pay.RequireRepayment(require)
    pool = pool_of(stack.payment)
    address = stack.payment.address

    async def snapshot() -> tuple[Any, ...]:
        return (
            await pool.fetch("SELECT payment_id, state, version FROM payment.payments ORDER BY 1"),
            await pool.fetch("SELECT schedule_id, version FROM payment.schedules ORDER BY 1"),
            await pool.fetch("SELECT repayment_id, version FROM payment.repayments ORDER BY 1"),
            await pool.fetch("SELECT payee_id, approved_at FROM payment.payees ORDER BY 1"),
            await _count(pool, "payment.returns"),
            await _count(pool, "payment.outbox"),
            await _count(pool, "payment.idempotency"),
        )

    stub = pay_grpc.PaymentServiceStub
    before = await snapshot()
    again = {"request_id": rid()}
    refused: list[tuple[tuple[Role, ...], str, Any]] = [
        ((Role.CARE_BROKER,), "GetPayment", pay.GetPaymentRequest(payment_id=paid.payment_id)),
        ((Role.CARE_BROKER,), "GetBudgetStatement", pay.GetBudgetStatementRequest(budget_id=bid)),
        ((Role.CARE_BROKER,), "CreateSchedule", pay.CreateScheduleRequest(**{
            **{f.name: v for f, v in create.ListFields()}, **again})),
        ((Role.CARE_BROKER, Role.CARE_MANAGER), "GetSchedule",
         pay.GetScheduleRequest(schedule_id=schedule.schedule_id)),
        ((Role.COMMISSIONER_FINANCE, Role.COUNCIL_FINANCE), "OffsetAccumulatedFunds",
         pay.OffsetAccumulatedFundsRequest(
             request_id=rid(), schedule_id=schedule.schedule_id,
             unused_balance_pence=90_000, as_of="2027-01-01")),
        ((Role.CARE_BROKER,), "RecordReturn", pay.RecordReturnRequest(
            request_id=rid(), payment_id=paid.payment_id, amount_pence=100, reason="hostile")),
        ((Role.COMMISSIONER_FINANCE, Role.COUNCIL_FINANCE), "RequireRepayment",
         pay.RequireRepaymentRequest(**{
             **{f.name: v for f, v in require.ListFields()}, **{"request_id": rid()}})),
        ((Role.CARE_BROKER, Role.COMMISSIONER_FINANCE), "RecordRepaymentReceived",
         pay.RecordRepaymentReceivedRequest(
             request_id=rid(), repayment_id=owed.repayment_id, amount_pence=500)),
        ((Role.COMMISSIONER_FINANCE, Role.COUNCIL_FINANCE), "WriteOffRepayment",
         pay.WriteOffRepaymentRequest(
             request_id=rid(), repayment_id=owed.repayment_id, reason="hostile",
             approver="ZZZ")),
        ((Role.CARE_BROKER, Role.COMMISSIONER_FINANCE), "GetRepayment",
         pay.GetRepaymentRequest(repayment_id=owed.repayment_id)),
        ((Role.COMMISSIONER_FINANCE, Role.CARE_MANAGER), "ApproveFamilyPayee",
         pay.ApproveFamilyPayeeRequest(
             request_id=rid(), payee_id=family.payee_id, reason="hostile", approver="ZZZ")),
        ((Role.CARE_BROKER,), "GetPayee", pay.GetPayeeRequest(payee_id=provider.payee_id)),
        ((Role.CARE_BROKER,), "GetPayee", pay.GetPayeeRequest(payee_id=account.payee_id)),
    ]  # fmt: skip
    for roles, method, request in refused:
        for role in roles:
            await _refused_elsewhere(address, role, _rpc(stub, method, request))
    assert await snapshot() == before
    successes = await pool.fetchval(
        "SELECT count(*) FROM payment.audit_log WHERE subject LIKE 'hostile:%' AND outcome = 'OK'"
    )
    assert successes == 0
    # A budget holder reads their own statement only.
    someone_else = Actor(rid(), Role.BUDGET_HOLDER)
    holder = Actor(person, Role.BUDGET_HOLDER)
    ask = pay.GetBudgetStatementRequest(budget_id=bid)
    for actor, allowed in ((someone_else, False), (holder, True)):
        token = TEST_ISSUER.mint(actor, ["onebudget-payment"], 600)
        async with open_aio_channel(address, token=token) as channel:
            if allowed:
                assert (await stub(channel).GetBudgetStatement(ask)).budget_id == bid  # type: ignore[no-untyped-call]
                continue
            with pytest.raises(grpc.aio.AioRpcError) as nosy:
                await stub(channel).GetBudgetStatement(ask)  # type: ignore[no-untyped-call]
        found = (nosy.value.code(), _reason(nosy.value, "payment"))
        assert found == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED_PERSON")
    # Lists show another organisation's staff none of this organisation's payments and payees;
    # an auditor and the budget's own broker see them.
    payees = {provider.payee_id, family.payee_id, account.payee_id}
    for role, org, shown in (
        (Role.CARE_BROKER, "ZZZ", False),
        (Role.COMMISSIONER_FINANCE, "ZZZ", False),
        (Role.AUDITOR, "", True),
        (Role.CARE_BROKER, ods, True),
    ):
        token = _token(role, (org,) if org else (), "onebudget-payment")
        async with open_aio_channel(address, token=token) as channel:
            listed = await stub(channel).ListPayments(pay.ListPaymentsRequest(budget_id=bid))  # type: ignore[no-untyped-call]
            listed_ids = [p.payment_id for p in listed.payments]
            assert listed_ids == ([paid.payment_id] if shown else [])
            by_payee = pay.ListPaymentsRequest(payee_id=provider.payee_id)
            everywhere = await stub(channel).ListPayments(by_payee)  # type: ignore[no-untyped-call]
            assert [p.payment_id for p in everywhere.payments] == listed_ids
            seen: set[str] = set()
            for ask_payees in (
                pay.ListPayeesRequest(organisation_code=ods),
                pay.ListPayeesRequest(person_id=person),
            ):
                found = await stub(channel).ListPayees(ask_payees)  # type: ignore[no-untyped-call]
                seen |= {p.payee_id for p in found.payees}
            assert seen == (payees if shown else set())
    # The budget's own staff read and act on each.
    broker = _token(Role.CARE_BROKER, (ods,), "onebudget-payment")
    async with open_aio_channel(address, token=broker) as channel:
        assert (await stub(channel).GetPayment(refused[0][2])).payment_id == paid.payment_id  # type: ignore[no-untyped-call]
        assert (await stub(channel).GetPayee(refused[-1][2])).payee_id == account.payee_id  # type: ignore[no-untyped-call]
        returned = await stub(channel).RecordReturn(refused[5][2])  # type: ignore[no-untyped-call]
        assert returned.amount_pence == 100
    finance = _token(Role.COMMISSIONER_FINANCE, (ods,), "onebudget-payment")
    async with open_aio_channel(address, token=finance) as channel:
        approved = await stub(channel).ApproveFamilyPayee(refused[10][2])  # type: ignore[no-untyped-call]
        assert approved.payee_id == family.payee_id
        written_off = await stub(channel).WriteOffRepayment(refused[8][2])  # type: ignore[no-untyped-call]
        assert written_off.repayment_id == owed.repayment_id


def _as(subject: str, role: Role, organisations: tuple[str, ...], service: str) -> str:
    """A token of the test issuer for `subject` acting as `role` of `organisations`."""
    actor = Actor(subject, role, organisations)
    return TEST_ISSUER.mint(actor, [f"onebudget-{service}"], 600)


async def _denied(service: str, call: Awaitable[Any]) -> tuple[grpc.StatusCode, str, str]:
    """The code, ErrorInfo reason and message of `call`'s refusal by `service`."""
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    error = refused.value
    return error.code(), _reason(error, service), error.details() or ""


async def test_a_request_id_answers_only_the_caller_who_first_used_it(
    start_service: StartService,
) -> None:
    """Issue 14: a retry under a stored request_id is answered only to the caller who made the
    first request. Another caller sending the same request with that id (another
    organisation's care manager; another broker, even of the same organisation; an item of
    a bulk call) is refused PERMISSION_DENIED, PERMISSION_DENIED_REQUEST_ID, learns nothing of
    the first answer, and nothing changes; the first caller's own retry (a new token) still
    gets its answer."""
    stack = await start_stack(start_service)
    assert stack.pay is not None
    assert stack.payment is not None
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss)
    person = await eligible_person(stack, ods, gss)
    budget = await agreed_budget(
        stack, person, ods, gss, [plan_line(100_000, (10_000, 0, 0))], nhs_only=True
    )
    draft = await stack.alloc.CreateBudget(
        al.CreateBudgetRequest(
            request_id=rid(),
            person_id=await eligible_person(stack, ods, gss),
            financial_year=YEAR,
            commissioner_ods_code=ods,
            nhs_only=True,
        )
    )
    await caught_up(stack, payment_too=True)
    # 1. Allocation: a care manager of ods adds a plan line; a care manager of ZZZ sending the
    # same request with the same id is not handed the budget (its scope check runs inside the
    # command's transaction, which a replay never reaches).
    add = al.AddPlanLineRequest(
        request_id=rid(), budget_id=draft.budget_id, line=plan_line(5_000, (10_000, 0, 0))
    )
    alloc = al_grpc.AllocationServiceStub
    apool = pool_of(stack.allocation)
    address = stack.allocation.address
    async with open_aio_channel(
        address, token=_as("cm:a", Role.CARE_MANAGER, (ods,), "allocation")
    ) as channel:
        first = await alloc(channel).AddPlanLine(add)  # type: ignore[no-untyped-call]
    audit_before = await _count(apool, "allocation.audit_log")
    lines_before = await apool.fetch("SELECT * FROM allocation.plan_lines ORDER BY 1")
    for org in ("ZZZ", ods):
        token = _as("cm:b", Role.CARE_MANAGER, (org,), "allocation")
        async with open_aio_channel(address, token=token) as channel:
            code, reason, details = await _denied("allocation", alloc(channel).AddPlanLine(add))  # type: ignore[no-untyped-call]
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED_REQUEST_ID")
        assert first.budget_id not in details
        assert "AddPlanLine" not in details
    assert await apool.fetch("SELECT * FROM allocation.plan_lines ORDER BY 1") == lines_before
    successes = await apool.fetchval(
        "SELECT count(*) FROM allocation.audit_log WHERE subject = 'cm:b' AND outcome = 'OK'"
    )
    assert successes == 0
    assert await _count(apool, "allocation.audit_log") == audit_before + 2  # the refusals
    async with open_aio_channel(
        address, token=_as("cm:a", Role.CARE_MANAGER, (ods,), "allocation")
    ) as channel:
        assert await alloc(channel).AddPlanLine(add) == first  # type: ignore[no-untyped-call]
    # 2. Payment (the batcher's own idempotency): broker A releases; broker B of the same
    # organisation passes the scope check but not the request_id's caller check, unary or bulk.
    provider = await stack.pay.RegisterPayee(
        pay.RegisterPayeeRequest(
            request_id=rid(), kind=pay.PAYEE_KIND_PROVIDER, name="Care Co", organisation_code=ods
        )
    )
    release = pay.ReleasePaymentRequest(
        request_id=rid(),
        budget_id=budget.budget_id,
        plan_line_id=budget.plan_lines[0].plan_line_id,
        payee_id=provider.payee_id,
        amount_pence=2_500,
        broker_reference="A-1",
    )
    payment = pay_grpc.PaymentServiceStub
    address = stack.payment.address
    ppool = pool_of(stack.payment)
    async with open_aio_channel(
        address, token=_as("broker:a", Role.CARE_BROKER, (ods,), "payment")
    ) as channel:
        paid = await payment(channel).ReleasePayment(release)  # type: ignore[no-untyped-call]
    before = (
        await ppool.fetch("SELECT payment_id, state, version FROM payment.payments ORDER BY 1"),
        await _count(ppool, "payment.outbox"),
    )
    async with open_aio_channel(
        address, token=_as("broker:b", Role.CARE_BROKER, (ods,), "payment")
    ) as channel:
        code, reason, details = await _denied("payment", payment(channel).ReleasePayment(release))  # type: ignore[no-untyped-call]
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED_REQUEST_ID")
        assert paid.payment_id not in details
        bulk = await payment(channel).ReleasePayments(  # type: ignore[no-untyped-call]
            pay.ReleasePaymentsRequest(request_id=rid(), payments=[release])
        )
    assert bulk.results[0].WhichOneof("outcome") == "error"
    assert bulk.results[0].error.reason == "PERMISSION_DENIED_REQUEST_ID"
    assert paid.payment_id not in str(bulk)
    assert (
        await ppool.fetch("SELECT payment_id, state, version FROM payment.payments ORDER BY 1"),
        await _count(ppool, "payment.outbox"),
    ) == before
    async with open_aio_channel(
        address, token=_as("broker:a", Role.CARE_BROKER, (ods,), "payment")
    ) as channel:
        assert await payment(channel).ReleasePayment(release) == paid  # type: ignore[no-untyped-call]


async def test_entitlement_scopes_every_person_and_commissioner_to_the_callers_organisations(
    start_service: StartService,
) -> None:
    """Issue 14: every entitlement RPC naming a person or a commissioner checks the caller's
    organisations against the person's commissioner/council (as entitlement records them) or the
    code; a care manager or finance officer of organisation ZZZ reads nothing and changes
    nothing, and ListPeople without a filter shows only the caller's organisations' people."""
    host = await start_service(ENTITLEMENT)
    SERVICE_AT[host.address] = "entitlement"
    ods, gss = new_ods(), new_gss()
    stub = ent_grpc.EntitlementServiceStub
    rightful = _token(Role.CARE_MANAGER, (ods,), "onebudget-entitlement")
    async with open_aio_channel(host.address, token=rightful) as channel:
        person = await stub(channel).RegisterPerson(  # type: ignore[no-untyped-call]
            ent.RegisterPersonRequest(
                request_id=rid(),
                nhs_number=new_nhs_number(),
                given_name="Ada",
                family_name="Lovelace",
                date_of_birth="1960-05-17",
                commissioner_ods_code=ods,
                council_gss_code=gss,
            )
        )
    pool = pool_of(host)

    async def snapshot() -> tuple[Any, ...]:
        return (
            await pool.fetch("SELECT person_id, state, version FROM entitlement.people"),
            await _count(pool, "entitlement.outbox"),
            await _count(pool, "entitlement.eligibility_decisions"),
            await _count(pool, "entitlement.phb_requests"),
            await _count(pool, "entitlement.commissioner_policies"),
            await _count(pool, "entitlement.person_corrections"),
        )

    before = await snapshot()
    pid = person.person_id
    chc = ent.ELIGIBILITY_CATEGORY_CHC
    as_manager: list[tuple[str, Any]] = [
        ("GetPerson", ent.GetPersonRequest(person_id=pid)),
        (
            "RecordDeath",
            ent.RecordDeathRequest(request_id=rid(), person_id=pid, died_on="2026-06-01"),
        ),
        ("ListPeople", ent.ListPeopleRequest(commissioner_ods_code=ods)),
        ("ListPeople", ent.ListPeopleRequest(council_gss_code=gss)),
        (
            "UpdatePersonDetails",
            ent.UpdatePersonDetailsRequest(
                request_id=rid(),
                person_id=pid,
                person=ent.Person(given_name="Eve"),
                update_mask=field_mask_pb2.FieldMask(paths=["given_name"]),
                reason="hostile",
            ),
        ),
        (
            "RecordEligibilityDecision",
            ent.RecordEligibilityDecisionRequest(
                request_id=rid(),
                person_id=pid,
                category=chc,
                outcome=ent.DECISION_OUTCOME_GRANTED,
                decided_on="2026-04-01",
                deciding_body="hostile",
            ),
        ),
        ("ListEligibility", ent.ListEligibilityRequest(person_id=pid)),
        (
            "RequestPersonalHealthBudget",
            ent.RequestPersonalHealthBudgetRequest(
                request_id=rid(), person_id=pid, category=chc, requested_on="2026-04-02"
            ),
        ),
        (
            "RecordConsentWithdrawn",
            ent.RecordConsentWithdrawnRequest(
                request_id=rid(), person_id=pid, withdrawn_on="2026-06-01"
            ),
        ),
        (
            "ListReviewsDue",
            ent.ListReviewsDueRequest(
                commissioner_ods_code=ods, due_from="2026-01-01", due_to="2027-12-31"
            ),
        ),
    ]
    for method, request in as_manager:
        await _refused_elsewhere(host.address, Role.CARE_MANAGER, _rpc(stub, method, request))
    as_finance: list[tuple[str, Any]] = [
        (
            "SetCommissionerPolicy",
            ent.SetCommissionerPolicyRequest(
                request_id=rid(), commissioner_ods_code=ods, extended_categories=[chc]
            ),
        ),
        ("GetCommissionerPolicy", ent.GetCommissionerPolicyRequest(commissioner_ods_code=ods)),
    ]
    for method, request in as_finance:
        await _refused_elsewhere(
            host.address, Role.COMMISSIONER_FINANCE, _rpc(stub, method, request)
        )
    assert await snapshot() == before
    # Unfiltered, another organisation's care manager sees none of this organisation's people.
    nosy = _token(Role.CARE_MANAGER, ("ZZZ",), "onebudget-entitlement")
    async with open_aio_channel(host.address, token=nosy) as channel:
        everyone = await stub(channel).ListPeople(ent.ListPeopleRequest())  # type: ignore[no-untyped-call]
    assert pid not in [p.person_id for p in everyone.people]
    # The person's own care manager reads and records.
    async with open_aio_channel(host.address, token=rightful) as channel:
        assert (await stub(channel).GetPerson(ent.GetPersonRequest(person_id=pid))).person_id == pid  # type: ignore[no-untyped-call]
        listed = await stub(channel).ListPeople(ent.ListPeopleRequest())  # type: ignore[no-untyped-call]
        assert [p.person_id for p in listed.people] == [pid]
        dead = await stub(channel).RecordDeath(  # type: ignore[no-untyped-call]
            ent.RecordDeathRequest(request_id=rid(), person_id=pid, died_on="2026-06-01")
        )
    assert dead.state == ent.PERSON_STATE_DECEASED


async def test_entitlement_scopes_reconsiderations_and_completed_reviews(
    start_service: StartService, nats_url: str
) -> None:
    """Issue 14: RequestReconsideration, DecideReconsideration (the PHB request's person) and
    RecordReviewCompleted (the review subject's person) check the person's commissioner and
    council as entitlement records them: a care manager of organisation ZZZ is refused
    PERMISSION_DENIED_ORGANISATION and changes nothing; the person's own care manager does each."""
    ods, gss = new_ods(), new_gss()
    async with entitlement(start_service, nats_url) as client:
        SERVICE_AT[client.host.address] = "entitlement"
        person = await client.register(commissioner_ods_code=ods, council_gss_code=gss)
        pid = person.person_id
        await client.decide(pid)
        phb = await client.stub.RequestPersonalHealthBudget(
            ent_api_phb(pid, not_appropriate_reasons=["in hospital for assessment"])
        )
        assert phb.state == ent.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_REFUSED
        await publish(client, dp_started(pid, "2024-01-31", nhs_funded=True))
        [due] = await wait_due(client, 1, ods)
        pool = pool_of(client.host)

        async def snapshot() -> tuple[Any, ...]:
            return (
                await pool.fetch("SELECT * FROM entitlement.phb_requests ORDER BY 1"),
                await pool.fetch("SELECT * FROM entitlement.review_subjects ORDER BY 1, 2"),
                await _count(pool, "entitlement.reviews_completed"),
                await _count(pool, "entitlement.outbox"),
                await _count(pool, "entitlement.idempotency"),
            )

        stub = ent_grpc.EntitlementServiceStub
        ask = ent.RequestReconsiderationRequest(
            request_id=rid(), phb_request_id=phb.phb_request_id, requested_on="2024-05-10"
        )
        decide = ent.DecideReconsiderationRequest(
            request_id=rid(),
            phb_request_id=phb.phb_request_id,
            outcome=ent.DECISION_OUTCOME_GRANTED,
            reasons=["discharged"],
            decided_on="2024-06-01",
        )
        reviewed = ent.RecordReviewCompletedRequest(
            request_id=rid(),
            kind=ent.REVIEW_KIND_DIRECT_PAYMENT,
            subject_id=due.subject_id,
            completed_on="2024-04-15",
        )
        before = await snapshot()
        for method, request in (
            ("RequestReconsideration", ask),
            ("RecordReviewCompleted", reviewed),
        ):
            await _refused_elsewhere(
                client.host.address, Role.CARE_MANAGER, _rpc(stub, method, request)
            )
        assert await snapshot() == before
        rightful = _token(Role.CARE_MANAGER, (ods,), "onebudget-entitlement")
        async with open_aio_channel(client.host.address, token=rightful) as channel:
            asked = await stub(channel).RequestReconsideration(ask)  # type: ignore[no-untyped-call]
        assert asked.state == ent.PERSONAL_HEALTH_BUDGET_REQUEST_STATE_RECONSIDERATION_REQUESTED
        # Now there is a reconsideration to decide: not by another organisation's care manager.
        pending = await snapshot()
        await _refused_elsewhere(
            client.host.address, Role.CARE_MANAGER, _rpc(stub, "DecideReconsideration", decide)
        )
        assert await snapshot() == pending
        successes = await pool.fetchval(
            "SELECT count(*) FROM entitlement.audit_log"
            " WHERE subject LIKE 'hostile:%' AND role = 'care_manager' AND outcome = 'OK'"
            " AND method IN ('RecordReviewCompleted', 'DecideReconsideration')"
        )
        assert successes == 0
        async with open_aio_channel(client.host.address, token=rightful) as channel:
            decided = await stub(channel).DecideReconsideration(decide)  # type: ignore[no-untyped-call]
            done = await stub(channel).RecordReviewCompleted(reviewed)  # type: ignore[no-untyped-call]
        assert decided.reconsidered
        assert done.last_completed_on == "2024-04-15"


async def test_reporting_refuses_an_anonymous_rebuild_and_other_commissioners(
    start_service: StartService,
) -> None:
    stack = await start_stack(start_service, payment=False)
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss)
    await caught_up(stack)
    ask = rpt.GetCommissionerSummaryRequest(commissioner_ods_code=ods, financial_year=YEAR)
    before = await stack.report.GetCommissionerSummary(ask)

    async def rebuild(channel: grpc.aio.Channel) -> Any:
        stub = rpt_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
        return await stub.RebuildReadModel(rpt.RebuildReadModelRequest(request_id=rid()))

    async def read(channel: grpc.aio.Channel) -> Any:
        stub = rpt_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
        return await stub.GetCommissionerSummary(ask)

    # The issue's attack: an anonymous RebuildReadModel wiped the read model. Only the platform
    # operator rebuilds: a commissioner's finance officer is the wrong role (issue 14).
    rebuilders = attacks("reporting", Role.PLATFORM_OPERATOR, Role.COMMISSIONER_FINANCE, (ods,), "")
    await refused_every_way(stack.reporting.address, "reporting", rebuild, rebuilders[:-1])
    hostile = attacks("reporting", Role.COMMISSIONER_FINANCE, Role.CARE_BROKER, (ods,), "00L")
    # Each commissioner's figures for its own officers only.
    await refused_every_way(stack.reporting.address, "reporting", read, hostile)
    assert await stack.report.GetCommissionerSummary(ask) == before


def test_a_service_with_no_issuer_refuses_to_start() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEBUDGET_")}
    env["ONEBUDGET_DATABASE_URL"] = "postgresql://127.0.0.1:1/x"
    env["ONEBUDGET_NATS_URL"] = "nats://127.0.0.1:1"
    done = subprocess.run(
        [sys.executable, "-m", "onebudget.payment"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "ONEBUDGET_OIDC_ISSUER" in done.stderr
    assert "Traceback" not in done.stderr


def _dashboard_get(url: str, token: str) -> tuple[int, dict[str, Any]]:
    bearer = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=bearer)  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 (loopback)
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


async def test_the_dashboard_shows_a_user_only_their_organisations_figures(
    start_service: StartService,
) -> None:
    stack = await start_stack(start_service, payment=False)
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss, allocation=12_345_600)
    await caught_up(stack)
    server = serve("127.0.0.1", 0, stack.reporting.address, ("QNQ", YEAR))
    base = f"http://127.0.0.1:{server.server_address[1]}/api/dashboard?year={YEAR}"
    try:
        own = _token(Role.COMMISSIONER_FINANCE, (ods,), "onebudget-reporting")
        status, body = await asyncio.to_thread(_dashboard_get, base, own)
        assert status == 200, body  # their own commissioner by default
        assert body["allocation_pence"] == 12_345_600
        other = _token(Role.COMMISSIONER_FINANCE, ("00L",), "onebudget-reporting")
        status, body = await asyncio.to_thread(_dashboard_get, f"{base}&commissioner={ods}", other)
        assert (status, body["reason"]) == (403, "PERMISSION_DENIED_ORGANISATION")
        expired = _token(
            Role.COMMISSIONER_FINANCE, (ods,), "onebudget-reporting", now=time.time() - 7200
        )
        status, body = await asyncio.to_thread(_dashboard_get, base, expired)
        assert (status, body["reason"]) == (401, "TOKEN_EXPIRED")
    finally:
        server.shutdown()
        server.server_close()
