"""Hypothesis state machine through the payment service's gRPC API, against an in-memory model.

Random releases, reservations, confirmations, cancellations, returns, reclaims, schedule runs and
invalid calls on random budgets (funded at random, or with exactly the line's own split), whose
line is held notionally or by direct payment: the model predicts who the line may pay (a
direct-payment line only the person's own account, never another person's; a notional line
never a direct-payment account), that a schedule runs only on a direct-payment line with
instalments within the line, and that the last instalment pays only what is left. After
every step: no stream's available balance is below zero and each equals the model's; each
funder's spend in the ledger (payee accounts) equals the sum of the parts; the plan line's
per-stream commitment equals the model's, never exceeds the line's own split F, and is F exactly
when the line is fully committed (ADR 7: parts over the line's life); a refused call changed no
balance; every committed change published exactly one event (and the first instalment one
DirectPaymentStarted more).

The service runs in its own thread and event loop for the whole test (starting one per example
would dominate the run); each example gets new budgets and payees.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from onebudget import ledger
from onebudget.ledger import FundingStream
from onebudget.ledger.chart import payee_account_id
from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.service_layer.scheduler import run_due_instalments
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.payment.v1 import payment_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_channel
from onebudget.shared.clock import SYSTEM_CLOCK, FixedClock
from onebudget.shared.money import next_parts, split_by_basis_points, split_largest_remainder
from onebudget.shared.server import ServiceHost
from tests.conftest import service_config
from tests.integration.test_payment_support import FundedBudget, funded_budget

FUNDERS = {
    FundingStream.NHS: uuid.UUID(int=1),
    FundingStream.COUNCIL: uuid.UUID(int=2),
    FundingStream.CLIENT: uuid.UUID(int=3),
}  # test_payment_support's funders of every budget

T = TypeVar("T")
STREAMS = (FundingStream.NHS, FundingStream.COUNCIL, FundingStream.CLIENT)
SPLITS = [(10000, 0, 0), (6000, 4000, 0), (5000, 3000, 2000), (3333, 3333, 3334), (0, 0, 10000)]


class Service:
    """A payment service on its own event loop thread, with a sync gRPC stub."""

    def __init__(self, pg_url: str, nats_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.db_name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin_url = pg_url
        url = f"{pg_url.rpartition('/')[0]}/{self.db_name}"
        self.run(self._create_db())
        config = service_config(
            SPEC, url, nats_url, log_level="warning", pool_size_max=4, shutdown_grace_s=1
        )
        self.host = ServiceHost(SPEC, config)
        self.run(self.host.start())
        self.channel = open_channel(self.host.address)
        self.stub = api_grpc.PaymentServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    @property
    def pool(self) -> asyncpg.Pool:
        assert self.host.runtime is not None
        return self.host.runtime.pool

    async def _create_db(self) -> None:
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            await admin.close()

    async def _drop_db(self) -> None:
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        finally:
            await admin.close()

    def close(self) -> None:
        self.channel.close()
        self.run(self.host.stop())
        self.run(self._drop_db())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def service(pg_url: str, nats_url: str) -> Iterator[Service]:
    s = Service(pg_url, nats_url)
    try:
        yield s
    finally:
        s.close()


SERVICE: list[Service] = []


def _rid() -> str:
    return str(uuid.uuid4())


class PaymentMachine(RuleBasedStateMachine):
    @initialize(
        funds=st.tuples(*[st.integers(0, 50_000)] * 3),
        bp=st.sampled_from(SPLITS),
        cost=st.integers(1, 120_000),
        exact=st.booleans(),
        direct=st.booleans(),
    )
    def setup(
        self,
        funds: tuple[int, int, int],
        bp: tuple[int, int, int],
        cost: int,
        exact: bool,
        direct: bool,
    ) -> None:
        self.svc = SERVICE[0]
        self.bp = bp
        self.cost = cost
        # How the line's money is held decides who it pays (a direct payment: only the
        # person's own direct-payment account; notional: never a direct-payment account).
        self.direct = direct
        self.whole = split_by_basis_points(cost, list(bp))  # F: the line's own split
        if exact:  # as allocation funds a budget of this one line
            funds = (self.whole[0], self.whole[1], self.whole[2])
        self.line_done = [0, 0, 0]  # what the line has committed per stream
        self.budget: FundedBudget = self.svc.run(self._budget(funds, bp, cost))
        self.provider = self._payee(api.PAYEE_KIND_PROVIDER)
        self.dp = self._payee(api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, self.budget.person_id)
        # Another person's account: a person with a budget of the same organisations, as a
        # broker may register an account only for a person whose budget it works on (issue 14).
        other = self.svc.run(self._budget((0, 0, 0), bp, 1))
        self.other_dp = self._payee(api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT, other.person_id)
        self.available = list(funds)
        self.spent = {self.provider: [0, 0, 0], self.dp: [0, 0, 0], self.other_dp: [0, 0, 0]}
        # What received repayments sent back to the funders (issue 13, item 12), per stream.
        self.to_funders = [0, 0, 0]
        self.funders_at_start = self.svc.run(self._funders())
        self.committed = 0
        # payment -> (payee, parts paid, parts returned)
        self.paid: dict[str, tuple[str, list[int], list[int]]] = {}
        self.held: dict[str, list[int]] = {}  # reservation -> reserved parts
        self.owed: dict[str, list[int]] = {}  # open repayment -> parts outstanding
        self.events = self._events()
        self.schedule: api.Schedule | None = None
        self.today = SYSTEM_CLOCK.today()
        self.instalments_paid = 0
        self.started = False
        self.stopped: str | None = None  # the open stop's grounds (StopPayments, reg 17)

    async def _budget(self, funds: tuple[int, int, int], bp: Any, cost: int) -> FundedBudget:
        async with self.svc.pool.acquire() as conn:
            return await funded_budget(
                conn,
                funds,
                bp=bp,
                cost_pence=cost,
                management_option="DIRECT_PAYMENT" if self.direct else "NOTIONAL",
            )

    def _payee(self, kind: api.PayeeKind, holder: uuid.UUID | None = None) -> str:
        p = self.svc.stub.RegisterPayee(
            api.RegisterPayeeRequest(
                request_id=_rid(), kind=kind, name="payee", person_id=str(holder or "")
            )
        )
        return str(p.payee_id)

    def _payee_refusal(self, payee: str) -> str | None:
        """The management option's rule on who the line pays (state, before money; after a
        stop, which `_predict` answers: PAYMENTS_STOPPED comes first)."""
        if self.stopped:
            return None
        if self.direct != (payee in (self.dp, self.other_dp)):
            return "PAYEE_NOT_FOR_MANAGEMENT_OPTION"
        if payee == self.other_dp:
            return "DIRECT_PAYMENT_ACCOUNT_OF_ANOTHER_PERSON"
        return None

    def _events(self) -> int:
        async def count() -> int:
            return int(await self.svc.pool.fetchval("SELECT count(*) FROM payment.outbox"))

        return self.svc.run(count())

    def _predict(self, amount: int) -> tuple[str, list[int]]:
        if self.stopped:
            return "PAYMENTS_STOPPED", []
        if self.committed + amount > self.cost:
            return "PLAN_LINE_EXCEEDED", []
        parts = next_parts(self.whole, self.line_done, amount)
        if any(p > a for p, a in zip(parts, self.available, strict=True)):
            return "INSUFFICIENT_FUNDS", parts
        return "OK", parts

    def _call(self, method: str, request: Any) -> tuple[str, Any]:
        try:
            return "OK", getattr(self.svc.stub, method)(request)
        except grpc.RpcError as error:
            status = rpc_status.from_call(error)
            assert status is not None
            for detail in status.details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    return info.reason, None
            raise

    def _ask(self, amount: int) -> dict[str, Any]:
        return {
            "request_id": _rid(),
            "budget_id": str(self.budget.budget_id),
            "plan_line_id": str(self.budget.line_id),
            "amount_pence": amount,
        }

    @rule(amount=st.integers(1, 30_000), to=st.sampled_from(["provider", "dp", "other_dp"]))
    def release(self, amount: int, to: str) -> None:
        payee: str = getattr(self, to)
        refused = self._payee_refusal(payee)
        expected, parts = (refused, []) if refused else self._predict(amount)
        got, payment = self._call(
            "ReleasePayment", api.ReleasePaymentRequest(payee_id=payee, **self._ask(amount))
        )
        assert got == expected
        if got == "OK":
            self._spend(payee, parts)
            self.paid[payment.payment_id] = (payee, list(parts), [0, 0, 0])
            self.events += 1

    def _spend(self, payee: str, parts: list[int]) -> None:
        for k in range(3):
            self.available[k] -= parts[k]
            self.spent[payee][k] += parts[k]
        self._commit(parts)

    def _commit(self, parts: list[int], sign: int = 1) -> None:
        for k in range(3):
            self.line_done[k] += sign * parts[k]
        self.committed += sign * sum(parts)

    @rule(amount=st.integers(1, 30_000))
    def reserve(self, amount: int) -> None:
        refused = self._payee_refusal(self.provider)
        expected, parts = (refused, []) if refused else self._predict(amount)
        got, payment = self._call(
            "ReservePayment", api.ReservePaymentRequest(payee_id=self.provider, **self._ask(amount))
        )
        assert got == expected
        if got == "OK":
            for k in range(3):
                self.available[k] -= parts[k]
            self._commit(parts)
            self.held[payment.payment_id] = list(parts)
            assert sum(parts) == payment.amount_pence  # the answer names what is held
            assert [
                payment.streams.nhs_pence,
                payment.streams.council_pence,
                payment.streams.client_pence,
            ] == parts
            self.events += 1

    @precondition(lambda self: bool(self.held))
    @rule(data=st.data())
    def confirm_or_cancel(self, data: st.DataObject) -> None:
        payment_id = data.draw(st.sampled_from(list(self.held)))
        reserved = self.held.pop(payment_id)
        amount = data.draw(st.integers(0, sum(reserved) + 1))
        if amount and self.stopped:  # a hold made before a stop is not paid during it
            got, _ = self._call(
                "ConfirmPayment",
                api.ConfirmPaymentRequest(
                    request_id=_rid(), payment_id=payment_id, amount_pence=amount
                ),
            )
            assert got == "PAYMENTS_STOPPED"
            self.held[payment_id] = reserved
            return
        for k in range(3):
            self.available[k] += reserved[k]
        self._commit(reserved, -1)
        if amount == 0:
            got, _ = self._call(
                "CancelPayment", api.CancelPaymentRequest(request_id=_rid(), payment_id=payment_id)
            )
            assert got == "OK"
            self.events += 1
            return
        got, _ = self._call(
            "ConfirmPayment",
            api.ConfirmPaymentRequest(
                request_id=_rid(), payment_id=payment_id, amount_pence=amount
            ),
        )
        if amount > sum(reserved):
            assert got == "CONFIRM_EXCEEDS_RESERVED"
            for k in range(3):
                self.available[k] -= reserved[k]
            self._commit(reserved)
            self.held[payment_id] = reserved
            return
        assert got == "OK"
        rest = sum(reserved) - amount  # goes back by the rule over the payment's life
        freed = next_parts(reserved, [0, 0, 0], rest) if rest else [0, 0, 0]
        parts = [r - f for r, f in zip(reserved, freed, strict=True)]
        self._spend(self.provider, parts)
        self.paid[payment_id] = (self.provider, parts, [0, 0, 0])
        self.events += 1

    @precondition(lambda self: bool(self.paid))
    @rule(data=st.data())
    def record_return(self, data: st.DataObject) -> None:
        payment_id = data.draw(st.sampled_from(list(self.paid)))
        payee, paid, returned = self.paid[payment_id]
        left = sum(paid) - sum(returned)
        amount = data.draw(st.integers(1, left + 1))
        got, _ = self._call(
            "RecordReturn",
            api.RecordReturnRequest(
                request_id=_rid(), payment_id=payment_id, amount_pence=amount, reason="refund"
            ),
        )
        if amount > left:
            assert got == "RETURN_EXCEEDS_PAYMENT"
            return
        assert got == "OK"
        parts = next_parts(paid, returned, amount)  # exactly the parts it took, over returns
        for k in range(3):
            returned[k] += parts[k]
            self.available[k] += parts[k]
            self.spent[payee][k] -= parts[k]
        self._commit(parts, -1)
        self.events += 1

    @rule(amount=st.integers(1, 5_000), receive=st.integers(0, 5_000))
    def reclaim(self, amount: int, receive: int) -> None:
        claimable = [
            s - o for s, o in zip(self.spent[self.provider], self._owed_total(), strict=True)
        ]
        got, owed = self._call(
            "RequireRepayment",
            api.RequireRepaymentRequest(
                request_id=_rid(),
                budget_id=str(self.budget.budget_id),
                payee_id=self.provider,
                grounds=api.REPAYMENT_GROUNDS_OUTSIDE_PLAN,
                reasons=["outside plan"],
                amount_pence=amount,
                due_date="2030-01-01",
                repayer=api.REPAYER_PAYEE,
            ),
        )
        if amount > sum(claimable):
            assert got == "REPAYMENT_EXCEEDS_PAID"
            return
        assert got == "OK"
        self.events += 1
        parts = split_largest_remainder(amount, claimable)
        self.owed[owed.repayment_id] = parts
        if 0 < receive <= amount:
            got, _ = self._call(
                "RecordRepaymentReceived",
                api.RecordRepaymentReceivedRequest(
                    request_id=_rid(), repayment_id=owed.repayment_id, amount_pence=receive
                ),
            )
            assert got == "OK"
            back = split_largest_remainder(receive, parts)
            for k in range(3):
                # Received money goes back to the funders, not into the budget (issue 13).
                self.spent[self.provider][k] -= back[k]
                self.to_funders[k] += back[k]
                parts[k] -= back[k]
            self.events += 1

    def _owed_total(self) -> list[int]:
        return [sum(p[k] for p in self.owed.values()) for k in range(3)]

    @rule(grounds=st.sampled_from(["MISUSE", "FRAUD", "INELIGIBILITY"]))
    def stop(self, grounds: str) -> None:
        got, stop = self._call(
            "StopPayments",
            api.StopPaymentsRequest(
                request_id=_rid(),
                budget_id=str(self.budget.budget_id),
                grounds=f"STOP_GROUNDS_{grounds}",
                reasons=["the review found it"],
            ),
        )
        if self.stopped:
            assert got == "PAYMENTS_ALREADY_STOPPED"
            return
        assert got == "OK"
        assert stop.resumed_on == ""
        self.stopped = grounds
        self.events += 1

    @rule()
    def resume(self) -> None:
        got, stop = self._call(
            "ResumePayments",
            api.ResumePaymentsRequest(
                request_id=_rid(),
                budget_id=str(self.budget.budget_id),
                reasons=["resolved"],
            ),
        )
        if not self.stopped:
            assert got == "PAYMENTS_NOT_STOPPED"
            return
        assert got == "OK"
        assert stop.resumed_on == self.today.isoformat()
        self.stopped = None
        self.events += 1

    @rule(instalment=st.integers(1, 20_000))
    def run_schedule(self, instalment: int) -> None:
        if self.schedule is None and self.stopped:
            got, _ = self._call(
                "CreateSchedule",
                api.CreateScheduleRequest(
                    request_id=_rid(),
                    budget_id=str(self.budget.budget_id),
                    plan_line_id=str(self.budget.line_id),
                    payee_id=self.dp,
                    instalment_pence=instalment,
                    every_weeks=1,
                    start_date=self.today.isoformat(),
                ),
            )
            assert got == "PAYMENTS_STOPPED"
            return
        if self.schedule is None:
            # Only on a direct-payment line, each instalment within what is left of the line
            # (the budget has no end date here, so the cover cannot be counted).
            left = self.cost - self.committed
            created = (
                "NOT_A_DIRECT_PAYMENT_LINE"
                if not self.direct
                else "SCHEDULE_EXCEEDS_LINE"
                if instalment > left
                else "OK"
            )
            got, self.schedule = self._call(
                "CreateSchedule",
                api.CreateScheduleRequest(
                    request_id=_rid(),
                    budget_id=str(self.budget.budget_id),
                    plan_line_id=str(self.budget.line_id),
                    payee_id=self.dp,
                    instalment_pence=instalment,
                    every_weeks=1,
                    start_date=self.today.isoformat(),
                ),
            )
            assert got == created
            if got != "OK":
                return
        assert self.schedule is not None
        # One instalment is due on each run: the scheduler's "today" moves a week each time.
        due = self.today + timedelta(weeks=self.instalments_paid)
        left = self.cost - self.committed  # the last instalment pays only what is left
        each = self.schedule.instalment_pence
        expected, parts = self._predict(min(each, left) if left > 0 else each)
        self.svc.run(run_due_instalments(self.svc.pool, PaymentSettings(), FixedClock.on(due), 10))
        self.instalments_paid += 1
        self.events += 1  # InstalmentPaid or InstalmentFailed
        if expected == "OK":
            if not self.started:
                self.events += 1  # DirectPaymentStarted with the first paid instalment
                self.started = True
            self._spend(self.dp, parts)

    @rule()
    def invalid_release(self) -> None:
        got, _ = self._call(
            "ReleasePayment",
            api.ReleasePaymentRequest(request_id="x", budget_id=str(self.budget.budget_id)),
        )
        assert got == "INVALID_REQUEST"

    def teardown(self) -> None:
        """End this example's schedule: later examples run the scheduler with later dates."""
        if hasattr(self, "svc"):
            self.svc.run(self.svc.pool.execute("UPDATE payment.schedules SET state = 'ENDED'"))

    @invariant()
    def ledger_agrees(self) -> None:
        if not hasattr(self, "svc"):
            return
        avail, spent = self.svc.run(self._ledger())
        assert avail == self.available
        assert min(avail) >= 0
        assert spent == self.spent
        funders = self.svc.run(self._funders())
        assert [n - b for n, b in zip(funders, self.funders_at_start, strict=True)] == (
            self.to_funders
        )
        assert self._events() == self.events
        line = self.svc.run(self._line())
        assert line == [self.committed, *self.line_done]
        assert all(d <= w for d, w in zip(self.line_done, self.whole, strict=True))
        if self.committed == self.cost:  # fully committed: each funder exactly its share of F
            assert self.line_done == self.whole

    async def _funders(self) -> list[int]:
        """Posted balance (credits - debits) of the accounts that funded the budget."""
        ids = [FUNDERS[s] for s in STREAMS]
        async with self.svc.pool.acquire() as conn:
            found = {r.account.id: r.balance for r in await ledger.lookup_accounts(conn, ids)}
        return [found[i].credits_posted - found[i].debits_posted for i in ids]

    async def _line(self) -> list[int]:
        row = await self.svc.pool.fetchrow(
            "SELECT committed_pence, committed_nhs_pence, committed_council_pence,"
            " committed_client_pence FROM payment.plan_lines WHERE plan_line_id = $1",
            self.budget.line_id,
        )
        return list(row)

    async def _ledger(self) -> tuple[list[int], dict[str, list[int]]]:
        async with self.svc.pool.acquire() as conn:
            records = await ledger.lookup_accounts(conn, list(self.budget.accounts))
            by_id = {r.account.id: r.balance.available for r in records}
            spent: dict[str, list[int]] = {}
            for payee in self.spent:
                ids = [payee_account_id(uuid.UUID(payee), s) for s in STREAMS]
                found = {r.account.id: r.balance for r in await ledger.lookup_accounts(conn, ids)}
                spent[payee] = [found[i].credits_posted - found[i].debits_posted for i in ids]
        return [by_id[a] for a in self.budget.accounts], spent


def test_payment_state_machine(service: Service) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    SERVICE[:] = [service]
    run_state_machine_as_test(PaymentMachine)
