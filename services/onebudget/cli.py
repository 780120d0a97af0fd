"""The `onebudget` command: run the stack, and talk to the services as finance, brokers, admins."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from onebudget.allocation.entrypoints.cli import add_commands as add_finance_commands
from onebudget.entitlement.entrypoints.cli import add_commands as add_entitlement_commands
from onebudget.ledger.cli import add_commands as add_ledger_commands
from onebudget.payment.entrypoints.cli import add_commands as add_broker_commands
from onebudget.reporting.entrypoints.cli import add_commands as add_report_commands

CommandAdder = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _cmd_up(args: argparse.Namespace) -> int:
    from onebudget.shared.stack import Stack

    stack = Stack(name="run", fresh=args.fresh, nats_cluster_size=args.nats_cluster)
    stopping = threading.Event()
    starting = True

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        # While starting or loading, interrupt that work (the finally below stops everything);
        # once running, just wake the main thread.
        if starting:
            raise KeyboardInterrupt
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack.start()
        print(stack.describe(), flush=True)
        if args.demo:
            from onebudget.demo.run import load_and_report

            load_and_report(stack.addresses, people_count=args.people)
            print(f"\n{stack.describe()}", flush=True)
        if args.exit_after_start:
            return 0
        starting = False
        print("Press Ctrl-C to stop.", flush=True)
        stopping.wait()
    except KeyboardInterrupt:
        print("Interrupted.", flush=True)
    finally:
        print("Stopping OneBudget ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return 0


def _add_up(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = sub.add_parser("up", help="start PostgreSQL, NATS and the four services")
    up.add_argument("--fresh", action="store_true", help="wipe .onebudget/run first")
    up.add_argument("--demo", action="store_true", help="load a synthetic year after start")
    up.add_argument("--people", type=int, default=2000, help="people in the demo (2000)")
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


def _cluster_size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if size != 1 and not 3 <= size <= 5:
        raise argparse.ArgumentTypeError("a JetStream cluster has 3 to 5 nodes (or 1: no cluster)")
    return size


def _cmd_status(args: argparse.Namespace) -> int:
    from onebudget.shared.client import DEFAULT_ADDRESSES, health_of, service_address, table

    rows = []
    for service in DEFAULT_ADDRESSES:
        address = service_address(service)
        status, failing = health_of(address, args.timeout)
        rows.append((service, address, status, ", ".join(failing) or "-"))
    print(table(("service", "address", "health", "failing parts"), rows))
    return 0 if all(row[2] == "SERVING" for row in rows) else 3


def _add_status(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = sub.add_parser(
        "status",
        help="each service's health and which of its parts (relay, consumers, batch workers,"
        " scheduler, nats) is failing; exits 3 unless all are SERVING",
    )
    status.add_argument("--timeout", type=float, default=3.0, help="seconds per service (3)")
    status.set_defaults(func=_cmd_status)


def _command_adders() -> Sequence[CommandAdder]:
    return [
        _add_up,
        _add_status,
        add_ledger_commands,
        add_entitlement_commands,
        add_finance_commands,
        add_broker_commands,
        add_report_commands,
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onebudget", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _command_adders():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
