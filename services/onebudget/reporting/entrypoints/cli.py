"""`onebudget report summary|target|quarterly|reconcile|rebuild`: the reporting API from the
command line, printed as tables (money in pounds via format_pence). The service address comes
from ONEBUDGET_REPORTING_ADDRESS (default 127.0.0.1:50054)."""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc

from onebudget.reporting.service_layer.mapping import cohort_label
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.reporting.v1 import reporting_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_channel
from onebudget.shared.client import (
    STDOUT,
    YEAR,
    explain,
    organisation_code,
    output_path,
    request_id,
    service_address,
    table,
    whole_number,
    write_output,
)
from onebudget.shared.money import format_pence
from onebudget.shared.progress import Progress

CALL_TIMEOUT_S = 30.0

Stub = api_grpc.ReportingServiceStub


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = subparsers.add_parser("report", help="CCG finance reports from the read model")
    verbs = report.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    for name, func, helptext in (
        ("summary", _summary, "allocation, ring-fences, NHS money agreed and paid, people"),
        ("target", _target, "PHB target (a floor) met or not, gap, above floor, trend by quarter"),
        ("reconcile", _reconcile, "compare every money figure with the ledger"),
    ):
        verb = verbs.add_parser(name, help=helptext)
        _commissioner_args(verb, quarter=name == "summary")
        verb.set_defaults(func=_call(func))
    quarterly = verbs.add_parser("quarterly", help="write the quarterly PHB return as CSV")
    _commissioner_args(quarterly, quarter=False)
    quarterly.add_argument(
        "--quarter",
        type=whole_number(1, 4),
        required=True,
        help="1-4, the quarter of the return (Q1 Apr-Jun .. Q4 Jan-Mar); a quarter not yet"
        " ended is written as a provisional preview, named *-provisional.csv",
    )
    quarterly.add_argument(
        "--out",
        type=output_path,
        default=None,
        metavar="FILE",
        help="the CSV file to write, - for standard output (default: the suggested file name)",
    )
    quarterly.set_defaults(func=_call(_quarterly))
    rebuild = verbs.add_parser("rebuild", help="wipe the read model and replay the streams")
    rebuild.add_argument("--request-id", type=request_id, default="", help="reuse to retry safely")
    rebuild.add_argument(
        "--no-wait", action="store_true", help="return at once instead of showing the progress"
    )
    rebuild.set_defaults(func=_call(_rebuild))


def _commissioner_args(parser: argparse.ArgumentParser, *, quarter: bool) -> None:
    parser.add_argument(
        "--commissioner", type=organisation_code, required=True, help="ODS code, e.g. 00L"
    )
    parser.add_argument("--year", type=YEAR, required=True, help="financial year, e.g. 2026")
    if quarter:
        parser.add_argument(
            "--quarter",
            type=whole_number(0, 4),
            default=0,
            help="1-4, the year to the quarter's end (0, the default: the whole year)",
        )


DIFFERENCES_EXIT = 3  # `report reconcile` found differences (1 is a failed call)


@dataclass(frozen=True)
class Printed:
    """What a command prints, and the exit status that goes with it."""

    text: str
    exit_status: int = 0


