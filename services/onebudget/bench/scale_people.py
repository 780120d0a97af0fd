"""Seeding at scale through the import path, then the commissioner's reports at that size
(issue 17: "Bulk seeding for scale runs"; the reports' target: under 200 ms p99 at 200,000
people).

`section(database_url, people, payments)` starts entitlement, allocation, payment and reporting
in this process (over TLS, with the bench's own token issuer and NATS, on a scratch database),
writes `people` synthetic people (the demo's generator: one ICB, one council, NHS numbers from
the never-issued 999 range) as the import file of docs/import.md, imports it with the importer a
commissioner would use (importer/rows.py, importer/load.py: the bulk ImportPeople and
ImportBudgets) and times it (people/s). Then it pays `payments` payments of £1 from the
provider-paid plan lines through payment's bulk ReleasePayments (1,000 a call, 4 calls in
flight, one provider payee), times them (payments/s), waits until the stack is settled
(shared/settling.py: every outbox sent, every consumer, reporting's among them, caught up),
times the commissioner summary, the target status and the quarterly return (`REPORT_CALLS`
calls each, one at a time; p50 and p99), and shows the plans of reporting's queries at that
size (EXPLAIN), so an index missed shows as a sequential scan.

    python -m onebudget.bench.scale_people --people 2000 --payments 20000    # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from onebudget.demo import synthetic
from onebudget.demo.synthetic import PersonSpec
from onebudget.importer import load, rows
from onebudget.shared import db
from onebudget.shared.channels import open_aio_channel, use_token
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.policy import CategoryPolicy

PEOPLE = 200_000  # England's PHB holders, about (NHS Long Term Plan: up to 200,000 by 2023/24)
PAYMENTS = 2_000_000  # issue 17: 2 million payments with the 200,000 people
PAYMENT_PENCE = 100
PAYMENTS_PER_CALL = 1_000
PAYMENT_CALLS_IN_FLIGHT = 4
REPORT_CALLS = 200
REPORT_TARGET_MS = 200.0
CATCH_UP_TIMEOUT_S = 600.0
ALLOCATION_PENCE_MIN = 1_800_000_000_00  # £1.8bn: a mid-sized ICB's yearly allocation
PHB_TARGET_BASIS_POINTS = 500


def people_csv(people: Iterable[PersonSpec], year: int) -> str:
    """The import file (docs/import.md) of synthetic `people` with budgets of `year`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows.COLUMNS)
    ods, gss = synthetic.COMMISSIONER[0], synthetic.COUNCIL[0]
    for person in people:
        for line in person.plan:
            writer.writerow(
                [
                    person.nhs_number,
                    person.given_name,
                    person.family_name,
                    person.date_of_birth.isoformat(),
                    ods,
                    gss,
                    "yes" if person.nhs_only else "no",
                    person.category,
                    person.decided_on.isoformat(),
                    year,
                    person.agreed_on.isoformat(),
                    person.client_contribution_pence,
                    line.description,
                    line.category,
                    line.cost_per_occurrence_pence,
                    line.frequency,
                    line.occurrences,
                    line.nhs_basis_points,
                    line.council_basis_points,
                    line.client_basis_points,
                    line.management_option,
                ]
            )
    return out.getvalue()


@dataclass
class _Stack:
    hosts: dict[str, Any]
    channels: list[Any]
    stubs: dict[str, Any]

    @property
    def addresses(self) -> dict[str, str]:
        return {name: host.address for name, host in self.hosts.items()}


