"""Ledger throughput and latency: group commit on and off, random and hot accounts.

Group commit runs in its default, optimistic mode (Python decides the next batch while the
database writes the last); at 128 callers it also runs with `optimistic=False` (every batch on
the locked path), so the gain of each step is measured in the same run.

Each caller submits one transfer at a time and waits for its result (the shape of a service
handling one request), for `DURATION_S` per cell. "hot": every transfer credits the same
account (a ring-fence, a big provider), which serialises on its lock; "random": both sides
drawn from `ACCOUNT_COUNT` accounts. Runs against a fresh database it creates and drops.

    python -m onebudget.bench.ledger
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from onebudget import ledger
from onebudget.ledger import Account, FundingStream, Transfer
from onebudget.ledger import CreateTransferResult as R
from onebudget.shared import db

ACCOUNT_COUNT = 1000
CONCURRENCY = (1, 16, 128)
DURATION_S = 3.0
HOT = uuid.UUID(int=0)
TARGET_PER_S = 10_000
TARGET_REPEATS = 3  # the target cell runs this many times: it must hold in each
# (workload, group commit mode, callers), in the order run.
_PLAN = [
    *((w, m, c) for w in ("random", "hot") for m in ("optimistic", "off") for c in CONCURRENCY),
    ("random", "locked", CONCURRENCY[-1]),
    ("hot", "locked", CONCURRENCY[-1]),
    *(("hot", "optimistic", CONCURRENCY[-1]),) * (TARGET_REPEATS - 1),
]


@dataclass(frozen=True)
class Cell:
    workload: str
    group_commit: str  # "optimistic", "locked" or "off"
    callers: int
    transfers: int
    seconds: float
    p50_ms: float
    p99_ms: float
    # CPU per transfer (µs) of this process and of the database server's processes (None when
    # they cannot be read: a server on another host), and the 1-minute load average at the end:
    # on a shared machine the rate alone says little.
    client_cpu_us: float | None = None
    server_cpu_us: float | None = None
    load: float | None = None

    @property
    def per_second(self) -> float:
        return self.transfers / self.seconds


def _process_cpu_s(pid: int) -> float | None:
    """utime + stime of a local process (seconds), or None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _server_cpu_s(pool: asyncpg.Pool) -> dict[int, float]:
    """CPU so far of every process of the database server that pg_stat_activity names (its
    backends and background workers), where this machine can read it."""
    pids = [r[0] for r in await pool.fetch("SELECT pid FROM pg_stat_activity")]
    found = {pid: _process_cpu_s(pid) for pid in pids}
    return {pid: cpu for pid, cpu in found.items() if cpu is not None}


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def _setup(url: str) -> list[uuid.UUID]:
    ids = [uuid.UUID(int=i + 1) for i in range(ACCOUNT_COUNT)]
    accounts = [Account(i, "payee", f"payee-{i.int}", FundingStream.NHS) for i in ids]
    # A big provider: a ring-fence takes only funding transfers (migration 0002).
    accounts.append(Account(HOT, "payee", "hot-provider", FundingStream.NHS))
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        await ledger.apply_ledger_migrations(pool)
        async with pool.acquire() as conn:
            results = await ledger.create_accounts(conn, accounts)
            assert set(results) == {ledger.CreateAccountResult.OK}
    finally:
        await pool.close()
    return ids


def _transfer(workload: str, ids: list[uuid.UUID]) -> Transfer:
    if workload == "hot":
        return Transfer(uuid.uuid4(), random.choice(ids), HOT, 1, "payment")
    debit, credit = random.sample(ids, 2)
    return Transfer(uuid.uuid4(), debit, credit, 1, "payment")


async def _drive(
    callers: int,
    submit: Callable[[Transfer], Awaitable[R]],
    make: Callable[[], Transfer],
    duration_s: float = DURATION_S,
) -> tuple[int, float, list[float]]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + duration_s

    async def caller() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            result = await submit(make())
            latencies.append(time.perf_counter() - started)
            assert result is R.OK, result

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return len(latencies), time.perf_counter() - started, sorted(latencies)


