"""A soak: the whole stack as `onebudget up` runs it, paid into steadily for ten minutes, each
process's resident memory sampled (issue 17: "RSS of each service flat over a 10-minute soak").

`section(seconds)` starts the stack in processes of its own (shared/stack.Stack: PostgreSQL,
NATS, the four services and the dashboard, TLS and tokens as in production), loads a small demo
(`SOAK_PEOPLE` people: budgets, plan lines, providers), then for `seconds` releases 1p payments
at `RATE_PER_S` against the demo's plan lines (unary ReleasePayment, at most `IN_FLIGHT_MAX` in
flight), reads the commissioner summary and one page of payments every `READ_EVERY_S`, and asks
the dashboard for its page. Every `SAMPLE_S` it reads VmRSS from /proc/<pid>/status of each
process. Flat means: the median of the last minute's samples is at most `GROWTH_MAX` above the
median of the minute after the warm-up (`WARM_UP_S`: caches, pools and JIT-less first calls fill
it; its samples are shown, not judged).

    scripts/bench soak                        # 600 s (ONEBUDGET_BENCH_SOAK_S)
    python -m onebudget.bench.soak --seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import grpc

from onebudget.allocation.v1 import allocation_service_pb2 as alloc
from onebudget.demo import loader, synthetic
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.payment.v1 import payment_service_pb2_grpc as pay_grpc
from onebudget.reporting.v1 import reporting_service_pb2 as rpt
from onebudget.reporting.v1 import reporting_service_pb2_grpc as rpt_grpc
from onebudget.shared.channels import open_aio_channel, use_token
from onebudget.shared.clock import SYSTEM_CLOCK, england_date
from onebudget.shared.runtime.issuer import RoleTokens
from onebudget.shared.stack import SERVICES, Stack

SOAK_S_DEFAULT = 600.0
SOAK_ENV = "ONEBUDGET_BENCH_SOAK_S"
SOAK_PEOPLE = 40
RATE_PER_S = 25.0  # steady use, not a flood: the soak looks for growth, not for a ceiling
IN_FLIGHT_MAX = 32
READ_EVERY_S = 2.0
SAMPLE_S = 10.0
WARM_UP_S = 60.0
GROWTH_MAX = 0.10  # the last minute at most 10% above the minute after the warm-up
PROCESSES = (*SERVICES, "dashboard")


@dataclass
class Samples:
    """RSS samples (seconds since the soak began, KiB) per process."""

    rss_kib: dict[str, list[tuple[float, int]]] = field(default_factory=dict)

    def add(self, name: str, at_s: float, kib: int) -> None:
        self.rss_kib.setdefault(name, []).append((at_s, kib))


def rss_kib(pid: int) -> int:
    """A process's resident set size in KiB (VmRSS of /proc/<pid>/status), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def growth(samples: list[tuple[float, int]], seconds: float) -> tuple[int, int, float] | None:
    """(KiB after the warm-up, KiB at the end, growth as a fraction): medians of the minute after
    WARM_UP_S and of the last minute; None when the soak was too short to have both."""
    settled = [kib for at, kib in samples if WARM_UP_S <= at < WARM_UP_S + 60]
    last = [kib for at, kib in samples if at >= seconds - 60 and at >= WARM_UP_S + 60]
    if not settled or not last:
        return None
    start, end = int(statistics.median(settled)), int(statistics.median(last))
    return start, end, (end - start) / start if start else 0.0


@dataclass
class Load:
    accepted: int = 0
    refused: int = 0
    latencies_s: list[float] = field(default_factory=list)
    reads: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def _payable_lines(budgets: list[alloc.Budget]) -> list[tuple[alloc.Budget, alloc.PlanLine]]:
    return [
        (budget, line)
        for budget in budgets
        for line in budget.plan_lines
        if line.management_option != alloc.MANAGEMENT_OPTION_DIRECT_PAYMENT
    ]


async def _drive(stack: Stack, loaded: loader.Loaded, seconds: float, samples: Samples) -> Load:
    load = Load()
    lines = _payable_lines(list(loaded.budgets.values()))
    if not lines or not loaded.providers:
        raise RuntimeError("the soak's demo has no plan line a provider can be paid from")
    rng = random.Random(2026)
    today = england_date(SYSTEM_CLOCK.now())
    year = synthetic.financial_year_of(today)
    payment_channel = open_aio_channel(stack.addresses["payment"])
    reporting_channel = open_aio_channel(stack.addresses["reporting"])
    payment = pay_grpc.PaymentServiceStub(payment_channel)  # type: ignore[no-untyped-call]
    reporting = rpt_grpc.ReportingServiceStub(reporting_channel)  # type: ignore[no-untyped-call]
    in_flight = asyncio.Semaphore(IN_FLIGHT_MAX)

    async def pay_one(budget: alloc.Budget, line: alloc.PlanLine) -> None:
        async with in_flight:
            began = time.perf_counter()
            try:
                await payment.ReleasePayment(
                    pay.ReleasePaymentRequest(
                        request_id=str(uuid.uuid4()),
                        budget_id=budget.budget_id,
                        plan_line_id=line.plan_line_id,
                        payee_id=rng.choice(loaded.providers),
                        amount_pence=1,
                        service_period_start=budget.agreed_on,
                        service_period_end=today.isoformat(),
                        broker_reference="SOAK",
                    ),
                    timeout=30,
                )
            except grpc.aio.AioRpcError as error:
                load.refused += 1
                name = error.code().name
                load.errors[name] = load.errors.get(name, 0) + 1
                return
            load.accepted += 1
            load.latencies_s.append(time.perf_counter() - began)

    async def read() -> None:
        await reporting.GetCommissionerSummary(
            rpt.GetCommissionerSummaryRequest(
                commissioner_ods_code=synthetic.COMMISSIONER[0], financial_year=year
            ),
            timeout=30,
        )
        await payment.ListPayments(pay.ListPaymentsRequest(page_size=100), timeout=30)
        await asyncio.to_thread(_fetch, stack.dashboard_url)
        load.reads += 1

    tasks: set[asyncio.Task[None]] = set()
    began = time.monotonic()
    next_read = next_sample = 0.0
    sent = 0
    try:
        while (now := time.monotonic() - began) < seconds:
            if now >= next_sample:
                for name in PROCESSES:
                    pid = stack.pid_of(name)
                    samples.add(name, now, rss_kib(pid) if pid else 0)
                next_sample += SAMPLE_S
            if now >= next_read:
                task = asyncio.create_task(read())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                next_read += READ_EVERY_S
            while sent < now * RATE_PER_S:
                budget, line = rng.choice(lines)
                task = asyncio.create_task(pay_one(budget, line))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
        for name in PROCESSES:  # the last sample, after the last call
            pid = stack.pid_of(name)
            samples.add(name, time.monotonic() - began, rss_kib(pid) if pid else 0)
    finally:
        await payment_channel.close()
        await reporting_channel.close()
    return load


