"""The demo can be run again (issue 16), through the four real services: a rerun of the same
size is a retry of every request (the same payments, the same refunds, no refusal); a rerun after
someone ended a budget or stopped another's payments goes on and says so in one line each; a
rerun of another size against the same data stops with DemoMismatch saying to use --fresh."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.allocation.v1 import allocation_service_pb2_grpc as al_grpc
from onebudget.demo import loader
from onebudget.demo.rerun import DemoMismatch, every_nth
from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.entitlement.v1 import entitlement_service_pb2 as ent
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as ent_grpc
from onebudget.payment.adapters import repository as payment_repository
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.payment.v1 import payment_service_pb2_grpc as pay_grpc
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.shared import settling
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.clock import SYSTEM_CLOCK
from tests.conftest import StartService

PEOPLE = 6
DURABLES = {
    "payment-read-model-allocation",
    "payment-stop-entitlement",
    "allocation-entitlement",
    "reporting-allocation",
    "reporting-payment",
    "reporting-entitlement",
}
TODAY = date(2026, 11, 29)


def _ids(loaded: loader.Loaded) -> list[str]:
    return [p.payment_id for p in loaded.payments]


async def test_the_demo_runs_again_after_changes_and_refuses_another_size(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEBUDGET_PAYMENT_SCHEDULER_INTERVAL_S", "1")
    hosts = {
        spec.name: await start_service(spec)
        for spec in (ENTITLEMENT, ALLOCATION, PAYMENT, REPORTING)
    }
    addresses = {name: host.address for name, host in hosts.items()}

    first = await loader.load(addresses, people_count=PEOPLE, today=TODAY)
    assert first.notes == []
    assert len(first.budgets) == PEOPLE
    # The stack settles: outboxes drained, instalments due paid, every consumer current.
    payment_host = hosts["payment"]

    async def look() -> settling.Motion:
        seen = await settling.observe(
            payment_host.config.database_url,
            payment_host.config.nats_url,
            lambda conn: payment_repository.schedules_behind(conn, SYSTEM_CLOCK.today()),
        )
        # The bus is shared by the test session: only the services' own durables count here.
        ours = {k: v for k, v in seen.consumers_behind.items() if k.split("/")[1] in DURABLES}
        return settling.Motion(seen.outbox_unsent, ours, seen.schedules_behind)

    assert await settling.wait_settled(look, timeout_s=90) == []
    again = await loader.load(addresses, people_count=PEOPLE, today=TODAY)
    assert again.notes == []
    assert _ids(again) == _ids(first)
    assert every_nth(_ids(again)) == every_nth(_ids(first))

    # Someone ends one budget, stops another's payments and records a third person's death
    # with the tools, then reruns.
    ended, stopped, died = sorted(first.budgets)[:3]
    async with (
        open_aio_channel(addresses["allocation"]) as a,
        open_aio_channel(addresses["payment"]) as p,
        open_aio_channel(addresses["entitlement"]) as e,
    ):
        alloc = al_grpc.AllocationServiceStub(a)  # type: ignore[no-untyped-call]
        payment = pay_grpc.PaymentServiceStub(p)  # type: ignore[no-untyped-call]
        people = ent_grpc.EntitlementServiceStub(e)  # type: ignore[no-untyped-call]
        await people.RecordDeath(
            ent.RecordDeathRequest(
                request_id="8c1b7e2a-3f4d-4b6e-9a0c-5d2e1f3a4b7c",
                person_id=first.budgets[died].person_id,
                died_on=min(TODAY, SYSTEM_CLOCK.today()).isoformat(),
            )
        )
        await alloc.EndBudget(
            al.EndBudgetRequest(
                request_id="5a0e8f0c-51c4-4a57-9d1e-6b0f7f3f2c11",
                budget_id=ended,
                reasons=["needs met"],
                notice_date=TODAY.isoformat(),
                ended_on=TODAY.isoformat(),
            )
        )
        await payment.StopPayments(
            pay.StopPaymentsRequest(
                request_id="2d7c5b1e-9a0f-4e33-8c6d-1f2e3a4b5c6d",
                budget_id=stopped,
                grounds=pay.STOP_GROUNDS_MISUSE,
                reasons=["spent outside the plan"],
                stopped_on=TODAY.isoformat(),
            )
        )
        # Allocation ends the budget when it learns the death (an event): wait for it.
        for _ in range(120):
            now = await alloc.GetBudget(al.GetBudgetRequest(budget_id=died))
            if now.status == al.BUDGET_STATUS_ENDED:
                break
            await asyncio.sleep(0.25)
        assert now.end_reason == al.END_REASON_PERSON_DIED
    after = await loader.load(addresses, people_count=PEOPLE, today=TODAY)
    assert _ids(after) == _ids(first)  # every request was answered as the first time
    assert all("\n" not in note for note in after.notes)
    # Each ended budget is said, the death as such (a rerun said nothing of it: every request
    # was a retry answered as the first time, so nothing was refused).
    assert [n for n in after.notes if died in n] == [
        f"  budget {died}: ended by the person's death on {now.ended_on} since the demo loaded"
        " it; it is left as it is (nothing more is paid from it)"
    ]
    assert any(ended in note and "ended" in note for note in after.notes)

    with pytest.raises(DemoMismatch) as refused:
        await loader.load(addresses, people_count=PEOPLE + 3, today=TODAY)
    assert "--fresh" in str(refused.value)
