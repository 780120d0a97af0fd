"""The `onebudget` command: run the stack, and talk to the services as finance, brokers, admins."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from types import FrameType

from onebudget.allocation.entrypoints.cli import add_commands as add_finance_commands
from onebudget.audit_cli import add_commands as add_audit_commands
from onebudget.entitlement.entrypoints.cli import add_commands as add_entitlement_commands
from onebudget.importer.cli import add_commands as add_import_commands
from onebudget.ledger.cli import add_commands as add_ledger_commands
from onebudget.payment.entrypoints.cli import add_commands as add_broker_commands
from onebudget.reporting.entrypoints.cli import add_commands as add_report_commands
from onebudget.shared.client import OutputFailed, table, whole_number
from onebudget.shared.config import ConfigError

CommandAdder = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
SUPERVISE_EVERY_S = 0.5
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report an interrupted command


def _cmd_up(args: argparse.Namespace) -> int:
    """Start the stack and supervise it until Ctrl-C / SIGTERM (exit 0), an interruption while
    it starts or loads the demo (exit 130), or a child that keeps crashing (exit 1)."""
    from onebudget.demo.run import RECORD_NAME as DEMO_RECORD
    from onebudget.shared.runtime.infra import project_state_dir
    from onebudget.shared.stack import Stack, StackFailed

    stack = Stack(name="run", fresh=args.fresh, nats_cluster_size=args.nats_cluster)
    stopping = threading.Event()
    starting = True
    code = 0
    failed: list[StackFailed] = []

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        # While starting or loading, interrupt that work (the finally below stops everything);
        # once running, just wake the main thread.
        if starting:
            raise KeyboardInterrupt
        stopping.set()

    def supervise() -> None:
        # From the moment everything serves, demo load included: a child that dies is started
        # again while the demo loads (its calls retry UNAVAILABLE meanwhile).
        while not stopping.wait(SUPERVISE_EVERY_S):
            try:
                for line in stack.supervise_children(time.monotonic()):
                    print(line, flush=True)
            except StackFailed as gave_up:
                failed.append(gave_up)
                stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stack_dir = project_state_dir() / stack.name
    if args.fresh:  # the demo's record goes with the data it describes
        (stack_dir / DEMO_RECORD).unlink(missing_ok=True)
    supervisor = threading.Thread(target=supervise, name="supervise-children", daemon=True)
    try:
        stack.start()
        print(stack.describe(), flush=True)
        supervisor.start()
        if args.demo:
            from onebudget.demo.run import load_and_report

            # The demo's staff: each call in the role it needs, for the demo's ICB and council.
            from onebudget.demo.synthetic import COMMISSIONER, COUNCIL
            from onebudget.shared.channels import use_token
            from onebudget.shared.runtime.issuer import RoleTokens

            assert stack.issuer is not None
            use_token(RoleTokens(stack.issuer, (COMMISSIONER[0], COUNCIL[0]), subject="demo"))

            assert stack.infra is not None
            load_and_report(
                stack.addresses,
                people_count=args.people,
                state_dir=stack_dir,
                database_url=stack.infra.database_url,
                nats_url=stack.infra.nats_url,
            )
            print(f"\n{stack.describe()}", flush=True)
        if args.exit_after_start:
            return 0
        starting = False
        if not stopping.is_set():
            print("Press Ctrl-C to stop.", flush=True)
        stopping.wait()
    except KeyboardInterrupt:
        print("Interrupted.", flush=True)
        code = EXIT_INTERRUPTED
    finally:
        stopping.set()
        if supervisor.is_alive():
            supervisor.join()
        if failed:
            print(f"onebudget up: {failed[0]}", file=sys.stderr, flush=True)
            code = 1
        print("Stopping OneBudget ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return code


def _cmd_status(_args: argparse.Namespace) -> int:
    """Each component of the stack `up` started here: address, health, restarts, and the parts
    of a service that are failing. Health is the services' gRPC health check, the dashboard's
    and NATS's `/healthz`, and a query to PostgreSQL (shared/runtime/probes.py). Exit 0 when
    every component is SERVING, 1 when one is not, 3 when no stack runs here."""
    from onebudget.shared.client import health_of
    from onebudget.shared.runtime.probes import all_http_health, http_health, postgres_health
    from onebudget.shared.runtime.stack_state import read_state, state_path

    state = read_state()
    if state is None:
        print(
            f"OneBudget is not running here (no live stack at {state_path()});"
            " start it with ./scripts/run or `onebudget up`",
            file=sys.stderr,
        )
        return 3
    rows: list[tuple[str, str, str, int | str, str, str]] = []
    for service, address in state.services.items():
        # The parts a service names NOT_SERVING (its relay, consumers, batch workers,
        # scheduler, `nats`: shared/server.py), so the line says which part failed.
        health, failing = health_of(address)
        rows.append(
            (
                service,
                state.service_url(service),
                health,
                state.restarts.get(service, 0),
                state.metrics.get(service, ""),
                ", ".join(failing),
            )
        )
    dashboard = http_health(f"{state.dashboard}healthz") if state.dashboard else "UNREACHABLE"
    rows.append(
        ("dashboard", state.dashboard, dashboard, state.restarts.get("dashboard", 0), "", "")
    )
    rows.append(
        (
            "postgresql",
            state.postgresql,
            postgres_health(state.postgresql, state.pgpass),
            "",
            "",
            "",
        )
    )
    rows.append(("nats", state.nats, all_http_health(state.nats_health), "", "", ""))
    print(table(("component", "address", "health", "restarts", "metrics", "failing parts"), rows))
    print(f"logs: {state.logs}")
    return 0 if all(row[2] == "SERVING" for row in rows) else 1


def _cmd_login(args: argparse.Namespace) -> int:
    """Store a short-lived token for the CLI (shared/login.py)."""
    from onebudget.shared.login import NotLoggedIn, login

    try:
        print(login(args.role, args.org, args.subject, args.scope))
    except NotLoggedIn as why:
        print(f"onebudget: {why}", file=sys.stderr)
        return 2
    return 0


# Commands that call no service's API: they read the stack's own state, PostgreSQL and NATS as
# its operator does (the ledger's and the audit trail's verification), so they need no login.
NO_LOGIN = frozenset({"up", "status", "login", "ledger", "audit verify"})


def needs_login(args: argparse.Namespace) -> bool:
    """Whether the command calls a service and so needs the login's bearer token."""
    command = f"{args.command} {getattr(args, 'audit_command', '')}".strip()
    if getattr(args, "dry_run", False):
        return False  # a dry run (`import --dry-run`) checks locally and calls no service
    return args.command not in NO_LOGIN and command not in NO_LOGIN


