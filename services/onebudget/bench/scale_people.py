"""Seeding at scale through the import path, then the commissioner's reports at that size
(issue 17: "Bulk seeding for scale runs"; the reports' target: under 200 ms p99 at 200,000
people).

`section(database_url, people)` starts entitlement, allocation and reporting in this process
(over TLS, with the bench's own token issuer and NATS, on a scratch database), writes `people`
synthetic people (the demo's generator: one ICB, one council, NHS numbers from the never-issued
999 range) as the import file of docs/import.md, imports it with the importer a commissioner
would use (importer/rows.py, importer/load.py) and times it (people/s). Once reporting has
counted every budget, it times the commissioner summary, the target status and the quarterly
return (`REPORT_CALLS` calls each, one at a time; p50 and p99).

    python -m onebudget.bench.scale_people --people 500    # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from onebudget.demo import synthetic
from onebudget.demo.synthetic import PersonSpec
from onebudget.importer import load, rows
from onebudget.shared import db
from onebudget.shared.channels import open_aio_channel, use_token
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.policy import CategoryPolicy

PEOPLE = 200_000  # England's PHB holders, about (NHS Long Term Plan: up to 200,000 by 2023/24)
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
    for spec in (ENTITLEMENT, ALLOCATION, REPORTING):
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
        "reporting": rpt_grpc.ReportingServiceStub(channels[2]),  # type: ignore[no-untyped-call]
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


async def _reports(stack: _Stack, year: int, quarter: int) -> list[tuple[str, list[float]]]:
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
    return [(name, await _timed(call, REPORT_CALLS)) for name, call in calls]


def _quarter_of(day: date) -> int:
    return (day.month - 4) % 12 // 3 + 1


async def section(database_url: str, people: int = PEOPLE) -> str:
    """Import `people` synthetic people into a fresh stack on `database_url`'s server and time
    the import and the commissioner's reports; a markdown section for docs/benchmarks.md."""
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
                outcome = await load.send(stack.addresses, checked.people, quiet=True)
                import_s = time.perf_counter() - started
                counted = await _counted(stack, year, len(outcome.budgets))
                settled_s = time.perf_counter() - started
                reports = await _reports(stack, year, _quarter_of(today))
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
    lines = [
        f"{people:,} synthetic people ({checked.rows:,} rows, one per plan line) imported with"
        " `onebudget import`'s path (importer/rows.py checks, importer/load.py sends, 32 people"
        " in flight, one RPC per step) into entitlement, allocation and reporting in one"
        " process, over TLS.",
        "",
        "| step | result |",
        "|---|---|",
        f"| rows checked | {checked_s:.1f} s ({checked.rows / max(checked_s, 1e-9):,.0f} rows/s) |",
        f"| people imported (agreed budgets) | {len(outcome.budgets):,};"
        f" {refused:,} rows refused |",
        f"| import | {import_s:.1f} s: **{len(outcome.budgets) / import_s:,.1f} people/s** |",
        f"| reporting counted every budget | {'yes' if counted else 'NO'}, at {settled_s:.1f} s |",
        "",
        f"The commissioner's reports at this size ({REPORT_CALLS} calls each, one at a time,"
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
    return "\n".join(lines)


async def run(database_url: str) -> str:
    """`scripts/bench scale_people`: the full size, PEOPLE (or ONEBUDGET_BENCH_SCALE_PEOPLE)."""
    return await section(database_url, int(os.environ.get("ONEBUDGET_BENCH_SCALE_PEOPLE", PEOPLE)))


def main(argv: list[str] | None = None) -> int:
    from onebudget.shared.runtime.infra import LocalInfra

    parser = argparse.ArgumentParser(prog="python -m onebudget.bench.scale_people")
    parser.add_argument("--people", type=int, default=PEOPLE)
    args = parser.parse_args(argv)
    infra = LocalInfra("bench", fresh=True).start()
    try:
        print(asyncio.run(section(infra.database_url, args.people)))
    finally:
        infra.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
