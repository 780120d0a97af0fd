"""`scripts/bench NAME...`: run benchmarks on this machine and write docs/benchmarks.md.

Each benchmark is a module `onebudget.bench.<name>` with `async def run(database_url: str) -> str`
returning a markdown section. The servers are started fresh under `.onebudget/bench/` with
PostgreSQL's default durability (fsync on): numbers are what a deployment would see, not a
tuned-for-tests server. The file keeps one section per benchmark; re-running one replaces it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import platform
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.runtime.infra import LocalInfra

RESULTS = Path("docs/benchmarks.md")
HEADER = "# Benchmarks\n\nWritten by `scripts/bench`; each section says when and where it ran.\n"


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal"):
                memory_kb = int(line.split()[1])
                break
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kb // 1024 // 1024} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def commit() -> str:
    """The code measured: HEAD's short id, marked `+changes` when the tree differs from it."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown code"
    return f"{head}+changes" if dirty else head


def replace_section(document: str, name: str, section: str) -> str:
    """Put `## name` ... in place of the old section of that name, or append it."""
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    block = f"## {name}\n\n{section.strip()}\n\n"
    if pattern.search(document):
        return pattern.sub(lambda _m: block, document)
    return document.rstrip() + "\n\n" + block


async def _run_one(name: str, database_url: str) -> str:
    module = importlib.import_module(f"onebudget.bench.{name}")
    run: Callable[[str], Awaitable[str]] = module.run
    return await run(database_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("names", nargs="+", help="benchmarks to run, e.g. ledger")
    args = parser.parse_args(argv)
    document = RESULTS.read_text() if RESULTS.exists() else HEADER
    for name in args.names:
        infra = LocalInfra("bench", fresh=True).start()
        try:
            body = asyncio.run(_run_one(name, infra.database_url))
        finally:
            infra.stop()
        stamp = f"Run {SYSTEM_CLOCK.now():%Y-%m-%d %H:%M} UTC at {commit()} on {machine()}."
        document = replace_section(document, name, f"{stamp}\n\n{body}")
        print(body)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(document)
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