async def _start(url: str, nats_url: str, jwks: list[Any]) -> _Stack:
    from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
    from onebudget.allocation.v1 import allocation_service_pb2_grpc as alloc_grpc
    from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
    from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as ent_grpc
    from onebudget.payment.entrypoints.app import SPEC as PAYMENT
    from onebudget.payment.v1 import payment_service_pb2_grpc as pay_grpc
    from onebudget.reporting.entrypoints.app import SPEC as REPORTING
    from onebudget.reporting.v1 import reporting_service_pb2_grpc as rpt_grpc
    from onebudget.shared.auth import OidcSettings
    from onebudget.shared.config import ServiceConfig
    from onebudget.shared.logging import configure_logging
    from onebudget.shared.runtime.certs import local_ca
    from onebudget.shared.runtime.infra import project_state_dir
    from onebudget.shared.runtime.issuer import LocalIssuer, RoleTokens
    from onebudget.shared.server import ServiceHost
    from onebudget.shared.tls import CA_FILE_VARIABLE

    issuer = LocalIssuer(project_state_dir() / "bench-issuer")
    jwks.append(issuer.serve())
    organisations = (synthetic.COMMISSIONER[0], synthetic.COUNCIL[0])
    use_token(RoleTokens(issuer, organisations, subject="bench-scale"))
    certificate = local_ca().server_certificate("bench")
    os.environ[CA_FILE_VARIABLE] = str(certificate.ca_file)
    configure_logging("warning")  # the per-RPC line at info would make the terminal the limit
    hosts: dict[str, Any] = {}
    for spec in (ENTITLEMENT, ALLOCATION, PAYMENT, REPORTING):
        config = ServiceConfig(
            service=spec.name,
            database_url=url,
            nats_url=nats_url,
            grpc_host="127.0.0.1",
            grpc_port=0,
            log_level="warning",
            pool_size_max=10,
            shutdown_grace_s=5,
            oidc=OidcSettings(issuer.issuer, jwks[-1].jwks_url),
            tls_cert_file=str(certificate.cert_file),
            tls_key_file=str(certificate.key_file),
        )
        host = ServiceHost(spec, config)
        await host.start()
        hosts[spec.name] = host
    channels = [open_aio_channel(h.address) for h in hosts.values()]
    stubs = {
        "entitlement": ent_grpc.EntitlementServiceStub(channels[0]),  # type: ignore[no-untyped-call]
        "allocation": alloc_grpc.AllocationServiceStub(channels[1]),  # type: ignore[no-untyped-call]
        "payment": pay_grpc.PaymentServiceStub(channels[2]),  # type: ignore[no-untyped-call]
        "reporting": rpt_grpc.ReportingServiceStub(channels[3]),  # type: ignore[no-untyped-call]
    }
    return _Stack(hosts, channels, stubs)


async def _funders(stack: _Stack, people: list[PersonSpec], year: int) -> None:
    """The ICB and the council, the ICB's allocation (at least £1.8bn, and twice the NHS money
    the people's plans need) with a 5% PHB ring-fence, and the council's pot."""
    from onebudget.allocation.v1 import allocation_service_pb2 as alloc
    from onebudget.demo.loader import request_id

    ods, ods_name = synthetic.COMMISSIONER
    gss, gss_name = synthetic.COUNCIL
    nhs, council = 0, 0
    for person in people:
        for line in person.plan:
            cost = line.cost_per_occurrence_pence * line.occurrences
            nhs += cost * line.nhs_basis_points // 10_000 + 1
            council += cost * line.council_basis_points // 10_000 + 1
    a = stack.stubs["allocation"]
    await a.RegisterCommissioner(
        alloc.RegisterCommissionerRequest(
            request_id=request_id("scale-comm", ods), ods_code=ods, name=ods_name
        )
    )
    await a.RegisterCouncil(
        alloc.RegisterCouncilRequest(
            request_id=request_id("scale-council", gss), gss_code=gss, name=gss_name
        )
    )
    await a.SetCommissionerAllocation(
        alloc.SetCommissionerAllocationRequest(
            request_id=request_id("scale-allocation", ods, year, len(people)),
            commissioner_ods_code=ods,
            financial_year=year,
            allocation_pence=max(ALLOCATION_PENCE_MIN, 2 * nhs),
            phb_target_basis_points=PHB_TARGET_BASIS_POINTS,
        )
    )
    await a.SetCouncilAllocation(
        alloc.SetCouncilAllocationRequest(
            request_id=request_id("scale-pot", gss, year, len(people)),
            council_gss_code=gss,
            financial_year=year,
            pot_pence=2 * council + 100_000_00,
        )
    )


async def _counted(stack: _Stack, year: int, budgets: int) -> bool:
    """Wait until reporting counts `budgets` people with a PHB (it learns them from events)."""
    from onebudget.reporting.v1 import reporting_service_pb2 as rpt

    deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
    request = rpt.GetCommissionerSummaryRequest(
        commissioner_ods_code=synthetic.COMMISSIONER[0], financial_year=year
    )
    while time.monotonic() < deadline:
        summary = await stack.stubs["reporting"].GetCommissionerSummary(request)
        if summary.people_with_phb.year_to_date.total >= budgets:
            return True
        await asyncio.sleep(0.5)
    return False


