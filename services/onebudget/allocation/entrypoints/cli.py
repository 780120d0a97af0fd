"""`onebudget finance ...`: what a CCG finance team runs, over the allocation gRPC API.

    onebudget finance allocate --commissioner 00L --year 2026 --allocation-pence 1000000000 \\
        --target-bp 500 --cohort LONG_TERM_CONDITION=200
    onebudget finance budgets --commissioner 00L [--status AGREED] [--year 2026]
    onebudget finance budget --budget BUDGET_ID    # its plan lines and what is left on each
    onebudget finance close-year --commissioner 00L --year 2025

The address comes from ONEBUDGET_ALLOCATION_ADDRESS (default 127.0.0.1:50052). Money prints in
pounds; the API carries pence.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence

import grpc

from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.allocation.v1 import allocation_service_pb2_grpc as pb_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.client import (
    BASIS_POINTS,
    PENCE,
    YEAR,
    explain,
    organisation_code,
    resource_id,
    service_address,
    table,
)
from onebudget.shared.money import BASIS_POINTS_WHOLE, format_pence

CALL_TIMEOUT_S = 30.0
PAGES_MAX = 100  # a listing stops after this many pages (page_size_max each)


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    finance = subparsers.add_parser("finance", help="commissioner allocations and budgets")
    commands = finance.add_subparsers(dest="finance_command", required=True, metavar="COMMAND")
    allocate = commands.add_parser("allocate", help="set a commissioner's allocation")
    allocate.add_argument(
        "--commissioner", type=organisation_code, required=True, help="ODS code, e.g. 00L"
    )
    allocate.add_argument("--year", type=YEAR, required=True, help="2026 = 2026-04-01..")
    allocate.add_argument("--allocation-pence", type=PENCE, required=True)
    allocate.add_argument(
        "--target-bp", type=BASIS_POINTS, required=True, help="PHB target, 500 = 5%%"
    )
    allocate.add_argument(
        "--cohort",
        action="append",
        default=[],
        type=cohort_target,
        metavar="COHORT=BP",
        help="a cohort target in basis points, e.g. LONG_TERM_CONDITION=200 (repeatable;"
        f" cohorts: {', '.join(_COHORTS)})",
    )
    allocate.set_defaults(func=_run(_allocate))
    budgets = commands.add_parser("budgets", help="list budgets")
    budgets.add_argument(
        "--commissioner", type=organisation_code, default="", help="ODS code, e.g. QNQ"
    )
    budgets.add_argument(
        "--council", type=organisation_code, default="", help="GSS code, e.g. E06000036"
    )
    budgets.add_argument("--person", type=resource_id, default="", help="the person's id")
    budgets.add_argument(
        "--status", default="", choices=["", "DRAFT", "AGREED", "ENDED"], help="one status only"
    )
    budgets.add_argument("--year", type=YEAR, default=0, help="financial year, 2026 = 2026-27")
    budgets.set_defaults(func=_run(_budgets))
    budget = commands.add_parser(
        "budget", help="one budget: its streams, plan lines and what is left on each line"
    )
    budget.add_argument(
        "--budget", type=resource_id, required=True, help="the budget's id (finance budgets)"
    )
    budget.set_defaults(func=_run(_budget))
    close = commands.add_parser("close-year", help="close a financial year (after 31 March)")
    close.add_argument("--commissioner", type=organisation_code, required=True)
    close.add_argument("--year", type=YEAR, required=True)
    close.set_defaults(func=_run(_close_year))


Command = Callable[[pb_grpc.AllocationServiceStub, argparse.Namespace], Awaitable[str]]


def _run(command: Command) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            print(asyncio.run(_with_stub(command, args)))
        except grpc.aio.AioRpcError as error:
            print(explain(error), file=sys.stderr)
            return 1
        return 0

    return run


async def _with_stub(command: Command, args: argparse.Namespace) -> str:
    async with open_aio_channel(service_address("allocation")) as channel:
        stub = pb_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]
        return await command(stub, args)


_COHORTS = [
    name.removeprefix("COHORT_")
    for name in pb.Cohort.keys()  # noqa: SIM118 - an enum wrapper, not a dict
    if name != "COHORT_UNSPECIFIED"
]


def cohort_target(spec: str) -> pb.CohortTarget:
    """`LONG_TERM_CONDITION=200` -> a CohortTarget; a bad spec is one argparse error line that
    names what is wrong (argparse.ArgumentTypeError)."""
    name, sep, bp = spec.partition("=")
    cohort = name.strip().upper()
    if not sep:
        raise argparse.ArgumentTypeError(f"{spec!r} is not COHORT=BP, e.g. LONG_TERM_CONDITION=200")
    if cohort not in _COHORTS:
        raise argparse.ArgumentTypeError(
            f"{name.strip()!r} is not a cohort (one of {', '.join(_COHORTS)})"
        )
    if not bp.strip().isdigit() or int(bp) > BASIS_POINTS_WHOLE:
        raise argparse.ArgumentTypeError(
            f"{bp.strip()!r} is not basis points from 0 to {BASIS_POINTS_WHOLE:,} (200 = 2%)"
        )
    return pb.CohortTarget(cohort=f"COHORT_{cohort}", basis_points=int(bp))


def allocation_table(allocation: pb.CommissionerAllocation) -> str:
    rows = [
        (
            pb.Cohort.Name(f.cohort).removeprefix("COHORT_").replace("UNSPECIFIED", "(general)"),
            f.basis_points,
            format_pence(f.target_pence),
            format_pence(f.funded_pence),
            format_pence(f.returned_at_close_pence),
            format_pence(f.balance_pence),
        )
        for f in allocation.ring_fences
    ]
    head = (
        f"{allocation.commissioner_ods_code} {allocation.financial_year}:"
        f" allocation {format_pence(allocation.allocation_pence)},"
        f" PHB target {allocation.phb_target_basis_points} bp ="
        f" {format_pence(allocation.phb_target_pence)} (share_of: half up to the penny),"
        f" general account {format_pence(allocation.allocation_balance_pence)}"
        + (f", closed {allocation.closed_on}" if allocation.closed else "")
    )
    body = table(("ring-fence", "bp", "target", "in budgets", "returned", "balance"), rows)
    return f"{head}\n{body}"


async def _allocate(stub: pb_grpc.AllocationServiceStub, args: argparse.Namespace) -> str:
    result = await stub.SetCommissionerAllocation(
        pb.SetCommissionerAllocationRequest(
            request_id=str(uuid.uuid4()),
            commissioner_ods_code=args.commissioner,
            financial_year=args.year,
            allocation_pence=args.allocation_pence,
            phb_target_basis_points=args.target_bp,
            cohort_targets=list(args.cohort),
        ),
        timeout=CALL_TIMEOUT_S,
    )
    return allocation_table(result)


async def _close_year(stub: pb_grpc.AllocationServiceStub, args: argparse.Namespace) -> str:
    result = await stub.CloseFinancialYear(
        pb.CloseFinancialYearRequest(
            request_id=str(uuid.uuid4()),
            commissioner_ods_code=args.commissioner,
            financial_year=args.year,
        ),
        timeout=CALL_TIMEOUT_S,
    )
    return allocation_table(result)


def ended(budget: pb.Budget) -> bool:
    """Whether the budget has ended: nothing may be paid from it any more, and what was left
    went back to its funders (its streams' returned figures)."""
    return budget.status == pb.BUDGET_STATUS_ENDED


def budgets_table(budgets: Sequence[pb.Budget]) -> str:
    """One row per budget with its full id (to copy into `broker pay --budget`); money in
    pounds, right-aligned. An ended budget's "available" is "ended": nothing may be paid
    from it."""
    rows = [
        (
            b.budget_id,
            b.commissioner_ods_code,
            b.council_gss_code or "-",
            pb.Cohort.Name(b.cohort).removeprefix("COHORT_"),
            b.financial_year,
            pb.BudgetStatus.Name(b.status).removeprefix("BUDGET_STATUS_"),
            len(b.plan_lines),
            format_pence(b.agreed_pence),
            format_pence(b.spent_pence),
            format_pence(b.reserved_pence),
            "ended" if ended(b) else format_pence(b.available_pence),
        )
        for b in budgets
    ]
    headers = (
        "budget",
        "commissioner",
        "council",
        "cohort",
        "year",
        "status",
        "lines",
        "agreed (£)",
        "spent (£)",
        "reserved (£)",
        "available (£)",
    )
    return table(headers, rows, right=range(6, 11))


def _option(line: pb.PlanLine) -> str:
    return pb.ManagementOption.Name(line.management_option).removeprefix("MANAGEMENT_OPTION_")


# Who a line that names a kind of payee (and no payee) may pay, in words: the person and a
# nominee are paid into a direct-payment account (payment/domain/model.py PLAN_PAYEE_KINDS),
# not "any PERSON".
_PAYEE_KIND_WORDS = {
    pb.PAYEE_KIND_UNSPECIFIED: "any payee",
    pb.PAYEE_KIND_PROVIDER: "any provider",
    pb.PAYEE_KIND_PERSONAL_ASSISTANT: "any personal assistant",
    pb.PAYEE_KIND_FAMILY_MEMBER: "a family member (as a personal assistant)",
    pb.PAYEE_KIND_THIRD_PARTY_ORGANISATION: "any third-party organisation",
    pb.PAYEE_KIND_PERSON: "the person's direct-payment account",
    pb.PAYEE_KIND_NOMINEE: "a nominee's direct-payment account",
}


def payee_rule(line: pb.PlanLine) -> str:
    """Who the line may pay: the payee it names (its id), else its kind in words."""
    if line.allowed_payee_id:
        return line.allowed_payee_id
    return _PAYEE_KIND_WORDS.get(line.allowed_payee_kind, "any payee")


def budget_detail(budget: pb.Budget) -> str:
    """A budget as a broker reads it: its ids, dates and state, each stream's money, and each
    plan line with its full id, how it is held, who it may pay, and what is left on it (cost -
    spent - reserved; pence shown in pounds, right-aligned). An ended budget says when and why
    it ended and that nothing may be paid from it: no stream is "available" (what was left is
    "returned" to its funders) and each line shows what was unspent at the end, not what is
    left to pay."""
    status = pb.BudgetStatus.Name(budget.status).removeprefix("BUDGET_STATUS_")
    cohort = pb.Cohort.Name(budget.cohort).removeprefix("COHORT_")
    head = [
        f"Budget {budget.budget_id} ({status}, {cohort}, {budget.financial_year})",
        f"  person {budget.person_id}, commissioner {budget.commissioner_ods_code},"
        f" council {budget.council_gss_code or '-'}, {budget.start_date} to {budget.end_date}",
    ]
    over = ended(budget)
    if over:
        why = pb.EndReason.Name(budget.end_reason).removeprefix("END_REASON_")
        because = "" if why == "UNSPECIFIED" else f" ({why.lower().replace('_', ' ')})"
        head.append(
            f"  ENDED on {budget.ended_on or '?'}{because}: nothing may be paid from it;"
            " what was left went back to its funders (returned)"
        )
    streams = table(
        (
            "stream",
            "agreed (£)",
            "spent (£)",
            "reserved (£)",
            "payable (£)" if over else "available (£)",
            "returned (£)",
        ),
        [
            (
                pb.FundingStream.Name(s.funding_stream).removeprefix("FUNDING_STREAM_"),
                format_pence(s.agreed_pence),
                format_pence(s.spent_pence),
                format_pence(s.reserved_pence),
                "none (ended)" if over else format_pence(s.available_pence),
                format_pence(s.returned_pence),
            )
            for s in budget.streams
        ],
        numbers_right=True,
    )
    lines = table(
        (
            "plan line",
            "description",
            "category",
            "held as",
            "may pay",
            "cost (£)",
            "spent (£)",
            "reserved (£)",
            "unspent at end (£)" if over else "left (£)",
        ),
        [
            (
                line.plan_line_id,
                line.description,
                line.category,
                _option(line),
                payee_rule(line),
                format_pence(line.cost_pence),
                format_pence(line.spent_pence),
                format_pence(line.reserved_pence),
                format_pence(line.available_pence),
            )
            for line in budget.plan_lines
        ],
        right=range(5, 9),
    )
    return "\n".join([*head, "", streams, "", lines, f"{len(budget.plan_lines)} plan line(s)"])


async def get_budget(stub: pb_grpc.AllocationServiceStub, budget_id: str) -> pb.Budget:
    found: pb.Budget = await stub.GetBudget(
        pb.GetBudgetRequest(budget_id=budget_id), timeout=CALL_TIMEOUT_S
    )
    return found


async def _budget(stub: pb_grpc.AllocationServiceStub, args: argparse.Namespace) -> str:
    return budget_detail(await get_budget(stub, args.budget))


async def _budgets(stub: pb_grpc.AllocationServiceStub, args: argparse.Namespace) -> str:
    found: list[pb.Budget] = []
    token = ""
    for _ in range(PAGES_MAX):
        page = await stub.ListBudgets(
            pb.ListBudgetsRequest(
                page_size=200,
                page_token=token,
                commissioner_ods_code=args.commissioner,
                council_gss_code=args.council,
                person_id=args.person,
                status=f"BUDGET_STATUS_{args.status or 'UNSPECIFIED'}",
                financial_year=args.year,
            ),
            timeout=CALL_TIMEOUT_S,
        )
        found.extend(page.budgets)
        token = page.next_page_token
        if not token:
            break
    return budgets_table(found) + f"\n{len(found)} budget(s)"
