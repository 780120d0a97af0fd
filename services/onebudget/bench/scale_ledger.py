"""Ledger growth: the hot account's throughput, empty and with N transfers in the ledger, and
how long `ledger verify` takes as the ledger grows (issue 17, "Growth"; ADR 22).

The ledger is grown in large set-based statements through the ledger's own insert path
(`ledger.growth.seed_transfers`): each statement appends `SEED_BATCH` transfers, every row
stamped and hash-chained by the row trigger, every statement validated by the statement trigger,
which moves the balances, as any hand-written insert would (as the database superuser, the
bench's role). During each seeding step the secondary indexes of the transfers are dropped and
built again at its end (`growth.secondary_indexes_rebuilt`, a bulk load's usual trick), so
`verify` and the hot runs see the ledger with every index the migrations made. The seeded
transfers move 1p between the bench's 1,000 payees, one in ten to the hot
account, so the hot account's own history grows too. After seeding, `VACUUM (ANALYZE)` does
what autovacuum would do on a ledger that grew over months.

The hot cell is bench/ledger.py's own (`_cell`: 128 callers, one transfer each, group commit
in its default optimistic mode), run `REPEATS` times at each size; the target compares the
medians: with N transfers in the ledger it is within 10% of the empty ledger's. `verify` runs
at a few sizes; its rate (transfers checked per second) says whether its time grows linearly.

    scripts/bench scale_ledger                      # N = 10,000,000 (ONEBUDGET_BENCH_TRANSFERS)
    python -m onebudget.bench.scale_ledger --transfers 20000 --duration 1
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from onebudget import ledger
from onebudget.bench.ledger import CONCURRENCY, HOT, TARGET_PER_S, Cell, _cell, _setup
from onebudget.bench.ledger import DURATION_S as CELL_DURATION_S
from onebudget.bench.plot import growth_png
from onebudget.ledger import growth
from onebudget.shared import db

TRANSFERS_DEFAULT = 10_000_000
TRANSFERS_ENV = "ONEBUDGET_BENCH_TRANSFERS"
DURATION_ENV = "ONEBUDGET_BENCH_DURATION_S"
SEED_BATCH = 50_000
REPEATS = 3
WARM_UP_S = 1.0  # an uncounted hot run before the empty ledger's
TARGET_DIFFERENCE = 0.10  # at most 10% between the empty ledger and the grown one
VERIFY_LINEAR_RATIO = 0.75  # verify's rate at the largest size at least this of the smallest


def _log(message: str) -> None:
    print(f"scale_ledger: {message}", file=sys.stderr, flush=True)


async def _count(url: str) -> int:
    """Transfers in the ledger."""
    conn = await asyncpg.connect(url)
    try:
        return await growth.transfer_count(conn)
    finally:
        await conn.close()


async def _seed(url: str, payees: list[uuid.UUID], upto: int, have: int) -> float:
    """Grow the ledger from `have` to `upto` transfers; the seconds it took."""
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        async with growth.secondary_indexes_rebuilt(conn):
            while have < upto:
                batch = min(SEED_BATCH, upto - have)
                await growth.seed_transfers(conn, batch, payees, HOT, have)
                have += batch
                elapsed = time.perf_counter() - started
                _log(f"seeded {have:,} transfers ({elapsed:,.0f} s)")
            _log("building the secondary indexes of the transfers again")
        _log("vacuum (analyze) of the transfers and the accounts")
        await growth.vacuum_analyze(conn)
    finally:
        await conn.close()
    return time.perf_counter() - started


async def _verify(url: str) -> tuple[int, float, list[str]]:
    """(transfers in the ledger, seconds `verify` took, what it found)."""
    conn = await asyncpg.connect(url)
    try:
        count = await growth.transfer_count(conn)
        started = time.perf_counter()
        problems = await ledger.verify(conn)
        return count, time.perf_counter() - started, problems
    finally:
        await conn.close()


async def _hot(url: str, ids: list[uuid.UUID], duration_s: float, size: int) -> list[Cell]:
    cells = []
    for repeat in range(REPEATS):
        cell = await _cell(url, ids, "hot", "optimistic", CONCURRENCY[-1], duration_s)
        _log(f"hot at {size:,}: run {repeat + 1}, {cell.per_second:,.0f} transfers/s")
        cells.append(cell)
    return cells


def _sizes(transfers: int) -> list[int]:
    """Where verify is timed: a hundredth, a tenth and all of N (distinct, non-zero)."""
    return sorted({s for s in (transfers // 100, transfers // 10, transfers) if s > 0})


def _render(transfers: int, duration_s: float, found: Growth) -> str:
    hot, verifies, seed_s = found.hot, found.verifies, found.seed_s
    empty = statistics.median(c.per_second for c in hot[0][1])
    grown = statistics.median(c.per_second for c in hot[-1][1])
    difference = abs(grown - empty) / empty if empty else float("inf")
    lines = [
        f"The hot account (every transfer credits it), {CONCURRENCY[-1]} callers, group commit"
        f" (optimistic), {duration_s:g} s per run, {REPEATS} runs at each size (bench/ledger.py's"
        f" cell); the ledger grown by {transfers:,} transfers in set-based statements of"
        f" {SEED_BATCH:,} through the ledger's insert path ({seed_s:,.0f} s,"
        f" {transfers / seed_s if seed_s else 0:,.0f} transfers/s,"
        f" {seed_s / (transfers / 1e6) if transfers else 0:,.0f} s per million; index builds"
        " and vacuum included).",
        "",
        "| transfers in the ledger | hot transfers/s, each run | median | p99 ms (worst run) |",
        "|---:|---|---:|---:|",
    ]
    for size, cells in hot:
        lines.append(
            f"| {size:,} | {', '.join(f'{c.per_second:,.0f}' for c in cells)} |"
            f" {statistics.median(c.per_second for c in cells):,.0f} |"
            f" {max(c.p99_ms for c in cells):.2f} |"
        )
    met = "met" if difference <= TARGET_DIFFERENCE else "NOT met"
    lines += [
        "",
        f"Target: the medians empty and grown by {transfers:,} differ by at most"
        f" {TARGET_DIFFERENCE:.0%}: they differ by {difference:.1%}, {met}.",
        "",
        "| transfers | `ledger verify` s | transfers/s | found |",
        "|---:|---:|---:|---|",
    ]
    for count, seconds, problems in verifies:
        told = "nothing" if not problems else "; ".join(problems[:2])
        lines.append(f"| {count:,} | {seconds:.2f} | {count / seconds:,.0f} | {told} |")
    rates = [count / seconds for count, seconds, _ in verifies if count and seconds]
    if len(rates) >= 2:
        linear = "met" if rates[-1] >= VERIFY_LINEAR_RATIO * rates[0] else "NOT met"
        lines += [
            "",
            f"`verify` grows linearly (its rate at the largest size at least"
            f" {VERIFY_LINEAR_RATIO:.0%} of the smallest's): {rates[-1]:,.0f} against"
            f" {rates[0]:,.0f} transfers/s, {linear}.",
        ]
    lines.append("")
    return "\n".join(lines)


@dataclass
class Growth:
    """What one run measured: the hot account's cells by the ledger's size (transfers in it),
    `verify` at each size (transfers, seconds, problems found), the seeding's seconds."""

    hot: list[tuple[int, list[Cell]]] = field(default_factory=list)
    verifies: list[tuple[int, float, list[str]]] = field(default_factory=list)
    seed_s: float = 0.0


