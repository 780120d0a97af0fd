"""One meaning per request_id in the payment service (issue 12, item 2): a request_id names one
request; a retry with the same method and payload gets the first answer; anything else with that
id, in the same batch, concurrently or later, gets ALREADY_EXISTS REQUEST_ID_REUSED and moves
nothing. Five spellings of one UUID are one request_id."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest

from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.service_layer.handlers import PaymentHandlers
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared.errors import DomainError
from onebudget.shared.identity import Actor, Role, acting_as
from tests.conftest import TEST_TOKENS, StartService
from tests.integration.test_payment_support import (
    FundedBudget,
    available,
    error_of,
    funded_budget,
    payee,
    release,
    stub,
)

REUSED = (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
FUNDS = (1_000_000, 1_000_000, 0)  # 60/40 lines: what moved is read from the balances


def spellings(request_id: str) -> list[str]:
    """Lower case, upper case, without dashes, in braces and as urn:uuid:."""
    return [
        request_id,
        request_id.upper(),
        request_id.replace("-", ""),
        "{" + request_id + "}",
        "urn:uuid:" + request_id,
    ]


def reserve(b: FundedBudget, payee_id: str, amount: int, request_id: str) -> Any:
    return api.ReservePaymentRequest(
        request_id=request_id,
        budget_id=str(b.budget_id),
        plan_line_id=str(b.line_id),
        payee_id=payee_id,
        amount_pence=amount,
        service_period_start="2026-05-01",
        service_period_end="2026-05-31",
        broker_reference="BRK-1",
    )


async def moved(conn: Any, b: FundedBudget) -> int:
    """Pence that left the budget's streams (released or held)."""
    return sum(FUNDS) - sum(await available(conn, b))


async def payments(conn: Any) -> list[Any]:
    return list(
        await conn.fetch(
            "SELECT kind, amount_pence, reserved_pence, request_id FROM payment.payments"
        )
    )


async def outcome(call: Any) -> Any:
    try:
        return await call
    except grpc.aio.AioRpcError as error:
        return error_of(error)[:2]


async def test_bulk_items_sharing_a_request_id_with_other_amounts(
    start_service: StartService,
) -> None:
    """Issue 12: items of 300p and 400p with one request_id both came back as the 300p payment."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, FUNDS)
        provider = await payee(s)
        shared, other = str(uuid.uuid4()), str(uuid.uuid4())
        items = [
            release(b, provider, 300, request_id=shared),
            release(b, provider, 400, request_id=shared),
            release(b, provider, 300, request_id=shared),  # a retry of the first, same batch
            release(b, provider, 500, request_id=other),
            release(b, provider, 500, request_id=other.upper(), broker_reference="BRK-2"),
        ]
        answer = await s.ReleasePayments(
            api.ReleasePaymentsRequest(request_id=str(uuid.uuid4()), payments=items)
        )
        r = answer.results
        assert r[0].payment.amount_pence == 300
        assert (r[1].WhichOneof("outcome"), r[1].error.code, r[1].error.reason) == (
            "error",
            grpc.StatusCode.ALREADY_EXISTS.value[0],
            "REQUEST_ID_REUSED",
        )
        assert r[2].payment == r[0].payment
        assert r[3].payment.amount_pence == 500
        assert r[4].error.reason == "REQUEST_ID_REUSED"
        assert await moved(conn, b) == 800
        assert sorted(p["amount_pence"] for p in await payments(conn)) == [300, 500]
        # Later, alone: the same answers.
        again = await s.ReleasePayments(
            api.ReleasePaymentsRequest(request_id=str(uuid.uuid4()), payments=items[1:3])
        )
        assert again.results[0].error.reason == "REQUEST_ID_REUSED"
        assert again.results[1].payment == r[0].payment
        assert await moved(conn, b) == 800


async def test_unary_calls_in_one_batch_with_other_payloads(start_service: StartService) -> None:
    """Two unary calls that land in the same batch (queued before the worker wakes): the
    second, with another amount, was answered with the first's payment."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    handlers = PaymentHandlers(
        host.runtime.pool, PaymentSettings(batch_workers=1), host.runtime.clock
    )
    try:
        async with channel, host.runtime.pool.acquire() as conn:
            b = await funded_budget(conn, FUNDS)
            provider = await payee(s)
            rid = str(uuid.uuid4())
            first, second, retry = await asyncio.gather(
                handlers.release_payment(release(b, provider, 300, request_id=rid)),
                handlers.release_payment(release(b, provider, 400, request_id=rid)),
                handlers.release_payment(release(b, provider, 300, request_id=rid.upper())),
                return_exceptions=True,
            )
            assert handlers.batcher.stats.batches == 1
            assert isinstance(first, api.Payment)
            assert first.amount_pence == 300
            assert isinstance(second, DomainError)
            assert second.reason == "REQUEST_ID_REUSED"
            assert retry == first
            assert await moved(conn, b) == 300
    finally:
        await handlers.batcher.stop()