def _add_login(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from onebudget.shared.login import CALLER_ROLES

    login = sub.add_parser(
        "login", help="a 15-minute token for the CLI from the local stack's issuer"
    )
    login.add_argument("--role", required=True, choices=CALLER_ROLES)
    login.add_argument(
        "--org",
        action="append",
        default=[],
        metavar="CODE",
        help="an ODS / GSS code the role acts for (repeat for several)",
    )
    login.add_argument("--subject", default="", help="who you are (default: local:<user>)")
    login.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="SERVICE.METHOD",
        help="an RPC an integration partner's client is registered for, e.g."
        " payment.ReleasePayment (repeat for several; integration_partner only)",
    )
    login.set_defaults(func=_cmd_login)


def _add_up(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = sub.add_parser("up", help="start PostgreSQL, NATS and the four services")
    up.add_argument("--fresh", action="store_true", help="wipe .onebudget/run first")
    up.add_argument("--demo", action="store_true", help="load a synthetic year after start")
    up.add_argument(
        "--people", type=whole_number(1, 1_000_000), default=2000, help="people in the demo (2000)"
    )
    up.add_argument(
        "--exit-after-start", action="store_true", help="start, print, stop (a smoke check)"
    )
    up.add_argument(
        "--nats-cluster",
        type=_cluster_size,
        default=1,
        metavar="N",
        help="run NATS as an N-node JetStream cluster on loopback, streams with N replicas"
        " (N = 1, or 3 to 5; use --fresh when switching, the bus's history is not carried over)",
    )
    up.set_defaults(func=_cmd_up)
    status = sub.add_parser(
        "status", help="where each part of the local stack listens, its health and restarts"
    )
    status.set_defaults(func=_cmd_status)


def _cluster_size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if size != 1 and not 3 <= size <= 5:
        raise argparse.ArgumentTypeError("a JetStream cluster has 3 to 5 nodes (or 1: no cluster)")
    return size


def _add_broker(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # The broker's commands, and its reads across allocation and payment (broker_desk).
    from onebudget import broker_desk

    commands = add_broker_commands(sub, line_left=broker_desk.line_left)
    broker_desk.add_commands(commands)


def _command_adders() -> Sequence[CommandAdder]:
    return [
        _add_up,
        _add_login,
        add_ledger_commands,
        add_audit_commands,
        add_entitlement_commands,
        add_finance_commands,
        _add_broker,
        add_report_commands,
        add_import_commands,
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onebudget", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _command_adders():
        add(sub)
    return parser


def _version() -> str:
    try:
        return version("onebudget")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code. A fault is one line on stderr, never a traceback
    (ONEBUDGET_LOG_LEVEL=debug shows the traceback for a bug report)."""
    args = build_parser().parse_args(argv)
    if hasattr(args, "check"):  # checks across a command's options: a usage error, exit 2
        args.check(args)
    if needs_login(args):
        from onebudget.shared.channels import default_token, use_token
        from onebudget.shared.login import NotLoggedIn, stored_token

        # A program that runs the CLI in its own process with its own identity (the tests)
        # keeps it; otherwise the login's token.
        try:
            if default_token() is None:
                use_token(stored_token())
        except NotLoggedIn as why:
            print(f"onebudget: {why}", file=sys.stderr)
            return 2
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (ConfigError, OutputFailed) as bad:
        print(f"onebudget: {bad}", file=sys.stderr)
        return 2
    except Exception as error:
        if os.environ.get("ONEBUDGET_LOG_LEVEL", "").lower() == "debug":
            raise
        print(f"onebudget: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