async def _cell(
    url: str,
    ids: list[uuid.UUID],
    workload: str,
    mode: str,
    callers: int,
    duration_s: float = DURATION_S,
) -> Cell:
    """One row of the table: `callers` callers for `duration_s` seconds (scale_ledger reuses it
    on a ledger it has grown)."""
    group = mode != "off"
    config = ledger.GroupCommitConfig(optimistic=mode == "optimistic")
    pool_size = 4 if group else callers
    pool = await asyncpg.create_pool(url, min_size=pool_size, max_size=pool_size)
    server_before = await _server_cpu_s(pool)
    client_before = time.process_time()
    try:

        def make() -> Transfer:
            return _transfer(workload, ids)

        if group:
            async with ledger.GroupCommitter(pool, config) as committer:

                async def submit(t: Transfer) -> R:
                    return (await committer.create_transfers([t]))[0]

                count, seconds, lat = await _drive(callers, submit, make, duration_s)
        else:

            async def submit(t: Transfer) -> R:
                async with pool.acquire() as conn:
                    return (await ledger.create_transfers(conn, [t]))[0]

            count, seconds, lat = await _drive(callers, submit, make, duration_s)
        client_s = time.process_time() - client_before
        server_after = await _server_cpu_s(pool)
    finally:
        await pool.close()
    both = server_before.keys() & server_after.keys()
    server_s = sum(server_after[p] - server_before[p] for p in both) if both else None
    return Cell(
        workload,
        mode,
        callers,
        count,
        seconds,
        _percentile(lat, 0.50) * 1000,
        _percentile(lat, 0.99) * 1000,
        client_s * 1e6 / count,
        None if server_s is None else server_s * 1e6 / count,
        os.getloadavg()[0],
    )


def _render(cells: list[Cell], verified: list[str]) -> str:
    lines = [
        f"One transfer per call, each caller waiting for its result; {DURATION_S:.0f} s per row;"
        f" {os.cpu_count()} cores, Python {platform.python_version()}, client and PostgreSQL on"
        " the same machine, synchronous_commit on. hot = every transfer credits one account.",
        "",
        "CPU µs per transfer: of the bench's process (its callers included) and of every"
        " PostgreSQL process; load: the 1-minute load average at the row's end.",
        "",
        "| workload | group commit | callers | transfers/s | p50 ms | p99 ms |"
        " CPU µs/transfer: client / PostgreSQL | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]

    def figure(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    for c in cells:
        lines.append(
            f"| {c.workload} | {c.group_commit} | {c.callers} |"
            f" {c.per_second:,.0f} | {c.p50_ms:.2f} | {c.p99_ms:.2f} |"
            f" {figure(c.client_cpu_us, ',.0f')} / {figure(c.server_cpu_us, ',.0f')} |"
            f" {figure(c.load, '.2f')} |"
        )
    best = {
        mode: max(c.per_second for c in cells if c.workload == "hot" and c.group_commit == mode)
        for mode in ("optimistic", "locked", "off")
    }
    target = [
        c.per_second
        for c in cells
        if (c.workload, c.group_commit, c.callers) == ("hot", "optimistic", CONCURRENCY[-1])
    ]
    lowest = min(target)
    lines += [
        "",
        f"Hot accounts, best of each: {best['optimistic']:,.0f}/s with group commit,"
        f" {best['locked']:,.0f}/s with group commit on the locked path only,"
        f" {best['off']:,.0f}/s without ({best['optimistic'] / best['off']:.1f}x).",
        f"Target (at least 10,000/s hot with group commit at {CONCURRENCY[-1]} callers, in each"
        f" of {len(target)} runs): lowest {lowest:,.0f}/s,"
        f" {'met' if lowest >= TARGET_PER_S else 'NOT met'}; at least 10x without group commit:"
        f" {'met' if lowest >= 10 * best['off'] else 'NOT met'}"
        f" ({lowest / best['off']:.1f}x from the lowest run).",
        f"`verify` after the run: {'OK' if not verified else '; '.join(verified[:3])}.",
        "",
    ]
    return "\n".join(lines)


async def run(database_url: str) -> str:
    """Benchmark the ledger in a fresh database next to `database_url`; a markdown section."""
    async with db.scratch_database(database_url, "bench_ledger") as url:
        ids = await _setup(url)
        cells = [
            await _cell(url, ids, workload, mode, callers) for workload, mode, callers in _PLAN
        ]
        conn = await asyncpg.connect(url)
        try:
            verified = await ledger.verify(conn)
        finally:
            await conn.close()
    return _render(cells, verified)


if __name__ == "__main__":
    from onebudget.shared.runtime.infra import LocalInfra

    infra = LocalInfra("bench", fresh=True).start()
    try:
        print(asyncio.run(run(infra.database_url)))
    finally:
        infra.stop()
