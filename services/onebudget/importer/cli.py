"""`onebudget import FILE [--dry-run] [--report PATH]`: a commissioner's existing PHBs from one
CSV file (docs/import.md). Every row is checked first with the services' own rules; the refused
rows are reported (row, column, reason) and the rest imported. A re-run imports nothing twice."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import sys
import time
from pathlib import Path

from onebudget.importer import load, rows
from onebudget.shared.client import STDOUT, output_path, service_address
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.policy import CategoryPolicy

EXIT_REFUSED_ROWS = 3  # the good rows were imported; some were refused (see the report)
EXIT_NOTHING_IMPORTED = 4  # rows were refused and none imported (or, --dry-run, would be)
ROLE_REFUSED = "PERMISSION_DENIED_ROLE"


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = subparsers.add_parser(
        "import",
        help="import existing PHBs (people, eligibility, agreed budgets) from a CSV file",
        description=__doc__,
    )
    command.add_argument("file", type=Path, help="the CSV file (docs/import.md)")
    command.add_argument(
        "--dry-run", action="store_true", help="check every row and report; send nothing"
    )
    command.add_argument(
        "--report",
        type=output_path,  # checked before anything is sent: exit 2, one usage line
        default=None,
        help="also write the refused rows to this CSV file (- for standard output)",
    )
    command.set_defaults(func=run)


def not_utf8(path: Path) -> str:
    """One line saying the file must be UTF-8, with the first line and byte that is not."""
    offset = 0
    with path.open("rb") as data:
        for number, raw in enumerate(data, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as bad:
                return (
                    f"the file must be UTF-8: line {number} is not (byte {offset + bad.start + 1}"
                    f" of the file, 0x{raw[bad.start]:02x}); save it as 'CSV UTF-8'"
                )
            offset += len(raw)
    return "the file must be UTF-8; save it as 'CSV UTF-8'"


def report_lines(refusals: list[rows.Refusal]) -> list[str]:
    """One line per refused row: `row N, column C: REASON: words`."""
    return [
        f"row {r.row}, column {r.column}: {r.reason}" if r.column else f"row {r.row}: {r.reason}"
        for r in refusals
    ]


def write_report(target: str, refusals: list[rows.Refusal]) -> None:
    """The refused rows as CSV (`row,column,reason`) to the file `target`, "-": stdout."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "reason"])
    writer.writerows([r.row, r.column, r.reason] for r in refusals)
    if target == STDOUT:
        sys.stdout.write(out.getvalue())
        return
    Path(target).write_text(out.getvalue(), newline="")


def run(args: argparse.Namespace) -> int:
    """Exit 0: every row imported (or, with --dry-run, would be sent); 3: some rows refused,
    the rest imported; 4: rows refused and nothing imported (the caller's role may not import
    is one line); 2: the file cannot be read at all (one line says why)."""
    started = time.monotonic()
    try:
        with args.file.open(newline="", encoding="utf-8-sig") as text:
            checked = rows.read(
                text, policy=CategoryPolicy.from_env(os.environ), today=SYSTEM_CLOCK.today()
            )
    except OSError as unreadable:
        print(f"onebudget import: {unreadable.strerror}: {args.file}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"onebudget import: {args.file}: {not_utf8(args.file)}", file=sys.stderr)
        return 2
    except rows.FileRefused as refused:
        print(f"onebudget import: {args.file}: {refused}", file=sys.stderr)
        return 2
    refusals = list(checked.refusals)
    imported = len(checked.people)
    if not args.dry_run and checked.people:
        addresses = {name: service_address(name) for name in ("entitlement", "allocation")}
        outcome = asyncio.run(load.send(addresses, checked.people))
        refusals += outcome.refusals
        imported = len(outcome.budgets)
        refusals.sort(key=lambda r: (r.row, r.column))
    if args.report is not None:
        try:
            write_report(args.report, refusals)
        except OSError as unwritable:
            print(f"onebudget import: --report {args.report}: {unwritable}", file=sys.stderr)
            return 2
    lines, code = summary(
        checked.rows, refusals, imported, dry_run=args.dry_run, took=time.monotonic() - started
    )
    for line in lines:
        print(line)
    return code


def role_refused(refusals: list[rows.Refusal], imported: int) -> str | None:
    """The caller's role, when nothing was imported because the services refused every call
    for it (PERMISSION_DENIED_ROLE); else None."""
    denied = [r for r in refusals if r.reason.startswith(ROLE_REFUSED)]
    if imported or not denied:
        return None
    said = denied[0].reason.split("the role ", 1)
    return said[1].split(" ", 1)[0] if len(said) == 2 else "you are logged in as"


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def summary(
    file_rows: int, refusals: list[rows.Refusal], imported: int, *, dry_run: bool, took: float
) -> tuple[list[str], int]:
    """What the command prints after the import, and its exit code: a line per refused row
    (several for a row with several faults) and one line of totals, counting rows; or, when
    the caller's role may not import at all, one line saying so."""
    refused_rows = len({r.row for r in refusals})  # a row with two faults is one row
    role = role_refused(refusals, imported)
    if role is not None and not dry_run:
        may = " or ".join(load.importing_roles()) or "no role"
        return [
            f"onebudget import: the role {role} may not import (the calls are a {may}'s):"
            f" log in as {may}; nothing was imported ({refused_rows} of {file_rows} rows refused)"
        ], EXIT_NOTHING_IMPORTED
    lines = report_lines(refusals)
    # The services answer a re-run's calls as the first time (the same answer, nothing done
    # twice) and do not say which they were: an import cannot tell imported from present.
    done = (
        f"would import {_count(imported, 'person', 'people')}"
        if dry_run
        else f"{_count(imported, 'person', 'people')} imported or already present"
    )
    lines.append(
        f"{_count(file_rows, 'row', 'rows')}: {done}, with their agreed budgets;"
        f" {_count(refused_rows, 'row', 'rows')} refused ({took:.1f} s)"
    )
    if not refusals:
        return lines, 0
    return lines, EXIT_REFUSED_ROWS if imported else EXIT_NOTHING_IMPORTED
