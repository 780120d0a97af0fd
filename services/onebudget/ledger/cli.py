"""`onebudget ledger verify`: recompute the hash chain and balances, and check the chain against
its latest anchor in JetStream; exit 1 on any mismatch. `onebudget ledger anchor`: publish the
chain head now (the services do it every few seconds; docs/reliability.md, "Tampering")."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg
import nats
import nats.errors
from nats.aio.client import Client as NatsClient

from onebudget.ledger.anchor import (
    Anchor,
    ensure_anchor_stream,
    latest_anchor,
    ledger_id,
    publish_anchor,
)
from onebudget.ledger.audit import VERIFY_CHECKS, verify
from onebudget.shared.bus import (
    OPERATOR_USER,
    PASSWORD_FILE_VARIABLE,
    USER_VARIABLE,
    auth_options,
)
from onebudget.shared.progress import Progress
from onebudget.shared.runtime.stack_state import read_state

CONNECT_TIMEOUT_S = 10.0
T = TypeVar("T")


class Unreachable(Exception):
    """The database or NATS could not be reached: one line for the user, exit 2."""


async def _quiet(_error: Exception) -> None:
    """nats-py prints each connection error with a traceback unless told otherwise."""


async def _connect_nats(url: str) -> NatsClient:
    # Not shared/bus.connect: a command tries once and says so, where a service reconnects
    # for ever (and nats-py's default error callback would print tracebacks into the output).
    servers = [u.strip() for u in url.split(",") if u.strip()]
    try:
        return await nats.connect(
            servers,
            connect_timeout=CONNECT_TIMEOUT_S,
            allow_reconnect=False,
            # nats-py retries a first connection without end when this is 0 (or unset: 60
            # attempts, 2 s apart); 1 tries the servers once more and gives up.
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=_quiet,
            **auth_options(),  # ONEBUDGET_NATS_USER, else the stack's operator (`_urls`)
        )
    except (OSError, TimeoutError, nats.errors.Error) as error:
        raise Unreachable(f"NATS at {url} is unreachable ({type(error).__name__})") from error


async def _connect_db(url: str) -> asyncpg.Connection:
    try:
        conn: asyncpg.Connection = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        raise Unreachable(f"PostgreSQL is unreachable ({type(error).__name__})") from error
    return conn


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's work; a server that cannot be reached is one line and exit 2."""
    try:
        return asyncio.run(work)
    except Unreachable as unreachable:
        print(f"onebudget ledger: {unreachable}", file=sys.stderr)
        sys.exit(2)


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
    conn = await _connect_db(url)
    try:
        anchor = None
        if nats_url:
            nc = await _connect_nats(nats_url)
            try:
                # The anchor first: everything it names was committed before this snapshot.
                anchor = await latest_anchor(nc.jetstream(), await ledger_id(conn))
            finally:
                await nc.close()
        # Each check reads every transfer or entry: its progress (shared/progress) on stderr.
        with Progress("ledger verify", VERIFY_CHECKS, unit="checks") as progress:
            return await verify(
                conn, anchor=anchor, anchored=bool(nats_url), checked=progress.advance
            )
    finally:
        await conn.close()


async def _anchor(url: str, nats_url: str) -> Anchor | None:
    conn = await _connect_db(url)
    try:
        nc = await _connect_nats(nats_url)
    except Unreachable:
        await conn.close()
        raise
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
    if state is not None and state.pgpass and not os.environ.get("ONEBUDGET_DATABASE_URL"):
        os.environ["PGPASSFILE"] = state.pgpass  # the stack's server asks for a password
    if state is not None and state.nats_password_file and not os.environ.get("ONEBUDGET_NATS_URL"):
        # The stack's NATS has users (ADR 16): a person at the CLI speaks as its operator.
        os.environ.setdefault(USER_VARIABLE, OPERATOR_USER)
        os.environ.setdefault(PASSWORD_FILE_VARIABLE, state.nats_password_file)
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
    problems = _run(_verify(url, nats_url))
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
    head = _run(_anchor(url, nats_url))
    print("nothing to anchor: no transfer yet" if head is None else f"anchored ts {head.ts}")
    return 0
