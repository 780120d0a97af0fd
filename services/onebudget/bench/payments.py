"""Payment throughput: unary ReleasePayment at 64 and 256 calls in flight, and bulk
ReleasePayments of 1,000, against the payment service with its own NATS and a fresh database,
beside issue 17's baseline measured in the same run: a bare grpc.aio unary call (the standard
health Check on a server with nothing else, TLS with the same certificate, called through the
same channel set-up and bearer token) at 256 in flight.

The service runs in this process (a ServiceHost, its canonical RPC log line at `warning` level
so the terminal is not the bottleneck); the load generator is a separate Python process (its own
event loop and CPU), as a partner's system would be. One hot provider payee is paid across
`BUDGETS` budgets, each split 60/40 NHS/council (two linked ledger transfers per payment).
Where the time goes: the batcher's timing counters, the service process's CPU per payment, and
a short cProfile of the service under load.

    python -m onebudget.bench.payments
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg

from onebudget.shared import db
from onebudget.shared.channels import open_aio_channel, use_token
from onebudget.shared.plumbing import outbox_backlog_sql

BUDGETS = 1_000
DURATION_S = float(os.environ.get("ONEBUDGET_BENCH_DURATION_S", "10"))
PROFILE_S = 3.0
IN_FLIGHT = (64, 256)
BULK_SIZE = 1_000
BULK_IN_FLIGHT = 4
NATS_DIR: Path | None = None  # default: bench-nats under the state dir (ONEBUDGET_STATE_DIR)


# -- the load generator (a separate process) ---------------------------------------------------


async def _client(address: str, plan_file: str, mode: str, in_flight: int, seconds: float) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from onebudget.payment.v1 import payment_service_pb2 as api
    from onebudget.payment.v1 import payment_service_pb2_grpc as api_grpc

    plan = json.loads(await asyncio.to_thread(Path(plan_file).read_text))
    lines: list[list[str]] = plan["lines"]
    payee = plan["payee"]
    latencies: list[float] = []
    refused = 0
    paid = 0

    def item(k: int) -> Any:
        budget, line = lines[k % len(lines)]
        return api.ReleasePaymentRequest(
            request_id=str(uuid.uuid4()),
            budget_id=budget,
            plan_line_id=line,
            payee_id=payee,
            amount_pence=100,
            broker_reference="BENCH",
        )

    # A care broker's token, signed by the bench's issuer (issue 14): every call is verified.
    async with open_aio_channel(address, token=plan["token"]) as channel:
        stub = api_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        stop_at = time.perf_counter() + seconds
        counter = iter(range(10**12))

        async def unary() -> None:
            nonlocal paid, refused
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    await stub.ReleasePayment(item(next(counter)), timeout=30)
                    paid += 1
                except grpc.aio.AioRpcError:
                    refused += 1
                latencies.append(time.perf_counter() - started)

        async def bare() -> None:
            nonlocal paid
            health = health_pb2_grpc.HealthStub(channel)
            check = health_pb2.HealthCheckRequest()
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                await health.Check(check, timeout=30)
                paid += 1
                latencies.append(time.perf_counter() - started)

        async def bulk() -> None:
            nonlocal paid, refused
            while time.perf_counter() < stop_at:
                request = api.ReleasePaymentsRequest(
                    request_id=str(uuid.uuid4()),
                    payments=[item(next(counter)) for _ in range(BULK_SIZE)],
                )
                started = time.perf_counter()
                response = await stub.ReleasePayments(request, timeout=60)
                latencies.append(time.perf_counter() - started)
                for r in response.results:
                    if r.WhichOneof("outcome") == "payment":
                        paid += 1
                    else:
                        refused += 1

        started = time.perf_counter()
        worker = {"unary": unary, "bulk": bulk, "bare": bare}[mode]
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    print(
        json.dumps(
            {
                "paid": paid,
                "refused": refused,
                "seconds": elapsed,
                "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
                "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0,
            }
        )
    )


# -- the service side --------------------------------------------------------------------------

_STATS: list[Any] = []  # the batcher's timing counters of the service under test
_JWKS: list[Any] = []  # the bench issuer's JWKS server
BENCH_ORGANISATIONS = ("QNQ", "E10000015")  # the bench budgets' commissioner and council
VERIFY_CALLS = 2_000  # token verifications timed for the auth row


def _capturing(servicers: Any) -> Any:
    """Wrap the SPEC's servicer factory to keep a handle on the batcher's counters."""

    def build(runtime: Any) -> Any:
        bindings = servicers(runtime)
        for _add, servicer, _name in bindings:
            _STATS.append(servicer.handlers.batcher.stats)
        return bindings

    return build


async def _setup(url: str, nats_url: str) -> tuple[Any, dict[str, Any]]:
    from onebudget import ledger
    from onebudget.ledger import Account, FundingStream, Transfer
    from onebudget.payment.entrypoints.app import SPEC
    from onebudget.payment.service_layer import read_model
    from onebudget.shared.auth import OidcSettings
    from onebudget.shared.config import ServiceConfig
    from onebudget.shared.logging import configure_logging
    from onebudget.shared.runtime.certs import local_ca
    from onebudget.shared.runtime.infra import project_state_dir
    from onebudget.shared.runtime.issuer import LocalIssuer, RoleTokens
    from onebudget.shared.server import ServiceHost
    from onebudget.shared.tls import CA_FILE_VARIABLE

    issuer = LocalIssuer(project_state_dir() / "bench-issuer")
    _JWKS.append(issuer.serve())
    use_token(RoleTokens(issuer, BENCH_ORGANISATIONS, subject="bench"))
    # Over TLS, as every service serves (ADR 16): the project's CA, verified by the driver.
    certificate = local_ca().server_certificate("bench")
    os.environ[CA_FILE_VARIABLE] = str(certificate.ca_file)
    config = ServiceConfig(
        service="payment",
        database_url=url,
        nats_url=nats_url,
        grpc_host="127.0.0.1",
        grpc_port=0,
        log_level="warning",
        pool_size_max=8,
        shutdown_grace_s=5,
        oidc=OidcSettings(issuer.issuer, _JWKS[-1].jwks_url),
        tls_cert_file=str(certificate.cert_file),
        tls_key_file=str(certificate.key_file),
    )
    configure_logging("warning")  # the per-RPC line at info would make the terminal the limit
    host = ServiceHost(replace(SPEC, servicers=_capturing(SPEC.servicers)), config)
    await host.start()
    assert host.runtime is not None
    nhs_source, council_source = uuid.uuid4(), uuid.uuid4()
    lines: list[list[str]] = []
    async with host.runtime.pool.acquire() as conn, conn.transaction():
        await ledger.create_accounts(
            conn,
            [
                Account(nhs_source, "ring_fence", "QNQ", FundingStream.NHS),
                Account(council_source, "allocation", "E10000015", FundingStream.COUNCIL),
            ],
        )
        for _ in range(BUDGETS):
            budget_id, line_id = uuid.uuid4(), uuid.uuid4()
            accounts = [
                Account(
                    uuid.uuid4(), "budget", str(budget_id), s, debits_must_not_exceed_credits=True
                )
                for s in (FundingStream.NHS, FundingStream.COUNCIL, FundingStream.CLIENT)
            ]
            await ledger.create_accounts(conn, accounts)
            await ledger.create_transfers(
                conn,
                [
                    Transfer(
                        uuid.uuid4(), nhs_source, accounts[0].id, 10**10, "funding", funding=True
                    ),
                    Transfer(
                        uuid.uuid4(),
                        council_source,
                        accounts[1].id,
                        10**10,
                        "funding",
                        funding=True,
                    ),
                ],
            )
            await read_model.apply_budget(
                conn,
                read_model.BudgetFacts(
                    budget_id=budget_id,
                    state="AGREED",
                    person_id=uuid.uuid4(),
                    commissioner_ods_code="QNQ",
                    council_gss_code="E10000015",
                    nhs_account_id=accounts[0].id,
                    council_account_id=accounts[1].id,
                    client_account_id=accounts[2].id,
                ),
            )
            await read_model.apply_plan_line(
                conn,
                read_model.PlanLineFacts(
                    plan_line_id=line_id,
                    budget_id=budget_id,
                    category="personal_care",
                    cost_pence=10**11,
                    nhs_bp=6000,
                    council_bp=4000,
                    client_bp=0,
                    management_option="NOTIONAL",
                    agreed=True,
                ),
            )
            lines.append([str(budget_id), str(line_id)])
    return host, {"lines": lines}


async def _payee(host: Any) -> str:

    from onebudget.payment.v1 import payment_service_pb2 as api
    from onebudget.payment.v1 import payment_service_pb2_grpc as api_grpc

    async with open_aio_channel(host.address) as channel:
        stub = api_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        payee = await stub.RegisterPayee(
            api.RegisterPayeeRequest(
                request_id=str(uuid.uuid4()),
                kind=api.PAYEE_KIND_PROVIDER,
                name="Hot Care Ltd",
            )
        )
    return str(payee.payee_id)


async def _drive(
    address: str, plan_file: str, mode: str, in_flight: int, seconds: float
) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "onebudget.bench.payments",
        "--client",
        address,
        plan_file,
        mode,
        str(in_flight),
        str(seconds),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, "the load generator failed"
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def _children_cpu_s(parent: int) -> float:
    """CPU seconds (user + system) of the live children of `parent` (PostgreSQL's backends)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def _postmaster(admin_url: str) -> int:
    """The PostgreSQL server's process id, read as the superuser: the service's own role may not
    examine `data_directory` (issue 14, a role per service)."""
    conn = await asyncpg.connect(admin_url)
    try:
        data = await conn.fetchval("SHOW data_directory")
    finally:
        await conn.close()
    text = await asyncio.to_thread(Path(data, "postmaster.pid").read_text)
    return int(text.split()[0])


async def _unsent(conn: asyncpg.Connection) -> int:
    """Payment's events not yet acknowledged by JetStream: the rows above the relay's
    high-water mark (ADR 21)."""
    return int(await conn.fetchval(outbox_backlog_sql("payment")))


async def _cell(
    host: Any, stats: Any, plan_file: str, mode: str, in_flight: int, admin_url: str
) -> dict[str, Any]:
    before = (stats.batches, stats.commands, dict(stats.seconds))
    postmaster = await _postmaster(admin_url)
    async with host.runtime.pool.acquire() as conn:
        events_before = await conn.fetchval("SELECT count(*) FROM payment.outbox")
    pg_cpu = _children_cpu_s(postmaster)
    children_cpu = os.times().children_user + os.times().children_system
    cpu = time.process_time()
    result = await _drive(host.address, plan_file, mode, in_flight, DURATION_S)
    paid = max(result["paid"], 1)
    # The run ends only when every committed payment's event is acknowledged by JetStream.
    drain_started = time.perf_counter()
    async with host.runtime.pool.acquire() as conn:
        # Polls the outbox table, so there is no asyncio.Event to wait on.
        while await _unsent(conn):
            assert time.perf_counter() - drain_started < 120, "the relay did not catch up"
            await asyncio.sleep(0.01)
        events = await conn.fetchval("SELECT count(*) FROM payment.outbox") - events_before
    result["drain_ms"] = (time.perf_counter() - drain_started) * 1000
    assert events == result["paid"], f"{events} events for {result['paid']} payments"
    result["cpu_us_per_payment"] = (time.process_time() - cpu) / paid * 1e6
    client_cpu = os.times().children_user + os.times().children_system - children_cpu
    result["client_cpu_us_per_payment"] = client_cpu / paid * 1e6
    result["pg_cpu_us_per_payment"] = (_children_cpu_s(postmaster) - pg_cpu) / paid * 1e6
    batches = stats.batches - before[0]
    result["batch_mean"] = (stats.commands - before[1]) / max(batches, 1)
    result["batch_ms"] = {
        k: (v - before[2].get(k, 0.0)) / max(batches, 1) * 1000 for k, v in stats.seconds.items()
    }
    result.update(mode=mode, in_flight=in_flight)
    return result


async def _profile(host: Any, plan_file: str) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    await _drive(host.address, plan_file, "unary", 256, PROFILE_S)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    rows = [r for r in out.getvalue().splitlines() if r.strip() and r.strip()[0].isdigit()]
    return "\n".join(rows[:12])


STEPS = ("claim", "read", "decide", "ledger", "write", "commit")


def _steps(ms: dict[str, float]) -> str:
    return " / ".join(f"{ms.get(step, 0.0):.1f}" for step in STEPS)


def _render(cells: list[dict[str, Any]], bare: dict[str, Any], profile: str) -> str:
    lines = [
        f"Payment service (in-process ServiceHost, 8 PostgreSQL connections, its own NATS) and a"
        f" load generator in another process on the same {os.cpu_count()}-core machine,"
        f" synchronous_commit on; {BUDGETS:,} budgets (60/40 NHS/council, two linked transfers"
        f" per payment), one hot provider payee; {DURATION_S:.0f} s per row. A payment counts"
        " when its RPC returns (committed in PostgreSQL); each row ends only when every one of"
        " its events is acknowledged by JetStream (the relay's lag after the last RPC is shown)."
        " CPU per payment: the service process, the load generator, PostgreSQL's backends.",
        "",
        "| call | in flight | payments/s | p50 ms | p99 ms | refused | mean batch |"
        " CPU µs/payment: service / client / PostgreSQL | events published ms after |"
        " ms per batch: claim / read / decide / ledger / write / commit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| bare unary call (health Check, baseline) | {bare['in_flight']} |"
        f" {bare['paid'] / bare['seconds']:,.0f} | {bare['p50_ms']:.1f} | {bare['p99_ms']:.1f} |"
        f" {bare['refused']} | - | {bare['cpu_us_per_payment']:.0f} /"
        f" {bare['client_cpu_us_per_payment']:.0f} / - | - | - |",
    ]
    for c in cells:
        call = "ReleasePayment" if c["mode"] == "unary" else f"ReleasePayments x{BULK_SIZE}"
        lines.append(
            f"| {call} | {c['in_flight']} | {c['paid'] / c['seconds']:,.0f} | {c['p50_ms']:.1f} |"
            f" {c['p99_ms']:.1f} | {c['refused']} | {c['batch_mean']:.0f} |"
            f" {c['cpu_us_per_payment']:.0f} / {c['client_cpu_us_per_payment']:.0f} /"
            f" {c['pg_cpu_us_per_payment']:.0f} | {c['drain_ms']:.0f} | {_steps(c['batch_ms'])} |"
        )
    lines += ["", *_verdict(cells, bare)]
    lines += [
        "",
        f"Where the service's time goes (cProfile, {PROFILE_S:.0f} s at 256 in flight, top by"
        " own time; profiling slows it):",
        "",
        "```",
        profile,
        "```",
    ]
    return "\n".join(lines)


# Issue 17's targets: unary ReleasePayment at 256 in flight at least UNARY_TARGET_X of a bare
# grpc.aio unary call's rate measured in the same run, with p99 at most UNARY_P99_MS_MAX; bulk
# ReleasePayments of 1,000 at least BULK_TARGET_PER_S payments a second.
UNARY_TARGET_X = 0.5
UNARY_P99_MS_MAX = 150.0
BULK_TARGET_PER_S = 10_000


def _verdict(
    cells: list[dict[str, Any]], bare: dict[str, Any], cores: int | None = None
) -> list[str]:
    """Issue 17's targets, each with what it asks, what was measured and met / NOT met, and the
    CPU each would allow per payment on this machine (all processes share its cores, so a rate
    needs cores / rate of CPU per payment at most)."""
    cores = cores or os.cpu_count() or 1
    bare_rate = bare["paid"] / bare["seconds"]
    out = [
        f"- Baseline: a bare grpc.aio unary call (health Check, TLS, {bare['in_flight']} in"
        f" flight, server in this process, load from another) {bare_rate:,.0f}/s, p99"
        f" {bare['p99_ms']:.0f} ms."
    ]
    for c in cells:
        if c["mode"] == "unary" and c["in_flight"] != max(IN_FLIGHT):
            continue
        unary = c["mode"] == "unary"
        rate = c["paid"] / c["seconds"]
        target = UNARY_TARGET_X * bare_rate if unary else BULK_TARGET_PER_S
        met = rate >= target and (not unary or c["p99_ms"] <= UNARY_P99_MS_MAX)
        spent = (
            c["cpu_us_per_payment"] + c["client_cpu_us_per_payment"] + c["pg_cpu_us_per_payment"]
        )
        what = (
            f"unary at {c['in_flight']} in flight, at least {UNARY_TARGET_X}x the bare call"
            f" ({target:,.0f}/s) with p99 at most {UNARY_P99_MS_MAX:.0f} ms: {rate:,.0f}/s"
            f" ({rate / bare_rate:.2f}x) with p99 {c['p99_ms']:.0f} ms"
            if unary
            else f"bulk x{BULK_SIZE}, at least {target:,.0f} payments/s: {rate:,.0f}/s"
        )
        out.append(
            f"- Target {what}: **{'met' if met else 'NOT met'}**. CPU spent per payment"
            f" {spent:,.0f} µs (service + client + PostgreSQL; NATS not counted); {target:,.0f}/s"
            f" on {cores} cores allows at most {cores * 1_000_000 / target:,.0f} µs."
        )
    return out


async def _bare_cell(plan_file: str) -> dict[str, Any]:
    """Issue 17's baseline: a bare grpc.aio server in this process (the standard health
    servicer only, TLS with the bench's certificate), driven by the load generator in another
    process at the unary rows' concurrency over the same channel set-up."""
    import grpc
    from grpc_health.v1 import health, health_pb2_grpc

    from onebudget.shared.runtime.certs import local_ca
    from onebudget.shared.tls import server_credentials

    certificate = local_ca().server_certificate("bench")
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_secure_port(
        "127.0.0.1:0", server_credentials(str(certificate.cert_file), str(certificate.key_file))
    )
    await server.start()
    try:
        children_cpu = os.times().children_user + os.times().children_system
        cpu = time.process_time()
        result = await _drive(f"127.0.0.1:{port}", plan_file, "bare", max(IN_FLIGHT), DURATION_S)
        calls = max(result["paid"], 1)
        result["cpu_us_per_payment"] = (time.process_time() - cpu) / calls * 1e6
        client_cpu = os.times().children_user + os.times().children_system - children_cpu
        result["client_cpu_us_per_payment"] = client_cpu / calls * 1e6
    finally:
        await server.stop(1)
    result.update(mode="bare", in_flight=max(IN_FLIGHT))
    return result


async def run(database_url: str) -> str:
    from onebudget.shared.runtime.infra import project_state_dir
    from onebudget.shared.runtime.nats import LocalNats

    load_before = os.getloadavg()
    nats_dir = NATS_DIR or project_state_dir() / "bench-nats"
    nats = LocalNats(nats_dir)
    nats.start(fresh=True)
    try:
        async with db.scratch_database(database_url, "bench_payments") as url:
            host, plan = await _setup(url, nats.url)
            try:
                plan["payee"] = await _payee(host)
                plan["token"] = _broker_token()
                plan_file = str((nats_dir / "plan.json").resolve())
                await asyncio.to_thread(Path(plan_file).write_text, json.dumps(plan))
                stats = _STATS[-1]
                bare = await _bare_cell(plan_file)
                cells = [await _cell(host, stats, plan_file, "unary", n, url) for n in IN_FLIGHT]
                cells.append(await _cell(host, stats, plan_file, "bulk", BULK_IN_FLIGHT, url))
                profile = await _profile(host, plan_file)
                verify_us = await _verify_cost_us()
            finally:
                await host.stop()
    finally:
        nats.stop()
        for server in _JWKS:
            server.close()
    first_us, remembered_us = verify_us
    load = "Load average (1, 5, 15 min) at the start {:.2f} / {:.2f} / {:.2f}".format(*load_before)
    load += ", at the end {:.2f} / {:.2f} / {:.2f}".format(*os.getloadavg())
    verify = (
        f"Bearer token verification (issue 14: ES256 signature, iss, aud, exp, nbf; key cached),"
        f" mean of {VERIFY_CALLS:,} distinct tokens in the service's process: the first time a"
        f" token is seen {first_us:.0f} µs; every later call with the same token (remembered"
        f" until it expires) {remembered_us:.1f} µs. The load generator sends one token, so the"
        " rows above pay the second."
    )
    return (
        f"{load} (a shared machine: compare CPU per payment, not only rates).\n\n"
        f"{_render(cells, bare, profile)}\n\n{verify}"
    )


def _broker_token() -> str:
    """A care broker's token for the load generator, living the whole run (an hour)."""
    from onebudget.shared.identity import Actor, Role
    from onebudget.shared.runtime.infra import project_state_dir
    from onebudget.shared.runtime.issuer import LocalIssuer

    issuer = LocalIssuer(project_state_dir() / "bench-issuer", _JWKS[-1].base_url)
    broker = Actor("bench:broker", Role.CARE_BROKER, BENCH_ORGANISATIONS)
    return issuer.mint(broker, ttl_s=3_600)


async def _verify_cost_us() -> tuple[float, float]:
    """Mean microseconds of one bearer token verification at the edge: a token seen for the
    first time (signature checked), and the same token again (remembered, shared/auth.py)."""
    from onebudget.shared.auth import OidcSettings, TokenVerifier, audience_for
    from onebudget.shared.identity import Actor, Role
    from onebudget.shared.runtime.infra import project_state_dir
    from onebudget.shared.runtime.issuer import LocalIssuer

    verifier = TokenVerifier(
        OidcSettings(_JWKS[-1].base_url, _JWKS[-1].jwks_url), audience_for("payment")
    )
    issuer = LocalIssuer(project_state_dir() / "bench-issuer", _JWKS[-1].base_url)
    tokens = [
        issuer.mint(Actor(f"bench:broker:{n}", Role.CARE_BROKER, BENCH_ORGANISATIONS))
        for n in range(VERIFY_CALLS)
    ]
    await verifier.verify(_broker_token())  # the JWKS fetch, once
    started = time.perf_counter()
    for token in tokens:
        await verifier.verify(token)
    first_us = (time.perf_counter() - started) / VERIFY_CALLS * 1e6
    started = time.perf_counter()
    for token in tokens:
        await verifier.verify(token)
    return first_us, (time.perf_counter() - started) / VERIFY_CALLS * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onebudget.bench.payments")
    parser.add_argument("--client", nargs=5, metavar=("ADDRESS", "PLAN", "MODE", "N", "SECONDS"))
    args = parser.parse_args(argv)
    if args.client:
        address, plan, mode, n, seconds = args.client
        asyncio.run(_client(address, plan, mode, int(n), float(seconds)))
        return 0
    from onebudget.shared.runtime.infra import LocalInfra

    infra = LocalInfra("bench", fresh=True).start()
    try:
        print(asyncio.run(run(infra.database_url)))
    finally:
        infra.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
