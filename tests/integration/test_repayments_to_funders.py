"""Reclaimed money goes back to its funder (issue 13, item 12), through gRPC against real
PostgreSQL and NATS: a repayment received leaves the budget for the ring-fence or allocation,
the council pot and the contribution that paid in, on a live budget and on an ended one, and
through a closed year's ring-fence to the commissioner's general allocation."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from onebudget import ledger
from onebudget.events.v1 import envelope_pb2
from onebudget.events.v1 import payment_pb2 as ev
from onebudget.ledger import Transfer, chart
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.service_layer import read_model
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.payment.v1 import payment_service_pb2_grpc as api_grpc
from tests.conftest import StartService
from tests.integration.test_payment_support import (
    FundedBudget,
    available,
    funded_budget,
    outbox,
    payee,
    release,
    stub,
)

RING_FENCE, COUNCIL_POT, CONTRIBUTION = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)


def _rid() -> str:
    return str(uuid.uuid4())


async def _balances(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> list[int]:
    """credits posted - debits posted of each account."""
    records = {r.account.id: r for r in await ledger.lookup_accounts(conn, ids)}
    return [records[i].balance.credits_posted - records[i].balance.debits_posted for i in ids]


async def _reclaim(
    s: api_grpc.PaymentServiceStub,
    b: FundedBudget,
    provider: str,
    amount: int,
    grounds: api.RepaymentGrounds = api.REPAYMENT_GROUNDS_THEFT_OR_FRAUD,
) -> api.Repayment:
    owed = await s.RequireRepayment(
        api.RequireRepaymentRequest(
            request_id=_rid(),
            budget_id=str(b.budget_id),
            payee_id=provider,
            grounds=grounds,
            reasons=["reg 15"],
            amount_pence=amount,
            due_date="2026-12-31",
            repayer=api.REPAYER_PAYEE,
        )
    )
    received: api.Repayment = await s.RecordRepaymentReceived(
        api.RecordRepaymentReceivedRequest(
            request_id=_rid(), repayment_id=owed.repayment_id, amount_pence=amount
        )
    )
    return received


async def _end(conn: asyncpg.Connection, b: FundedBudget) -> None:
    """What allocation does when a budget ends (its sweep and BudgetEnded): each stream's
    available balance goes back to its funder."""
    left = await available(conn, b)
    sources = (RING_FENCE, COUNCIL_POT, CONTRIBUTION)
    moves = [
        Transfer(uuid.uuid4(), a, src, amount, "budget_ended", str(b.budget_id), funding=True)
        for a, src, amount in zip(b.accounts, sources, left, strict=True)
        if amount > 0
    ]
    assert set(await ledger.create_transfers(conn, moves)) <= {ledger.CreateTransferResult.OK}
    await read_model.apply_budget(conn, read_model.BudgetFacts(b.budget_id, state="ENDED"))


async def _returned_event(conn: asyncpg.Connection) -> ev.RepaymentReceived:
    rows = [r for r in await outbox(conn) if r["subject"].endswith("repayment.received.v1")]
    envelope = envelope_pb2.EventEnvelope()
    envelope.ParseFromString(rows[-1]["envelope"])
    payload = ev.RepaymentReceived()
    assert envelope.payload.Unpack(payload)
    return payload


async def test_an_estate_repayment_after_a_death_goes_back_to_the_funders(
    start_service: StartService,
) -> None:
    """The issue's reproduction: the estate repays 58,571p for an ended budget; before the fix
    it stayed in the ended budget's NHS account and reached neither ring-fence nor pot."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (100_000, 100_000, 0), bp=(6000, 4000, 0))
        provider = await payee(s)
        await s.ReleasePayment(release(b, provider, 97_619))  # 58,571 NHS + 39,048 council
        await _end(conn, b)
        fence_before = await _balances(conn, [RING_FENCE, COUNCIL_POT])
        got = await _reclaim(s, b, provider, 97_619, api.REPAYMENT_GROUNDS_DEATH)
        assert (got.streams.nhs_pence, got.streams.council_pence) == (58_571, 39_048)
        assert await available(conn, b) == [0, 0, 0]
        after = await _balances(conn, [RING_FENCE, COUNCIL_POT])
        assert [a - x for a, x in zip(after, fence_before, strict=True)] == [58_571, 39_048]
        event = await _returned_event(conn)
        assert sorted(
            (r.funding_stream, r.account_kind, r.amount_pence) for r in event.returned_to_funders
        ) == [
            ("COUNCIL", "allocation", 39_048),
            ("NHS", "ring_fence", 58_571),
        ]