def _fetch(url: str) -> None:
    with urllib.request.urlopen(url, timeout=30) as reply:  # noqa: S310 (loopback)
        reply.read()


def _render(seconds: float, load: Load, samples: Samples) -> str:
    latencies = sorted(load.latencies_s)
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else 0.0
    rows = []
    verdicts = []
    for name in PROCESSES:
        series = samples.rss_kib.get(name, [])
        first = series[0][1] if series else 0
        peak = max((kib for _, kib in series), default=0)
        judged = growth(series, seconds)
        if judged is None:
            rows.append(f"| {name} | {first / 1024:.0f} | - | - | {peak / 1024:.0f} | - |")
            verdicts.append(False)
            continue
        start, end, grew = judged
        flat = grew <= GROWTH_MAX
        verdicts.append(flat)
        rows.append(
            f"| {name} | {first / 1024:.0f} | {start / 1024:.0f} | {end / 1024:.0f} |"
            f" {peak / 1024:.0f} | {grew:+.1%} ({'flat' if flat else 'GREW'}) |"
        )
    errors = ", ".join(f"{code} {count}" for code, count in sorted(load.errors.items())) or "none"
    if seconds < SOAK_S_DEFAULT:
        verdict = f"not judged (a smoke run of {seconds:.0f} s; the target is over 10 minutes)"
    else:
        verdict = "**met**" if verdicts and all(verdicts) else "**NOT met**"
    return "\n".join(
        [
            f"The stack in processes of its own (`onebudget up`'s Stack: PostgreSQL, NATS, the four"
            f" services, the dashboard; TLS and bearer tokens), a {SOAK_PEOPLE}-person demo, then"
            f" {seconds:.0f} s of 1p ReleasePayment calls at {RATE_PER_S:.0f}/s (at most"
            f" {IN_FLIGHT_MAX} in flight) with a commissioner summary, a page of payments and the"
            f" dashboard's page every {READ_EVERY_S:.0f} s. VmRSS sampled every {SAMPLE_S:.0f} s;"
            f" 'after warm-up' is the median of the minute from {WARM_UP_S:.0f} s, 'end' the"
            " median of the last minute.",
            "",
            f"Payments accepted {load.accepted:,}, refused {load.refused:,} ({errors}); p99"
            f" {p99:.1f} ms; reads {load.reads:,}. Load average (1 min) at the end:"
            f" {os.getloadavg()[0]:.1f} (2 cores: above 2 the machine was shared).",
            "",
            "| process | RSS at start MiB | after warm-up MiB | end MiB | peak MiB | growth |",
            "|---|---:|---:|---:|---:|---|",
            *rows,
            "",
            f"Target (RSS of each service flat over a 10-minute soak: the end at most"
            f" {GROWTH_MAX:.0%} above the minute after the warm-up): {verdict}",
        ]
    )


async def section(seconds: float = SOAK_S_DEFAULT) -> str:
    """The soak's markdown section (see the module's docstring)."""
    stack = Stack(name="bench-soak", fresh=True)
    stack.start()
    try:
        assert stack.issuer is not None
        use_token(
            RoleTokens(
                stack.issuer,
                (synthetic.COMMISSIONER[0], synthetic.COUNCIL[0]),
                subject="soak",
            )
        )
        today: date = england_date(SYSTEM_CLOCK.now())
        loaded = await loader.load(stack.addresses, people_count=SOAK_PEOPLE, today=today)
        samples = Samples()
        load = await _drive(stack, loaded, seconds, samples)
        return _render(seconds, load, samples)
    finally:
        use_token(None)
        stack.stop()


async def run(_database_url: str) -> str:
    """`scripts/bench soak`: ONEBUDGET_BENCH_SOAK_S seconds (default 600). The stack starts its
    own PostgreSQL and NATS, as `onebudget up` does."""
    return await section(float(os.environ.get(SOAK_ENV, SOAK_S_DEFAULT)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onebudget.bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=SOAK_S_DEFAULT)
    args = parser.parse_args(argv)
    print(asyncio.run(section(args.seconds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
