"""`scripts/chaos`: the long fault run; its figures go into docs/reliability.md.

Options set the size; the defaults are the documented run. Exits 0 only when nothing was lost
or duplicated, every count matched and every part came back (the 5 s resume target is reported,
met or not, but a slow machine does not fail the run)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from onebudget.bench.__main__ import machine
from onebudget.chaos.run import run_chaos
from onebudget.shared.client import seconds, whole_number
from onebudget.shared.clock import SYSTEM_CLOCK

RESULTS = Path("docs/reliability.md")
INTRO = """# Reliability

What happens to money and events when parts of the stack fail, measured by `scripts/chaos`
(`python -m onebudget.chaos`). The stack is the one `onebudget up` runs (each service its own
process, PostgreSQL with its default durability, NATS with JetStream), loaded with a synthetic
world; brokers keep releasing 1-99p payments while each part is crashed in turn and brought back:
PostgreSQL (`pg_ctl stop -m immediate`, then start), NATS (kill -9, then start on the same
store), then each of the four services (kill -9, then started again). A broker that gets
UNAVAILABLE, ABORTED or DEADLINE_EXCEEDED sends the same request again, with the same
request_id. Afterwards the stack settles and everything is counted: pence the brokers were told
are paid against payment rows and the ledger, each request_id's rows, events in each stream
against the outbox, and the reports against the ledger.

How recovery works is in docs/architecture.md ("Failures"); a short version of this run is part
of `./scripts/test` (tests/e2e/test_chaos.py).
"""


def with_last_run(old: str, run: str) -> str:
    """The results file with `run` (the "## The last run" section's body) in place of the last
    run: the sections after it (written by hand, such as "Tampering") are kept."""
    start = old.find("\n## The last run")
    after = old.find("\n## ", start + 1) if start >= 0 else -1
    kept = old[after:] if after >= 0 else ""
    return f"{INTRO}\n## The last run\n\n{run}\n{kept}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/chaos", description=__doc__)
    parser.add_argument(
        "--people", type=whole_number(1, 100_000), default=60, help="synthetic people (60)"
    )
    parser.add_argument(
        "--in-flight", type=whole_number(1, 1_000), default=8, help="brokers paying at once (8)"
    )
    parser.add_argument(
        "--phase-s", type=seconds(0.1, 3_600), default=10.0, help="load between faults (10 s)"
    )
    parser.add_argument(
        "--down-s", type=seconds(0.1, 600), default=3.0, help="how long a part is down (3 s)"
    )
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS}")
    args = parser.parse_args(argv)
    report = asyncio.run(
        run_chaos(
            name=f"chaos-{os.getpid()}",
            people=args.people,
            in_flight=args.in_flight,
            phase_s=args.phase_s,
            down_s=args.down_s,
        )
    )
    body = report.markdown()
    print(body)
    if not args.no_write:
        stamp = f"Run {SYSTEM_CLOCK.now():%Y-%m-%d %H:%M} UTC on {machine()}."
        settings = (
            f"{args.people} people, {args.in_flight} brokers in flight, {args.phase_s:g} s of"
            f" load between faults, each part down for {args.down_s:g} s."
        )
        old = RESULTS.read_text() if RESULTS.exists() else ""
        RESULTS.write_text(with_last_run(old, f"{stamp}\n{settings}\n\n{body}"))
        print(f"written to {RESULTS}")
    if report.unexpected_errors:
        print("\n".join(report.unexpected_errors[:20]), file=sys.stderr)
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
