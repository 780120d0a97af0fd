"""Faults under load: a PostgreSQL crash (immediate stop), a NATS crash (kill -9), and a kill -9
of each of the four services in turn, while brokers keep releasing payments.

The stack is the one `onebudget up` runs (each service its own process, PostgreSQL with its
default durability), under `.onebudget/<name>/`. A small synthetic world is loaded through the
APIs, then `in_flight` brokers pay 1-99p at a time to one payee of their own against provider
plan lines. A broker that gets UNAVAILABLE, ABORTED or DEADLINE_EXCEEDED sends the same request
again (same request_id): that is what makes a retry safe, and what this harness checks.

After the faults the load stops, the stack settles, and the counts must match:
- pence the brokers were told are paid = payment rows = the payee's ledger accounts;
- no payment twice (each request_id one row) and none lost (every OK answer has its row);
- events in each JetStream stream = that service's outbox rows;
- the reports reconcile with the ledger.
For each fault: how long until a payment went through again once the part was back.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import grpc

from onebudget import ledger
from onebudget.allocation.v1 import allocation_service_pb2 as alloc
from onebudget.demo import loader, synthetic
from onebudget.ledger.chart import payee_account_id
from onebudget.payment.domain.model import STREAMS
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.payment.v1 import payment_service_pb2_grpc as pay_grpc
from onebudget.reporting.v1 import reporting_service_pb2 as rpt
from onebudget.reporting.v1 import reporting_service_pb2_grpc as rpt_grpc
from onebudget.shared import bus
from onebudget.shared.channels import default_token, open_aio_channel, use_token
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.plumbing import outbox_backlog_sql
from onebudget.shared.runtime.infra import project_state_dir
from onebudget.shared.runtime.issuer import RoleTokens
from onebudget.shared.stack import Stack, wait_serving

RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)
CALL_TIMEOUT_S = 5.0
SETTLE_TIMEOUT_S = 180.0
RESUME_TIMEOUT_S = 120.0
RESUME_TARGET_S = 5.0  # issue 15: payments resume within 5 s of the part coming back
SCHEMAS = {"ENTITLEMENT": "entitlement", "ALLOCATION": "allocation", "PAYMENT": "payment"}


@dataclass
class FaultResult:
    part: str
    down_s: float
    resumed_after_s: float | None  # first payment OK after the part was back


@dataclass
class ChaosReport:
    payments_ok: int = 0
    pence_told: int = 0
    pence_in_rows: int = 0
    pence_in_ledger: int = 0
    rows: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected_errors: list[str] = field(default_factory=list)
    retries: int = 0
    refused: int = 0
    faults: list[FaultResult] = field(default_factory=list)
    events: dict[str, tuple[int, int]] = field(default_factory=dict)  # stream -> (msgs, rows)
    reconciled: bool = False
    seconds: float = 0.0
    logs: str = ""  # the stack's logs, kept when the run was not clean

    @property
    def clean(self) -> bool:
        """Nothing lost, nothing twice, every count matching, every part back."""
        return (
            self.lost == 0
            and self.duplicated == 0
            and not self.unexpected_errors
            and self.pence_told == self.pence_in_rows == self.pence_in_ledger
            and all(msgs == rows for msgs, rows in self.events.values())
            and self.reconciled
            and all(f.resumed_after_s is not None for f in self.faults)
        )

    def markdown(self) -> str:
        lines = [
            "| part | down for s | payments again after s | within 5 s |",
            "|---|---:|---:|---|",
        ]
        for fault in self.faults:
            resumed = fault.resumed_after_s
            lines.append(
                f"| {fault.part} | {fault.down_s:.1f} | "
                + (f"{resumed:.2f}" if resumed is not None else "never")
                + f" | {'yes' if resumed is not None and resumed <= RESUME_TARGET_S else 'NO'} |"
            )
        lines += [
            "",
            "| check | value |",
            "|---|---|",
            f"| payments answered OK | {self.payments_ok:,} |",
            f"| pence the brokers were told / in payment rows / in the ledger |"
            f" {self.pence_told:,} / {self.pence_in_rows:,} / {self.pence_in_ledger:,} |",
            f"| lost / duplicated | {self.lost} / {self.duplicated} |",
            f"| retries with the same request_id | {self.retries:,} |",
            f"| answers that were neither OK, a refusal nor retryable | "
            f"{len(self.unexpected_errors)} |",
            *(
                f"| {stream} events in the stream / outbox rows | {msgs:,} / {rows:,} |"
                for stream, (msgs, rows) in sorted(self.events.items())
            ),
            f"| reports reconcile with the ledger | {'yes' if self.reconciled else 'NO'} |",
            f"| run took | {self.seconds:.0f} s |",
        ]
        if self.logs:
            lines.append(f"\nThe stack's logs are kept in {self.logs}.")
        return "\n".join(lines)


@dataclass
class _Load:
    stub: pay_grpc.PaymentServiceStub
    targets: list[tuple[str, str]]  # (budget_id, plan_line_id) paid to providers
    payee_id: str
    report: ChaosReport
    told: dict[str, int] = field(default_factory=dict)  # request_id -> pence, answered OK
    last_ok: float = 0.0
    stopping: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(15))

    async def broker(self, number: int) -> None:
        while not self.stopping:
            budget_id, line_id = self.targets[self.rng.randrange(len(self.targets))]
            amount = self.rng.randint(1, 99)
            request = pay.ReleasePaymentRequest(
                request_id=str(uuid.uuid4()),
                budget_id=budget_id,
                plan_line_id=line_id,
                payee_id=self.payee_id,
                amount_pence=amount,
                broker_reference=f"CHAOS-{number}",
            )
            await self._until_answered(request)

    async def _until_answered(self, request: pay.ReleasePaymentRequest) -> None:
        while True:
            try:
                await self.stub.ReleasePayment(request, timeout=CALL_TIMEOUT_S)
            except grpc.aio.AioRpcError as error:
                if error.code() in RETRYABLE:
                    self.report.retries += 1
                    await asyncio.sleep(0.1)
                    continue
                if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    self.report.refused += 1  # a line used up: a business answer, not a fault
                    return
                self.report.unexpected_errors.append(f"{error.code().name}: {error.details()}")
                return
            self.told[request.request_id] = request.amount_pence
            self.last_ok = time.monotonic()
            return


async def _resumed_after(load: _Load, since: float) -> float | None:
    deadline = since + RESUME_TIMEOUT_S
    while time.monotonic() < deadline:
        if load.last_ok > since:
            return load.last_ok - since
        await asyncio.sleep(0.05)
    return None


async def _fault(
    load: _Load, part: str, down: Callable[[], None], up: Callable[[], None], down_s: float
) -> None:
    started = time.monotonic()
    await asyncio.to_thread(down)
    await asyncio.sleep(down_s)
    await asyncio.to_thread(up)
    back = time.monotonic()
    resumed = await _resumed_after(load, back)
    load.report.faults.append(FaultResult(part, back - started, resumed))


async def _set_up(stack: Stack, people: int) -> tuple[list[tuple[str, str]], str]:
    loaded = await loader.load(stack.addresses, people_count=people, today=SYSTEM_CLOCK.today())
    targets = [
        (budget.budget_id, line.plan_line_id)
        for budget in loaded.budgets.values()
        for line in budget.plan_lines
        if line.management_option != alloc.MANAGEMENT_OPTION_DIRECT_PAYMENT
        and not line.allowed_payee_id
        and line.allowed_payee_kind in (alloc.PAYEE_KIND_UNSPECIFIED, alloc.PAYEE_KIND_PROVIDER)
    ]
    if not targets:
        raise RuntimeError("the synthetic world has no provider plan line to pay")
    async with open_aio_channel(stack.addresses["payment"]) as channel:
        stub = pay_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        payee = await stub.RegisterPayee(
            pay.RegisterPayeeRequest(
                request_id=str(uuid.uuid4()), kind=pay.PAYEE_KIND_PROVIDER, name="Chaos Care Ltd"
            )
        )
    return targets, payee.payee_id


async def _settle_and_count(stack: Stack, load: _Load) -> None:
    assert stack.infra is not None
    report = load.report
    pool = await asyncpg.create_pool(stack.infra.database_url, min_size=1, max_size=2)
    nc = await bus.connect(stack.infra.nats_url, name="onebudget-chaos")
    try:
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            unsent = [
                await pool.fetchval(outbox_backlog_sql(schema)) for schema in SCHEMAS.values()
            ]
            if not any(unsent):
                break
            await asyncio.sleep(0.5)
        js = nc.jetstream()
        for stream, schema in SCHEMAS.items():
            messages = (await js.stream_info(stream)).state.messages
            rows = await pool.fetchval(f"SELECT count(*) FROM {schema}.outbox")
            report.events[stream] = (int(messages), int(rows))
        rows = await pool.fetch(
            "SELECT request_id, amount_pence FROM payment.payments WHERE payee_id = $1",
            uuid.UUID(load.payee_id),
        )
        in_rows = {r["request_id"]: int(r["amount_pence"]) for r in rows}
        report.rows = len(rows)
        report.duplicated = len(rows) - len(in_rows) + len(set(in_rows) - set(load.told))
        report.lost = len(set(load.told) - set(in_rows))
        report.payments_ok = len(load.told)
        report.pence_told = sum(load.told.values())
        report.pence_in_rows = sum(in_rows.values())
        accounts = [payee_account_id(uuid.UUID(load.payee_id), s) for s in STREAMS]
        async with pool.acquire() as conn:
            records = await ledger.lookup_accounts(conn, accounts)
        report.pence_in_ledger = sum(
            r.balance.credits_posted - r.balance.debits_posted for r in records
        )
        report.reconciled = await _reconciled(stack)
    finally:
        await nc.close()
        await pool.close()


async def _reconciled(stack: Stack) -> bool:
    commissioner = synthetic.COMMISSIONER[0]
    year = synthetic.financial_year_of(SYSTEM_CLOCK.today())
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    async with open_aio_channel(stack.addresses["reporting"]) as channel:
        stub = rpt_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
        while time.monotonic() < deadline:
            try:
                check = await stub.Reconcile(
                    rpt.ReconcileRequest(commissioner_ods_code=commissioner, financial_year=year),
                    timeout=CALL_TIMEOUT_S,
                )
                if check.reconciled:
                    return True
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(1.0)
    return False


async def run_chaos(
    *, name: str, people: int, in_flight: int, phase_s: float, down_s: float
) -> ChaosReport:
    """Start a stack, load it, inject every fault under load, settle, count. Stops the stack."""
    started = time.monotonic()
    report = ChaosReport()
    stack = Stack(name=name, fresh=True)
    await asyncio.to_thread(stack.start)
    assert stack.issuer is not None
    # The load's staff (issue 14): each call in the role it needs, for the demo's organisations;
    # the caller's own identity is given back at the end (run in a test, it is the test's).
    callers = default_token()
    organisations = (synthetic.COMMISSIONER[0], synthetic.COUNCIL[0])
    use_token(RoleTokens(stack.issuer, organisations, subject="chaos"))
    try:
        infra = stack.infra
        assert infra is not None
        assert infra.postgres is not None
        targets, payee_id = await _set_up(stack, people)
        async with open_aio_channel(stack.addresses["payment"]) as channel:
            stub = pay_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
            load = _Load(stub, targets, payee_id, report)
            brokers = [asyncio.create_task(load.broker(n)) for n in range(in_flight)]
            postgres, bus_server = infra.postgres, infra.nats
            assert bus_server is not None
            faults: list[tuple[str, Callable[[], None], Callable[[], None]]] = [
                ("postgresql", lambda: postgres.stop(mode="immediate"), postgres.start),
                ("nats", bus_server.kill, bus_server.start),
            ]
            for service, address in stack.addresses.items():
                faults.append(
                    (
                        f"{service} service",
                        _bind(stack.kill, service),
                        _respawned(stack, service, address),
                    )
                )
            try:
                for part, down, up in faults:
                    await asyncio.sleep(phase_s)
                    await _fault(load, part, down, up, down_s)
                await asyncio.sleep(phase_s)
            finally:
                load.stopping = True
                await asyncio.gather(*brokers)
        await _settle_and_count(stack, load)
    finally:
        use_token(callers)
        await asyncio.to_thread(stack.stop)
    report.seconds = time.monotonic() - started
    folder = project_state_dir() / name
    if report.clean:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        report.logs = str(folder / "logs")  # kept for whoever looks into it
    return report


def _bind(action: Callable[[str], None], name: str) -> Callable[[], None]:
    return lambda: action(name)


def _respawned(stack: Stack, service: str, address: str) -> Callable[[], None]:
    def up() -> None:
        stack.respawn(service)
        wait_serving(address)

    return up