async def test_reserve_and_release_sharing_a_request_id(start_service: StartService) -> None:
    """The reserve caller was told OK with a RELEASE (money paid out, not held): in one batch,
    and one after the other in either order."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    handlers = PaymentHandlers(
        host.runtime.pool, PaymentSettings(batch_workers=1), host.runtime.clock
    )
    try:
        async with channel, host.runtime.pool.acquire() as conn:
            b = await funded_budget(conn, FUNDS)
            provider = await payee(s)
            rid = str(uuid.uuid4())
            # As the broker the gRPC calls below act as (a request_id answers one caller only).
            broker = Actor(
                f"{TEST_TOKENS.subject}:care_broker", Role.CARE_BROKER, TEST_TOKENS.organisations()
            )
            with acting_as(broker):
                # The budget's organisations read once (a read), so the scope check of each
                # command below waits on nothing and the release is queued first.
                await handlers.get_budget_statement(
                    api.GetBudgetStatementRequest(budget_id=str(b.budget_id))
                )
                paid, held = await asyncio.gather(
                    handlers.release_payment(release(b, provider, 300, request_id=rid)),
                    handlers.reserve_payment(reserve(b, provider, 300, rid)),
                    return_exceptions=True,
                )
            assert isinstance(paid, api.Payment)
            assert paid.kind == api.PAYMENT_KIND_RELEASE
            assert isinstance(held, DomainError)
            assert (held.reason, held.metadata["first_method"]) == (
                "REQUEST_ID_REUSED",
                "ReleasePayment",
            )
            # Later, over gRPC, both ways round.
            assert await outcome(s.ReservePayment(reserve(b, provider, 300, rid))) == REUSED
            rid2 = str(uuid.uuid4())
            first = await s.ReservePayment(reserve(b, provider, 200, rid2))
            assert first.kind == api.PAYMENT_KIND_RESERVATION
            assert await outcome(s.ReleasePayment(release(b, provider, 200, request_id=rid2))) == (
                REUSED
            )
            assert (
                await outcome(
                    s.ConfirmPayment(
                        api.ConfirmPaymentRequest(
                            request_id=rid2, payment_id=first.payment_id, amount_pence=200
                        )
                    )
                )
                == REUSED
            )
            assert await moved(conn, b) == 500
            assert sorted(
                (p["kind"], p["amount_pence"] + p["reserved_pence"]) for p in await payments(conn)
            ) == [("RELEASE", 300), ("RESERVATION", 200)]
    finally:
        await handlers.batcher.stop()


CALLS = 60


async def test_concurrent_calls_sharing_an_id_with_other_payloads(
    start_service: StartService,
) -> None:
    """Exactly one succeeds; every other gets REQUEST_ID_REUSED; one payment, its money once."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, FUNDS)
        provider = await payee(s)
        rid = str(uuid.uuid4())
        calls = [
            s.ReleasePayment(release(b, provider, 100 + k, request_id=rid)) for k in range(CALLS)
        ]
        calls += [s.ReservePayment(reserve(b, provider, 100 + k, rid)) for k in range(10)]
        outcomes = await asyncio.gather(*[outcome(c) for c in calls])
        won = [o for o in outcomes if isinstance(o, api.Payment)]
        assert len(won) == 1
        assert [o for o in outcomes if not isinstance(o, api.Payment)] == [REUSED] * (
            len(calls) - 1
        )
        rows = await payments(conn)
        assert len(rows) == 1
        # A reservation answers its amount as both amount_pence and reserved_pence (the money
        # held); a release moves amount_pence. Either way the winner's money moved once.
        first = won[0]
        held = first.kind == api.PAYMENT_KIND_RESERVATION
        assert await moved(conn, b) == (first.reserved_pence if held else first.amount_pence)


