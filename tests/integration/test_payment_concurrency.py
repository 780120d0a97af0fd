"""Concurrent releases through gRPC: never an overspend, exactly as many succeed as the funds
allow, and one request_id moves money once however often it is sent at the same time."""

from __future__ import annotations

import asyncio
import uuid

import grpc

from onebudget.events.v1 import allocation_pb2
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.entrypoints.consumers import on_allocation_event
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared.outbox import new_event
from tests.conftest import StartService
from tests.integration.test_payment_support import (
    available,
    error_of,
    funded_budget,
    outbox,
    payee,
    release,
    stub,
)

CALLS = 200


async def test_200_concurrent_releases_never_overspend(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        # 60/40 split: 73 payments of 250p fit the council stream (73 * 100 = 7,300 <= 7,399).
        b = await funded_budget(conn, (1_000_000, 7_399, 0))
        provider = await payee(s)
        before = len(await outbox(conn))

        async def one() -> str:
            try:
                await s.ReleasePayment(release(b, provider, 250))
                return "OK"
            except grpc.aio.AioRpcError as error:
                return error_of(error)[1]

        outcomes = await asyncio.gather(*[one() for _ in range(CALLS)])
        assert outcomes.count("OK") == 73
        assert set(outcomes) == {"OK", "INSUFFICIENT_FUNDS"}
        assert await available(conn, b) == [1_000_000 - 73 * 150, 7_399 - 73 * 100, 0]
        assert len(await outbox(conn)) - before == 73
        assert await conn.fetchval("SELECT count(*) FROM payment.payments") == 73


async def test_200_concurrent_retries_move_money_once(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (100_000, 100_000, 0))
        provider = await payee(s)
        request = release(b, provider, 1_000)
        answers = await asyncio.gather(*[s.ReleasePayment(request) for _ in range(CALLS)])
        assert len({a.payment_id for a in answers}) == 1
        assert await available(conn, b) == [100_000 - 600, 100_000 - 400, 0]
        assert await conn.fetchval("SELECT count(*) FROM payment.payments") == 1


async def test_allocation_events_fill_the_read_model(start_service: StartService) -> None:
    """A BudgetAgreed as allocation publishes it makes the budget payable."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        funded = await funded_budget(conn, (10_000, 10_000, 0), agreed=False)
        budget_id, line_id, person_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        agreed = allocation_pb2.BudgetAgreed(
            budget_id=str(budget_id),
            person_id=str(person_id),
            commissioner_ods_code="QNQ",
            council_gss_code="E10000015",
            stream_accounts=[
                allocation_pb2.BudgetStreamAccount(funding_stream=name, account_id=str(a))
                for name, a in zip(("NHS", "COUNCIL", "CLIENT"), funded.accounts, strict=True)
            ],
            plan_lines=[
                allocation_pb2.PlanLineTerms(
                    plan_line_id=str(line_id),
                    category="personal_care",
                    cost_pence=5_000,
                    nhs_basis_points=5000,
                    council_basis_points=5000,
                    management_option="DIRECT_PAYMENT",
                    allowed_payee_kind="PERSON",
                )
            ],
        )
        envelope = new_event(
            agreed, source="allocation", aggregate_type="budget", aggregate_id=str(budget_id)
        ).envelope
        async with conn.transaction():
            await on_allocation_event(conn, envelope)
        dp = await payee(s, api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, person_id=person_id)
        paid = await s.ReleasePayment(
            api.ReleasePaymentRequest(
                request_id=str(uuid.uuid4()),
                budget_id=str(budget_id),
                plan_line_id=str(line_id),
                payee_id=dp,
                amount_pence=1_001,
            )
        )
        assert (paid.streams.nhs_pence, paid.streams.council_pence) == (501, 500)
