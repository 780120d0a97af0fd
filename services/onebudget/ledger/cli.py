"""`onebudget ledger verify`: recompute the hash chain and balances, and check the chain against
its latest anchor in JetStream; exit 1 on any mismatch. `onebudget ledger anchor`: publish the
chain head now (the services do it every few seconds; docs/reliability.md, "Tampering")."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import asyncpg
import nats
from nats.aio.client import Client as NatsClient

from onebudget.ledger.anchor import (
    Anchor,
    ensure_anchor_stream,
    latest_anchor,
    ledger_id,
    publish_anchor,
)
from onebudget.ledger.audit import verify
from onebudget.shared.runtime.stack_state import read_state

CONNECT_TIMEOUT_S = 10.0


async def _connect_nats(url: str) -> NatsClient:
    # Not shared/bus.connect: its reconnect logging would print into the command's output.
    servers = [u.strip() for u in url.split(",") if u.strip()]
    return await nats.connect(servers, connect_timeout=CONNECT_TIMEOUT_S)


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ledger = subparsers.add_parser("ledger", help="ledger operations")
    commands = ledger.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "verify",
        help="recompute the hash chain and balances, and check the chain against its latest"
        " anchor (ONEBUDGET_DATABASE_URL and ONEBUDGET_NATS_URL, else those of the stack"
        " `onebudget up` runs here)",
    )
    run.set_defaults(func=_verify_command)
    anchor = commands.add_parser(
        "anchor",
        help="publish the chain head to JetStream now (ONEBUDGET_DATABASE_URL, ONEBUDGET_NATS_URL)",
    )
    anchor.set_defaults(func=_anchor_command)


async def _verify(url: str, nats_url: str) -> list[str]:
    conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
    try:
        if not nats_url:
            return await verify(conn)
        nc = await _connect_nats(nats_url)
        try:
            # The anchor first: everything it names was committed before this snapshot.
            anchor = await latest_anchor(nc.jetstream(), await ledger_id(conn))
        finally:
            await nc.close()
        return await verify(conn, anchor=anchor, anchored=True)
    finally:
        await conn.close()


async def _anchor(url: str, nats_url: str) -> Anchor | None:
    conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
    nc = await _connect_nats(nats_url)
    try:
        js = nc.jetstream()
        await ensure_anchor_stream(js, int(os.environ.get("ONEBUDGET_STREAM_REPLICAS", "1")))
        return await publish_anchor(conn, js)
    finally:
        await nc.close()
        await conn.close()


def _urls() -> tuple[str, str]:
    """(database, NATS): from the environment, else from the stack `onebudget up` runs here."""
    state = read_state()
    url = os.environ.get("ONEBUDGET_DATABASE_URL", "") or (state.postgresql if state else "")
    nats_url = os.environ.get("ONEBUDGET_NATS_URL", "") or (state.nats if state else "")
    if not url:
        print(
            "ONEBUDGET_DATABASE_URL is not set and no stack runs here (./scripts/run)",
            file=sys.stderr,
        )
        sys.exit(2)
    return url, nats_url


def _verify_command(_args: argparse.Namespace) -> int:
    url, nats_url = _urls()
    if not nats_url:
        print(
            "ONEBUDGET_NATS_URL is not set and no stack runs here: the chain is not checked"
            " against its anchor",
            file=sys.stderr,
        )
    problems = asyncio.run(_verify(url, nats_url))
    for problem in problems:
        print(problem)
    if problems:
        # Exit here rather than trust the caller to turn a return value into a status.
        sys.exit(1)
    print("OK")
    return 0


def _anchor_command(_args: argparse.Namespace) -> int:
    url, nats_url = _urls()
    if not nats_url:
        print("ONEBUDGET_NATS_URL is not set and no stack runs here", file=sys.stderr)
        sys.exit(2)
    head = asyncio.run(_anchor(url, nats_url))
    print("nothing to anchor: no transfer yet" if head is None else f"anchored ts {head.ts}")
    return 0