async def test_concurrent_calls_sharing_an_id_and_payload(start_service: StartService) -> None:
    """All get the first answer (in any of the five spellings); the money moves once."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, FUNDS)
        provider = await payee(s)
        rid = str(uuid.uuid4())
        names = spellings(rid)
        calls = [
            s.ReleasePayment(release(b, provider, 777, request_id=names[k % len(names)]))
            for k in range(CALLS)
        ]
        answers = await asyncio.gather(*calls)
        assert len({a.SerializeToString(deterministic=True) for a in answers}) == 1
        assert await moved(conn, b) == 777
        assert [p["request_id"] for p in await payments(conn)] == [rid]


@pytest.mark.parametrize("bulk", [False, True])
async def test_five_spellings_make_one_payment(start_service: StartService, bulk: bool) -> None:
    """One UUID in lower case, upper case, without dashes, in braces and as urn:uuid: made five
    payments. Now the same payload is one payment (five times its answer), and another payload
    under any spelling is REQUEST_ID_REUSED."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, FUNDS)
        provider = await payee(s)
        rid = str(uuid.uuid4()).upper()  # the first spelling need not be the canonical one
        names = spellings(rid.lower())
        if bulk:
            answer = await s.ReleasePayments(
                api.ReleasePaymentsRequest(
                    request_id=str(uuid.uuid4()),
                    payments=[release(b, provider, 250, request_id=n) for n in names],
                )
            )
            paid = [r.payment for r in answer.results]
        else:
            paid = [await s.ReleasePayment(release(b, provider, 250, request_id=n)) for n in names]
        assert len({p.payment_id for p in paid}) == 1
        assert await moved(conn, b) == 250
        for n in names:
            changed = release(b, provider, 251, request_id=n)
            assert await outcome(s.ReleasePayment(changed)) == REUSED
        assert await moved(conn, b) == 250
        assert len(await payments(conn)) == 1


async def test_bulk_call_in_another_spelling_derives_the_same_ids(
    start_service: StartService,
) -> None:
    """Items without their own request_id get one derived from the call's: a retry of the call
    in another spelling of its id moves nothing again."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, FUNDS)
        provider = await payee(s)
        outer = str(uuid.uuid4())
        items = [release(b, provider, 100 + k, request_id="") for k in range(3)]
        first = await s.ReleasePayments(
            api.ReleasePaymentsRequest(request_id=outer, payments=items)
        )
        again = await s.ReleasePayments(
            api.ReleasePaymentsRequest(request_id="{" + outer.upper() + "}", payments=items)
        )
        assert first == again
        assert await moved(conn, b) == 303


async def test_badly_spelled_request_ids_are_invalid(start_service: StartService) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, FUNDS)
        provider = await payee(s)
        rid = str(uuid.uuid4())
        for bad in ["0x" + rid.replace("-", "")[2:], rid.replace("-", "_"), f" {rid}"]:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await s.ReleasePayment(release(b, provider, 100, request_id=bad))
            code, _, _, fields = error_of(caught.value)
            assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["request_id"])
        assert await moved(conn, b) == 0