def payment_targets(
    people: Iterable[rows.PersonBudget], budgets: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """(budget id, plan line id, the budget's first day) of every imported plan line paid to
    providers (a direct payment's line pays only the person's own account)."""
    from onebudget.allocation.v1 import allocation_service_pb2 as alloc

    targets = []
    for person in people:
        budget = budgets.get(person.nhs_number)
        if budget is None:
            continue
        for line, line_id in zip(person.lines, budget.plan_line_ids, strict=True):
            if line.plan_line.allowed_payee_kind == alloc.PAYEE_KIND_PROVIDER:
                targets.append((budget.budget_id, line_id, person.start_date.isoformat()))
    return targets


async def _pay(stack: _Stack, targets: list[tuple[str, str, str]], count: int) -> tuple[int, int]:
    """`count` payments of PAYMENT_PENCE to one provider, round the `targets`, through bulk
    ReleasePayments; (paid, refused)."""
    from onebudget.demo.loader import request_id
    from onebudget.payment.v1 import payment_service_pb2 as pay

    p = stack.stubs["payment"]
    payee = await p.RegisterPayee(
        pay.RegisterPayeeRequest(
            request_id=request_id("scale-payee", count),
            kind=pay.PAYEE_KIND_PROVIDER,
            name="Scale Care Ltd",
            organisation_code=synthetic.COMMISSIONER[0],
        )
    )
    paid = refused = 0
    calls = [
        range(i, min(i + PAYMENTS_PER_CALL, count)) for i in range(0, count, PAYMENTS_PER_CALL)
    ]
    gate = asyncio.Semaphore(PAYMENT_CALLS_IN_FLIGHT)

    async def call(numbers: range) -> None:
        nonlocal paid, refused
        items = []
        for n in numbers:
            budget_id, line_id, day = targets[n % len(targets)]
            items.append(
                pay.ReleasePaymentRequest(
                    request_id=request_id("scale-payment", n),
                    budget_id=budget_id,
                    plan_line_id=line_id,
                    payee_id=payee.payee_id,
                    amount_pence=PAYMENT_PENCE,
                    service_period_start=day,
                    service_period_end=day,
                    broker_reference=f"SCALE-{n}",
                )
            )
        async with gate:
            response = await p.ReleasePayments(
                pay.ReleasePaymentsRequest(
                    request_id=request_id("scale-payments", numbers.start), payments=items
                ),
                timeout=600,
            )
        for result in response.results:
            if result.WhichOneof("outcome") == "payment":
                paid += 1
            else:
                refused += 1
                if refused <= 3:
                    print(f"payment refused: {result.error.reason}: {result.error.message}")

    await asyncio.gather(*(call(numbers) for numbers in calls))
    return paid, refused


async def _settled(url: str, nats_url: str) -> list[str]:
    """Wait until nothing moves (shared/settling.py); what still moved at the timeout."""
    from onebudget.shared import settling

    return await settling.wait_settled(
        lambda: settling.observe(url, nats_url), timeout_s=CATCH_UP_TIMEOUT_S
    )


async def _plans(url: str, year: int) -> list[str]:
    """EXPLAIN of the read model's queries behind the three reports, for the commissioner at
    this size: each plan's node types (a Seq Scan on a big table would be an index missed)."""
    import asyncpg

    from onebudget.reporting.adapters import read_model
    from onebudget.reporting.domain import periods

    owner = synthetic.COMMISSIONER[0]
    # read_model.budget_facts' and payments_by_period's statements, with the arguments they pass.
    conn = await asyncpg.connect(url)
    found = []
    try:
        ids = [
            r["budget_id"]
            for r in await conn.fetch(
                "SELECT budget_id FROM reporting.budgets"
                " WHERE commissioner_ods_code = $1 AND financial_year = $2",
                owner,
                year,
            )
        ]
        thresholds = [cutoff + timedelta(days=1) for cutoff in periods.cutoffs(year)]
        movements = (
            "SELECT budget_id, on_date, nhs_pence, council_pence, client_pence"
            " FROM reporting.{} WHERE budget_id = ANY($1::uuid[])"
        )
        queries: list[tuple[str, str, tuple[Any, ...]]] = [
            (
                "budgets",
                read_model._BUDGETS.replace("OWNER_COLUMN", "commissioner_ods_code"),
                (owner, year),
            ),
            ("commitments", movements.format("commitments"), (ids,)),
            ("funder_returns", movements.format("funder_returns"), (ids,)),
            ("payments by period", read_model._PAYMENTS_BY_PERIOD, (ids, thresholds)),
        ]
        for name, sql, args in queries:
            plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON, ANALYZE) {sql}", *args)
            found.append(f"{name}: {_plan_summary(plan)}")
    finally:
        await conn.close()
    return found


