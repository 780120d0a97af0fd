"""`onebudget ledger verify`: recompute the hash chain and balances; exit 1 on any mismatch."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import asyncpg

from onebudget.ledger.audit import verify
from onebudget.shared.runtime.stack_state import read_state

CONNECT_TIMEOUT_S = 10.0


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ledger = subparsers.add_parser("ledger", help="ledger operations")
    commands = ledger.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "verify",
        help="recompute the hash chain and balances (ONEBUDGET_DATABASE_URL, else the"
        " database of the stack `onebudget up` runs here)",
    )
    run.set_defaults(func=_verify_command)


async def _verify(url: str) -> list[str]:
    conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
    try:
        return await verify(conn)
    finally:
        await conn.close()


def _verify_command(_args: argparse.Namespace) -> int:
    state = read_state()
    url = os.environ.get("ONEBUDGET_DATABASE_URL", "") or (state.postgresql if state else "")
    if not url:
        print(
            "ONEBUDGET_DATABASE_URL is not set and no stack runs here (./scripts/run)",
            file=sys.stderr,
        )
        sys.exit(2)
    problems = asyncio.run(_verify(url))
    for problem in problems:
        print(problem)
    if problems:
        # Exit here rather than trust the caller to turn a return value into a status.
        sys.exit(1)
    print("OK")
    return 0