def _call(
    func: Callable[[Stub, argparse.Namespace], str | Printed],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with open_channel(service_address("reporting")) as channel:
            try:
                out = func(api_grpc.ReportingServiceStub(channel), args)  # type: ignore[no-untyped-call]
            except grpc.RpcError as error:
                print(explain(error), file=sys.stderr)
                return 1
        printed = out if isinstance(out, Printed) else Printed(out)
        if printed.text:  # nothing more on stdout after a CSV written to it
            print(printed.text)
        return printed.exit_status

    return run


def _figures(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return table(headers, rows, numbers_right=True)


def _bp(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}%"


def _summary(stub: Stub, args: argparse.Namespace) -> str:
    return summary_text(stub, args.commissioner, args.year, args.quarter)


def summary_text(stub: Stub, commissioner: str, year: int, quarter: int = 0) -> str:
    """The commissioner summary as tables: money, ring-fences, people."""
    s: api.CommissionerSummary = stub.GetCommissionerSummary(
        api.GetCommissionerSummaryRequest(
            commissioner_ods_code=commissioner,
            financial_year=year,
            quarter=quarter,
        ),
        timeout=CALL_TIMEOUT_S,
    )
    money = _figures(
        ["figure", "amount", "% of allocation"],
        [
            ["allocation", format_pence(s.allocation_pence), ""],
            ["PHB target", format_pence(s.phb_target_pence), _bp(s.phb_target_basis_points)],
            [
                "NHS agreed (PHB+IPB)",
                format_pence(s.nhs_agreed_pence),
                _bp(s.nhs_agreed_basis_points),
            ],
            ["  of which IPB", format_pence(s.nhs_agreed_ipb_pence), ""],
            ["  beyond the ring-fences", format_pence(s.nhs_beyond_ring_fences_pence), ""],
            ["NHS paid", format_pence(s.nhs_paid_pence), _bp(s.nhs_paid_basis_points)],
        ],
    )
    fences = _figures(
        ["ring-fence", "target", "agreed", "above floor", "drawn", "balance", "met"],
        [
            [
                cohort_label(f.cohort),
                format_pence(f.target_pence),
                format_pence(f.agreed_pence),
                format_pence(f.above_floor_pence),
                format_pence(f.drawn_pence),
                format_pence(f.balance_pence),
                "yes" if f.target_met else "no",
            ]
            for f in s.ring_fences
        ],
    )
    people = _figures(
        ["people", "total", "adults", "children", "notional", "3rd party", "direct"],
        [
            [label, c.total, c.adults, c.children, c.notional, c.third_party, c.direct_payment]
            for label, c in (
                ("PHB at period end", s.people_with_phb.at_period_end),
                ("PHB year to date", s.people_with_phb.year_to_date),
                ("IPB at period end", s.people_with_ipb.at_period_end),
                ("IPB year to date", s.people_with_ipb.year_to_date),
            )
        ],
    )
    title = f"{s.commissioner_ods_code} {s.financial_year} Q{s.quarter or '1-4'} to {s.period_end}"
    if s.provisional:
        title += f" (PROVISIONAL: the period ends {s.period_end}; figures to date)"
    met = "met" if s.target_met else "not met"
    if s.provisional:
        met += " so far (provisional)"
    return f"{title}\n\n{money}\n\nPHB target {met}\n\n{fences}\n\n{people}"


def _target(stub: Stub, args: argparse.Namespace) -> str:
    return target_text(stub, args.commissioner, args.year)


def target_text(stub: Stub, commissioner: str, year: int) -> str:
    """% of the allocation on PHBs against each target, by quarter."""
    t: api.TargetStatus = stub.GetTargetStatus(
        api.GetTargetStatusRequest(commissioner_ods_code=commissioner, financial_year=year),
        timeout=CALL_TIMEOUT_S,
    )
    rows: list[list[object]] = []
    for target in t.targets:
        rows.append(
            [
                cohort_label(target.cohort),
                "year",
                format_pence(target.target_pence),
                format_pence(target.agreed_pence),
                _bp(target.agreed_basis_points),
                _met(target.met, target.provisional),
                format_pence(target.gap_pence),
                format_pence(target.above_floor_pence),
            ]
        )
        rows += [
            [
                "",
                f"Q{p.quarter}",
                "",
                format_pence(p.agreed_pence),
                _bp(p.agreed_basis_points),
                _met(p.met, p.provisional),
                format_pence(p.gap_pence),
                format_pence(p.above_floor_pence),
            ]
            for p in target.trend
        ]
    # The target is a floor: "above floor" is agreed less target (negative: below it).
    header = ["cohort", "period", "target", "agreed", "% alloc", "met", "gap", "above floor"]
    note = (
        "\n(provisional: the period has not ended; figures to date)"
        if any(target.provisional for target in t.targets)
        else ""
    )
    return _figures(header, rows) + note


def _met(met: bool, provisional: bool) -> str:
    """A period not yet ended is not judged: 'provisional', not 'no'."""
    if provisional:
        return "provisional"
    return "yes" if met else "no"


def _quarterly(stub: Stub, args: argparse.Namespace) -> str:
    r: api.QuarterlyReturn = stub.ExportQuarterlyReturn(
        api.ExportQuarterlyReturnRequest(
            commissioner_ods_code=args.commissioner, financial_year=args.year, quarter=args.quarter
        ),
        timeout=CALL_TIMEOUT_S,
    )
    name = r.file_name
    if r.provisional:
        name = name.removesuffix(".csv") + "-provisional.csv"
        print(
            f"onebudget report quarterly: Q{args.quarter} {args.year} has not ended: a provisional"
            " preview of figures to date, not the quarter's national return",
            file=sys.stderr,
        )
    where = write_output(args.out or name, r.csv)
    kind = "a PROVISIONAL preview" if r.provisional else "the return"
    said = f"wrote {where} ({kind}, {len(r.columns)} columns)"
    if args.out == STDOUT:  # the CSV alone on stdout, so it can be piped
        print(said, file=sys.stderr)
        return ""
    return said


def _reconcile(stub: Stub, args: argparse.Namespace) -> Printed:
    """No differences: exit 0. Any difference: the table, and exit DIFFERENCES_EXIT, so a
    script or a scheduled check cannot mistake a ledger that does not reconcile for one that
    does (issue 15)."""
    r: api.Reconciliation = stub.Reconcile(
        api.ReconcileRequest(commissioner_ods_code=args.commissioner, financial_year=args.year),
        timeout=CALL_TIMEOUT_S,
    )
    if r.reconciled:
        return Printed(f"{r.figures_checked} figures checked: no differences")
    table_text = _figures(
        ["figure", "reported", "ledger", "difference"],
        [
            [
                d.figure,
                format_pence(d.reported_pence),
                format_pence(d.ledger_pence),
                format_pence(d.difference_pence),
            ]
            for d in r.differences
        ],
    )
    return Printed(f"{table_text}\n{len(r.differences)} differences", DIFFERENCES_EXIT)


REBUILD_POLL_S = 0.5


def _rebuild(stub: Stub, args: argparse.Namespace) -> str:
    r: api.RebuildReadModelResponse = stub.RebuildReadModel(
        api.RebuildReadModelRequest(request_id=args.request_id or str(uuid.uuid4())),
        timeout=CALL_TIMEOUT_S,
    )
    started = time.monotonic()
    print("read model wiped; replaying: " + ", ".join(r.consumers_reset), file=sys.stderr)
    if args.no_wait:
        return "rebuilding: the reports answer READ_MODEL_REBUILDING until the replay is done"
    total = 0
    # The replay's progress with its rate and an estimate (shared/progress: a bar on a
    # terminal, plain lines otherwise), until the service says the read model is current.
    with Progress("replaying", 0, unit="events") as progress:
        while True:
            status: api.ReadModelStatus = stub.GetReadModelStatus(
                api.GetReadModelStatusRequest(), timeout=CALL_TIMEOUT_S
            )
            if not status.rebuilding:
                break
            total = status.total_events
            progress.update(status.applied_events, status.total_events)
            time.sleep(REBUILD_POLL_S)
        progress.update(total, total)
    took = time.monotonic() - started
    counted = f"{total:,} events " if total else ""
    return f"rebuilt: {counted}replayed in {took:.1f} s; the reports are current"