async def test_a_fraud_reclaim_on_a_live_budget_is_not_spendable_again(
    start_service: StartService,
) -> None:
    """Before the fix the received money went back into the live budget's accounts, spendable
    again; a second input of the same kind: all three streams, received in two parts."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (50_000, 30_000, 20_000), bp=(5000, 3000, 2000))
        provider = await payee(s)
        await s.ReleasePayment(release(b, provider, 10_000))
        before = await available(conn, b)
        funders_before = await _balances(conn, [RING_FENCE, COUNCIL_POT, CONTRIBUTION])
        owed = await s.RequireRepayment(
            api.RequireRepaymentRequest(
                request_id=_rid(),
                budget_id=str(b.budget_id),
                payee_id=provider,
                grounds=api.REPAYMENT_GROUNDS_THEFT_OR_FRAUD,
                reasons=["fraud"],
                amount_pence=6_001,
                due_date="2026-12-31",
                repayer=api.REPAYER_PAYEE,
            )
        )
        for part in (3_000, 3_001):
            await s.RecordRepaymentReceived(
                api.RecordRepaymentReceivedRequest(
                    request_id=_rid(), repayment_id=owed.repayment_id, amount_pence=part
                )
            )
        assert await available(conn, b) == before
        funders_after = await _balances(conn, [RING_FENCE, COUNCIL_POT, CONTRIBUTION])
        back = [a - x for a, x in zip(funders_after, funders_before, strict=True)]
        assert sum(back) == 6_001
        assert back == [
            owed.streams.nhs_pence,
            owed.streams.council_pence,
            owed.streams.client_pence,
        ]


async def test_after_the_close_nhs_money_passes_through_the_ring_fence_to_the_allocation(
    start_service: StartService,
) -> None:
    """A ring-fence of a closed year funds nothing more: what a repayment returns to it goes on
    to the commissioner's general allocation (as allocation does for a return after the
    close), and the ring-fence stays at zero."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        fence, general = (
            chart.ring_fence("QNQ", 2026, ""),
            chart.commissioner_allocation("QNQ", 2026),
        )
        source = chart.commissioner_source("QNQ", 2026)
        await ledger.create_accounts(conn, [source, general, fence])
        seed = [
            Transfer(uuid.uuid4(), source.id, general.id, 90_000, "allocation", funding=False),
            Transfer(uuid.uuid4(), general.id, fence.id, 90_000, "ring_fence", funding=True),
        ]
        assert set(await ledger.create_transfers(conn, seed)) == {ledger.CreateTransferResult.OK}
        b = await funded_budget(conn, (0, 0, 0), bp=(10_000, 0, 0))
        fund = Transfer(
            uuid.uuid4(), fence.id, b.accounts[0], 90_000, "budget_agreed", funding=True
        )
        assert await ledger.create_transfers(conn, [fund]) == [ledger.CreateTransferResult.OK]
        provider = await payee(s)
        await s.ReleasePayment(release(b, provider, 40_000))
        await read_model.close_year(conn, "QNQ", 2026, date(2027, 4, 30))
        general_before = (await _balances(conn, [general.id]))[0]
        await _reclaim(s, b, provider, 12_345, api.REPAYMENT_GROUNDS_OUTSIDE_PLAN)
        assert (await _balances(conn, [fence.id]))[0] == 0
        assert (await _balances(conn, [general.id]))[0] == general_before + 12_345
        assert await available(conn, b) == [50_000, 0, 0]
        event = await _returned_event(conn)
        assert [r.passed_on_to_account_id for r in event.returned_to_funders] == [str(general.id)]