def _plan_summary(plan: Any) -> str:
    import json

    root = (json.loads(plan) if isinstance(plan, str) else plan)[0]
    nodes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        relation = node.get("Relation Name") or node.get("Index Name") or ""
        nodes.append(f"{node['Node Type']}{' ' + relation if relation else ''}")
        for child in node.get("Plans", []):
            walk(child)

    walk(root["Plan"])
    return f"{root['Execution Time']:.1f} ms; " + ", ".join(dict.fromkeys(nodes))


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `samples` (ms): fraction 0.99 is p99."""
    ordered = sorted(samples)
    assert ordered, "no samples"
    rank = max(0, min(len(ordered) - 1, -(-len(ordered) * fraction // 1) - 1))
    return ordered[int(rank)]


async def _timed(call: Callable[[], Awaitable[Any]], count: int) -> list[float]:
    await call()  # the first call warms caches and connections; not counted
    samples: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _reports(
    stack: _Stack, year: int, quarter: int, calls_each: int
) -> list[tuple[str, list[float]]]:
    from onebudget.reporting.v1 import reporting_service_pb2 as rpt

    ods = synthetic.COMMISSIONER[0]
    r = stack.stubs["reporting"]
    calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        (
            "GetCommissionerSummary",
            lambda: r.GetCommissionerSummary(
                rpt.GetCommissionerSummaryRequest(commissioner_ods_code=ods, financial_year=year)
            ),
        ),
        (
            "GetTargetStatus",
            lambda: r.GetTargetStatus(
                rpt.GetTargetStatusRequest(commissioner_ods_code=ods, financial_year=year)
            ),
        ),
        (
            "ExportQuarterlyReturn",
            lambda: r.ExportQuarterlyReturn(
                rpt.ExportQuarterlyReturnRequest(
                    commissioner_ods_code=ods, financial_year=year, quarter=quarter
                )
            ),
        ),
    ]
    return [(name, await _timed(call, calls_each)) for name, call in calls]


def _quarter_of(day: date) -> int:
    return (day.month - 4) % 12 // 3 + 1


def _say(text: str) -> None:
    print(f"scale_people: {text}", file=sys.stderr, flush=True)


async def section(
    database_url: str,
    people: int = PEOPLE,
    payments: int = PAYMENTS,
    report_calls: int = REPORT_CALLS,
) -> str:
    """Import `people` synthetic people and pay `payments` payments into a fresh stack on
    `database_url`'s server and time them and the commissioner's reports; a markdown section for
    docs/benchmarks.md."""
    from onebudget.shared.runtime.infra import project_state_dir
    from onebudget.shared.runtime.nats import LocalNats

    today = SYSTEM_CLOCK.today()
    year = synthetic.financial_year_of(today)
    specs = synthetic.people(people, today=today)
    state = project_state_dir() / "bench-scale"
    nats = LocalNats(state / "nats")
    nats.start(fresh=True)
    jwks: list[Any] = []
    try:
        async with db.scratch_database(database_url, "bench_scale") as url:
            stack = await _start(url, nats.url, jwks)
            try:
                await _funders(stack, specs, year)
                path = state / "people.csv"
                await asyncio.to_thread(path.write_text, people_csv(specs, year))
                started = time.perf_counter()
                with path.open(newline="", encoding="utf-8") as text:
                    checked = rows.read(text, policy=CategoryPolicy(), today=today)
                checked_s = time.perf_counter() - started
                _say(f"{checked.rows:,} rows checked in {checked_s:.1f} s; importing")
                outcome = await load.send(stack.addresses, checked.people, quiet=True)
                import_s = time.perf_counter() - started
                _say(f"{len(outcome.budgets):,} imported in {import_s:.1f} s")
                counted = await _counted(stack, year, len(outcome.budgets))
                settled_s = time.perf_counter() - started
                moving = await _settled(url, nats.url)  # payment has learnt every budget
                targets = payment_targets(checked.people, outcome.budgets)
                _say(f"settled at {time.perf_counter() - started:.1f} s; paying")
                paying = time.perf_counter()
                paid, unpaid = await _pay(stack, targets, payments) if targets else (0, 0)
                pay_s = time.perf_counter() - paying
                _say(f"{paid:,} paid in {pay_s:.1f} s; waiting for reporting")
                moving += await _settled(url, nats.url)
                caught_up_s = time.perf_counter() - paying
                _say(f"settled {caught_up_s:.1f} s after the payments began; timing reports")
                reports = await _reports(stack, year, _quarter_of(today), report_calls)
                plans = await _plans(url, year)
            finally:
                for channel in stack.channels:
                    await channel.close()
                for host in reversed(list(stack.hosts.values())):
                    await host.stop()
    finally:
        nats.stop()
        for server in jwks:
            server.close()
    refused = len(checked.refusals) + len(outcome.refusals)
    reasons = Counter(r.reason.split(":")[0] for r in [*checked.refusals, *outcome.refusals])
    why = ", ".join(f"{n:,} {reason}" for reason, n in reasons.most_common(4))
    lines = [
        f"{people:,} synthetic people ({checked.rows:,} rows, one per plan line) imported with"
        " `onebudget import`'s path (importer/rows.py checks, importer/load.py sends through"
        f" the bulk ImportPeople and ImportBudgets, batches of {load.BATCH_MAX:,}) into"
        " entitlement, allocation, payment and reporting in one process, over TLS.",
        "",
        "| step | result |",
        "|---|---|",
        f"| rows checked | {checked_s:.1f} s ({checked.rows / max(checked_s, 1e-9):,.0f} rows/s) |",
        f"| people imported (agreed budgets) | {len(outcome.budgets):,};"
        f" {refused:,} rows refused{' (' + why + ')' if why else ''} |",
        f"| import | {import_s:.1f} s: **{len(outcome.budgets) / import_s:,.1f} people/s** |",
        f"| of which ImportPeople | {outcome.people_s:.1f} s"
        f" ({people / max(outcome.people_s, 1e-9):,.0f} people/s) |",
        f"| of which ImportBudgets, with its waits for allocation to learn entitlement's events"
        f" | {outcome.budgets_s:.1f} s ({outcome.resent:,} items sent again) |",
        f"| reporting counted every budget | {'yes' if counted else 'NO'}, at {settled_s:.1f} s |",
        f"| payments (bulk ReleasePayments x{PAYMENTS_PER_CALL:,}, {PAYMENT_CALLS_IN_FLIGHT} in"
        f" flight, {len(targets):,} provider lines) | {paid:,} paid, {unpaid:,} refused in"
        f" {pay_s:.1f} s: **{paid / max(pay_s, 1e-9):,.0f} payments/s** |",
        f"| stack settled after the payments (reporting caught up) |"
        f" {'yes' if not moving else 'NO: ' + '; '.join(moving)}, at {caught_up_s:.1f} s |",
        "",
        f"The commissioner's reports at this size ({report_calls} calls each, one at a time,"
        f" after one warm-up call; target p99 under {REPORT_TARGET_MS:.0f} ms):",
        "",
        "| report | p50 ms | p99 ms | target |",
        "|---|---|---|---|",
    ]
    for name, samples in reports:
        p99 = percentile(samples, 0.99)
        met = "met" if p99 < REPORT_TARGET_MS else "not met"
        lines.append(
            f"| {name} | {percentile(samples, 0.5):.1f} | {p99:.1f} | < {REPORT_TARGET_MS:.0f}"
            f" ms: {met} |"
        )
    lines += ["", "Plans of reporting's queries at this size (EXPLAIN ANALYZE; node types):", ""]
    lines += [f"- {plan}" for plan in plans]
    return "\n".join(lines)


async def run(database_url: str) -> str:
    """`scripts/bench scale_people`: the full size, PEOPLE (or ONEBUDGET_BENCH_SCALE_PEOPLE)."""
    env = os.environ
    return await section(
        database_url,
        int(env.get("ONEBUDGET_BENCH_SCALE_PEOPLE", PEOPLE)),
        int(env.get("ONEBUDGET_BENCH_SCALE_PAYMENTS", PAYMENTS)),
    )


def main(argv: list[str] | None = None) -> int:
    from onebudget.shared.runtime.infra import LocalInfra

    parser = argparse.ArgumentParser(prog="python -m onebudget.bench.scale_people")
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--payments", type=int, default=PAYMENTS)
    parser.add_argument("--report-calls", type=int, default=REPORT_CALLS)
    args = parser.parse_args(argv)
    infra = LocalInfra("bench", fresh=True).start()
    try:
        section_text = section(infra.database_url, args.people, args.payments, args.report_calls)
        print(asyncio.run(section_text))
    finally:
        infra.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
