"""`scripts/bench scale`: issue 17's growth figures in one run, each with its target and met /
not met: the ledger grown to 10 million transfers (bench/scale_ledger.py: the hot account empty
and grown, `ledger verify`'s rate), the commissioner's reports with England's 200,000 people
(bench/scale_people.py), and each process's memory over a 10-minute soak (bench/soak.py).

Each part is the module's own `run` with its environment settings (ONEBUDGET_BENCH_TRANSFERS,
ONEBUDGET_BENCH_SCALE_PEOPLE, ONEBUDGET_BENCH_SOAK_S). A part that fails is written as not
completed (NOT met) with its error, and the others still run: an hour of seeding is not thrown
away because a later part failed.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable

PARTS = (
    ("The ledger grown to 10 million transfers", "scale_ledger"),
    ("The commissioner's reports with 200,000 people", "scale_people"),
    ("Memory over a 10-minute soak", "soak"),
)


async def run(database_url: str) -> str:
    blocks = []
    for title, name in PARTS:
        part: Callable[[str], Awaitable[str]] = importlib.import_module(
            f"onebudget.bench.{name}"
        ).run
        started = time.perf_counter()
        try:
            body = await part(database_url)
        except Exception as error:  # written as not completed; the other parts run on
            body = f"Did not complete: {error!r}. Every target of this part: **NOT met**."
        minutes = (time.perf_counter() - started) / 60
        blocks.append(f"### {title}\n\n`scripts/bench {name}`, {minutes:.1f} min.\n\n{body}")
    return "\n\n".join(blocks)