async def measure(
    database_url: str, transfers: int, *, duration_s: float = CELL_DURATION_S
) -> Growth:
    """Grow a fresh ledger (a scratch database next to `database_url`) by `transfers`
    transfers in steps (a hundredth, a tenth, all), timing the hot account empty and after
    each step, and `verify` after each step."""
    found = Growth()
    async with db.scratch_database(database_url, "bench_scale_ledger") as url:
        ids = await _setup(url)
        # One run not counted: the first run of a fresh process and database pays for its
        # caches (a smoke run saw the empty ledger's median 33% below the grown one's).
        await _cell(url, ids, "hot", "optimistic", CONCURRENCY[-1], WARM_UP_S)
        found.hot.append((0, await _hot(url, ids, duration_s, 0)))
        # The hot runs add transfers of their own: N are seeded on top of those.
        have = await _count(url)
        base = have
        for size in _sizes(transfers):
            found.seed_s += await _seed(url, list(ids), base + size, have)
            found.verifies.append(await _verify(url))
            have = found.verifies[-1][0]
            _log(f"verify at {have:,}: {found.verifies[-1][1]:.2f} s")
            found.hot.append((have, await _hot(url, ids, duration_s, have)))
            have = await _count(url)  # with what the hot runs added: not seeded again
    return found


async def section(database_url: str, transfers: int, *, duration_s: float = CELL_DURATION_S) -> str:
    """`measure`, as a markdown section with each figure's target and met / not met."""
    found = await measure(database_url, transfers, duration_s=duration_s)
    return _render(transfers, duration_s, found)


GROWTH_PNG = Path("docs/benchmarks-growth.png")


def plot(found: Growth, path: Path = GROWTH_PNG) -> Path:
    """The growth curves (docs/benchmarks.md): the hot account's median rate, and `verify`'s
    rate, against the transfers in the ledger."""
    return growth_png(
        path,
        title="Ledger growth (scripts/bench scale_ledger)",
        x_label="transfers in the ledger",
        panels=[
            (
                "hot account transfers/s (median of 3, 128 callers)",
                {
                    "group commit": [
                        (size, statistics.median(c.per_second for c in cells))
                        for size, cells in found.hot
                    ]
                },
                float(TARGET_PER_S),
            ),
            (
                "ledger verify: transfers checked/s",
                {"verify": [(count, count / seconds) for count, seconds, _ in found.verifies]},
                None,
            ),
        ],
    )


def _transfers_from_env() -> int:
    return int(os.environ.get(TRANSFERS_ENV, TRANSFERS_DEFAULT))


def _duration_from_env() -> float:
    return float(os.environ.get(DURATION_ENV, CELL_DURATION_S))


async def run(database_url: str) -> str:
    """`scripts/bench scale_ledger`: N from ONEBUDGET_BENCH_TRANSFERS (default 10,000,000),
    seconds per hot run from ONEBUDGET_BENCH_DURATION_S (default bench/ledger.py's); the growth
    curves are drawn into GROWTH_PNG."""
    transfers, duration_s = _transfers_from_env(), _duration_from_env()
    found = await measure(database_url, transfers, duration_s=duration_s)
    plot(found)
    return _render(transfers, duration_s, found) + f"\n![The growth curves]({GROWTH_PNG.name})\n"


if __name__ == "__main__":
    from onebudget.shared.runtime.infra import LocalInfra

    parser = argparse.ArgumentParser(prog="python -m onebudget.bench.scale_ledger")
    parser.add_argument("--transfers", type=int, default=_transfers_from_env())
    parser.add_argument("--duration", type=float, default=_duration_from_env())
    parser.add_argument("--png", type=Path, help="also draw the growth curves into this file")
    args = parser.parse_args()
    infra = LocalInfra("bench", fresh=True).start()
    try:
        grown = asyncio.run(measure(infra.database_url, args.transfers, duration_s=args.duration))
        print(_render(args.transfers, args.duration, grown))
        if args.png:
            print(f"curves: {plot(grown, args.png)}")
    finally:
        infra.stop()
