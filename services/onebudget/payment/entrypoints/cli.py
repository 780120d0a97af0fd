"""`onebudget broker pay|reserve|confirm|cancel|statement|payees`: a care broker's commands.

The payment service's address comes from ONEBUDGET_PAYMENT_ADDRESS (default 127.0.0.1:50053).
Amounts are given in pence and printed in pounds; `--json` prints the API's answer as it is. A
refused call prints its reason and metadata and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import json_format

from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.payment.v1 import payment_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.client import (
    PENCE,
    calendar_date,
    explain,
    organisation_code,
    request_id,
    resource_id,
    service_address,
    table,
    whole_number,
)
from onebudget.shared.money import format_pence

CALL_TIMEOUT_S = 30.0
PAGES_MAX = 100  # a listing stops after this many pages (200 payees each)
Call = Callable[[api_grpc.PaymentServiceStub, argparse.Namespace], Awaitable[Any]]
# What is left of a plan line (pence), asked of the service that owns plan lines (allocation) by
# `onebudget.cli`, which wires the services' commands together; None when it cannot tell.
LineLeft = Callable[[str, str], Awaitable["tuple[int, int] | None"]]


async def _call(call: Call, args: argparse.Namespace) -> int:
    if hasattr(args, "request_id") and not args.request_id:
        # Chosen before the call, so a call that is never answered can be retried with it.
        args.request_id = str(uuid.uuid4())
    async with open_aio_channel(service_address("payment")) as channel:
        stub = api_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            result = await call(stub, args)
        except grpc.aio.AioRpcError as error:
            print(explain(error, getattr(args, "request_id", "")), file=sys.stderr)
            return 1
    if isinstance(result, api.Payment) and not getattr(args, "json", False):
        left = None
        if args.line_left is not None and result.plan_line_id:
            left = await args.line_left(result.budget_id, result.plan_line_id)
        result = format_payment(result, left)
    print(result if isinstance(result, str) else json_format.MessageToJson(result))
    return 0


def _run(call: Call) -> Callable[[argparse.Namespace], int]:
    return lambda args: asyncio.run(_call(call, args))


# What each state of a payment says, and what its split per funder is: a reservation holds
# money (nothing is paid until it is confirmed); a cancelled or expired one paid nothing and
# gave its hold back to the budget.
_STATE_WORDS: dict[int, tuple[str, str]] = {
    api.PAYMENT_STATE_RELEASED: ("Paid", "paid (£)"),
    api.PAYMENT_STATE_RESERVED: ("Held", "held (£)"),
    api.PAYMENT_STATE_CONFIRMED: ("Paid", "paid (£)"),
    api.PAYMENT_STATE_CANCELLED: ("Cancelled: nothing paid; released", "was held (£)"),
    api.PAYMENT_STATE_EXPIRED: ("Expired: nothing paid; released", "was held (£)"),
}
_NOT_PAID = (api.PAYMENT_STATE_RESERVED, api.PAYMENT_STATE_CANCELLED, api.PAYMENT_STATE_EXPIRED)


def format_payment(payment: api.Payment, line_left: tuple[int, int] | None = None) -> str:
    """A payment as a person reads it: what happened in pounds (paid; held by a reservation;
    released by a cancelled or expired one), for whom, the payment id, the split per funder
    (pence shown in pounds, right-aligned, labelled paid, held or was held), and, when known,
    what is left on the plan line (`line_left`: (left, cost) in pence)."""
    word, column = _STATE_WORDS.get(payment.state, ("Payment", "amount (£)"))
    amount = payment.reserved_pence if payment.state in _NOT_PAID else 0
    amount = amount or payment.amount_pence
    whom = "for payee" if payment.state in _NOT_PAID else "to payee"
    lines = [
        f"{word} {format_pence(amount)} {whom} {payment.payee_id}",
        f"  payment    {payment.payment_id}",
        f"  budget     {payment.budget_id}",
        f"  plan line  {payment.plan_line_id}",
    ]
    if payment.state == api.PAYMENT_STATE_RESERVED and payment.HasField("expire_time"):
        lines.append(
            f"  held until {payment.expire_time.ToDatetime():%Y-%m-%d %H:%M:%S} UTC"
            " (broker confirm pays it, broker cancel releases it)"
        )
    rows = [
        ("NHS", format_pence(payment.streams.nhs_pence)),
        ("council", format_pence(payment.streams.council_pence)),
        ("client", format_pence(payment.streams.client_pence)),
        ("total", format_pence(sum_streams(payment.streams))),
    ]
    lines += ["  " + row for row in table(("funder", column), rows, right=(1,)).splitlines()]
    if line_left is not None:
        left, cost = line_left
        lines.append(f"Left on the plan line: {format_pence(left)} of {format_pence(cost)}")
    return "\n".join(lines)


def sum_streams(streams: api.StreamPence) -> int:
    return streams.nhs_pence + streams.council_pence + streams.client_pence


def _payment_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "request_id": args.request_id or str(uuid.uuid4()),
        "budget_id": args.budget,
        "plan_line_id": args.plan_line,
        "payee_id": args.payee,
        "amount_pence": args.amount_pence,
        "service_period_start": args.period_start,
        "service_period_end": args.period_end,
        "broker_reference": args.reference,
    }


async def _pay(stub: api_grpc.PaymentServiceStub, args: argparse.Namespace) -> Any:
    request = api.ReleasePaymentRequest(**_payment_fields(args))
    return await stub.ReleasePayment(request, timeout=CALL_TIMEOUT_S)


async def _reserve(stub: api_grpc.PaymentServiceStub, args: argparse.Namespace) -> Any:
    request = api.ReservePaymentRequest(**_payment_fields(args))
    return await stub.ReservePayment(request, timeout=CALL_TIMEOUT_S)


async def _confirm(stub: api_grpc.PaymentServiceStub, args: argparse.Namespace) -> Any:
    request = api.ConfirmPaymentRequest(
        request_id=args.request_id or str(uuid.uuid4()),
        payment_id=args.payment,
        amount_pence=args.amount_pence,
    )
    return await stub.ConfirmPayment(request, timeout=CALL_TIMEOUT_S)


async def _cancel(stub: api_grpc.PaymentServiceStub, args: argparse.Namespace) -> Any:
    request = api.CancelPaymentRequest(
        request_id=args.request_id or str(uuid.uuid4()), payment_id=args.payment, reason=args.reason
    )
    return await stub.CancelPayment(request, timeout=CALL_TIMEOUT_S)


async def _statement(stub: api_grpc.PaymentServiceStub, args: argparse.Namespace) -> Any:
    statement = await stub.GetBudgetStatement(
        api.GetBudgetStatementRequest(budget_id=args.budget), timeout=CALL_TIMEOUT_S
    )
    return format_statement(statement)


def stopped_words(grounds: str) -> str:
    """What a broker reads about a budget whose payments are stopped (reg 17)."""
    why = f" ({grounds.lower().replace('_', ' ')})" if grounds else ""
    return f"  payments STOPPED{why}: nothing may be paid from this budget until they are resumed"


def format_statement(statement: api.BudgetStatement) -> str:
    """One line per movement, then the closing balances per stream; a stopped budget says so
    first (its balances are not payable until its payments are resumed)."""
    rows = [f"Budget {statement.budget_id}"]
    if statement.payments_stopped:
        rows.append(stopped_words(statement.stop_grounds))
    for line in statement.lines:
        stream = api.FundingStream.Name(line.stream).removeprefix("FUNDING_STREAM_")
        rows.append(
            f"{line.time.ToDatetime():%Y-%m-%d %H:%M:%S}  {stream:<7} {line.reason:<22}"
            f" {format_pence(line.posted_change_pence):>14}"
            f"  balance {format_pence(line.posted_balance_pence):>14}"
            f"  available {format_pence(line.available_balance_pence):>14}"
        )
    for name in ("nhs", "council", "client"):
        posted = getattr(statement.posted_balance, f"{name}_pence")
        free = getattr(statement.available_balance, f"{name}_pence")
        rows.append(
            f"{name.upper():<7} posted {format_pence(posted)}, available {format_pence(free)}"
        )
    return "\n".join(rows)


_PAYEE_KINDS = [
    name.removeprefix("PAYEE_KIND_")
    for name in api.PayeeKind.keys()  # noqa: SIM118 - an enum wrapper, not a dict
    if name != "PAYEE_KIND_UNSPECIFIED"
]


async def _payees(stub: api_grpc.PaymentServiceStub, args: argparse.Namespace) -> str:
    found = await list_payees(
        stub,
        organisation_code=args.organisation,
        person_id=args.person,
        kind=args.kind,
        limit=args.limit,
    )
    return payees_table(found) + f"\n{len(found)} payee(s)"


async def list_payees(
    stub: api_grpc.PaymentServiceStub,
    *,
    organisation_code: str = "",
    person_id: str = "",
    kind: str = "",
    limit: int = 0,
) -> list[api.Payee]:
    """Payees through ListPayees, page after page, up to `limit` (0: every page)."""
    found: list[api.Payee] = []
    token = ""
    for _ in range(PAGES_MAX):
        page = await stub.ListPayees(
            api.ListPayeesRequest(
                page_size=200,
                page_token=token,
                organisation_code=organisation_code,
                person_id=person_id,
                kind=f"PAYEE_KIND_{kind or 'UNSPECIFIED'}",
            ),
            timeout=CALL_TIMEOUT_S,
        )
        found.extend(page.payees)
        token = page.next_page_token
        if not token or (limit and len(found) >= limit):
            break
    return found[:limit] if limit else found


def payees_table(payees: list[api.Payee]) -> str:
    """Full payee ids (to copy into `broker pay --payee`), kind, name, organisation, holder."""
    rows = [
        (
            p.payee_id,
            api.PayeeKind.Name(p.kind).removeprefix("PAYEE_KIND_"),
            p.name,
            p.organisation_code or "-",
            p.person_id or "-",
        )
        for p in payees
    ]
    return table(("payee", "kind", "name", "organisation", "holder (person)"), rows)


def _payment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--budget", type=resource_id, required=True, help="the budget's id (finance budgets)"
    )
    parser.add_argument(
        "--plan-line",
        type=resource_id,
        required=True,
        help="the plan line's id (broker budget --budget ID)",
    )
    parser.add_argument(
        "--payee", type=resource_id, required=True, help="the payee's id (broker payees)"
    )
    parser.add_argument(
        "--amount-pence", type=PENCE, required=True, help="whole pence, 10001 = £100.01"
    )
    # The service takes a payment without a service period (none of its rules needs one); when
    # given, each day must lie in the budget's dates (SERVICE_PERIOD_OUTSIDE_BUDGET).
    parser.add_argument(
        "--period-start",
        type=calendar_date,
        default="",
        metavar="YYYY-MM-DD",
        help="first day of the care paid for (optional; within the budget's dates)",
    )
    parser.add_argument(
        "--period-end",
        type=calendar_date,
        default="",
        metavar="YYYY-MM-DD",
        help="last day of the care paid for (optional; not before --period-start)",
    )
    parser.add_argument("--reference", default="", help="the broker's reference")
    parser.add_argument("--request-id", type=request_id, default="", help="reuse to retry safely")
    parser.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    parser.set_defaults(check=_period_check(parser))


def _period_check(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], None]:
    """A service period that ends before it starts is a usage error naming the options typed
    (the service would name its field `service_period_end`); run by `onebudget.cli.main`."""

    def check(args: argparse.Namespace) -> None:
        # Both are YYYY-MM-DD (calendar_date), so their text orders as their dates do.
        if args.period_start and args.period_end and args.period_end < args.period_start:
            parser.error(
                f"argument --period-end: {args.period_end} is before --period-start"
                f" {args.period_start}"
            )

    return check


def add_commands(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    *,
    line_left: LineLeft | None = None,
) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """The `broker` commands; their sub-parsers, for commands that read across services.
    `line_left` tells `pay`, `reserve` and `confirm` what is left on the plan line."""
    broker = subparsers.add_parser("broker", help="care broker: pay and reserve against a plan")
    broker.set_defaults(line_left=line_left)
    commands: argparse._SubParsersAction = broker.add_subparsers(  # type: ignore[type-arg]
        dest="broker_command", required=True, metavar="COMMAND"
    )
    pay = commands.add_parser("pay", help="release a payment against a plan line")
    _payment_arguments(pay)
    pay.set_defaults(func=_run(_pay))
    reserve = commands.add_parser("reserve", help="hold money for an expected invoice")
    _payment_arguments(reserve)
    reserve.set_defaults(func=_run(_reserve))
    confirm = commands.add_parser("confirm", help="pay a reservation's actual amount")
    confirm.add_argument(
        "--payment", type=resource_id, required=True, help="the reservation's payment id"
    )
    confirm.add_argument(
        "--amount-pence", type=PENCE, required=True, help="whole pence, at most the reservation"
    )
    confirm.add_argument("--request-id", type=request_id, default="", help="reuse to retry safely")
    confirm.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    confirm.set_defaults(func=_run(_confirm))
    cancel = commands.add_parser("cancel", help="cancel a reservation")
    cancel.add_argument(
        "--payment", type=resource_id, required=True, help="the reservation's payment id"
    )
    cancel.add_argument("--reason", default="", help="why, for the record")
    cancel.add_argument("--request-id", type=request_id, default="", help="reuse to retry safely")
    cancel.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    cancel.set_defaults(func=_run(_cancel))
    statement = commands.add_parser("statement", help="a budget's movements and balances")
    statement.add_argument("--budget", type=resource_id, required=True, help="the budget's id")
    statement.set_defaults(func=_run(_statement))
    payees = commands.add_parser(
        "payees", help="payees to pay, with their full ids (by organisation, holder, kind)"
    )
    payees.add_argument(
        "--organisation",
        type=organisation_code,
        default="",
        help="ODS or GSS code the payees were registered with",
    )
    payees.add_argument(
        "--person", type=resource_id, default="", help="direct-payment accounts this person holds"
    )
    payees.add_argument("--kind", default="", choices=["", *_PAYEE_KINDS], help="one kind only")
    payees.add_argument(
        "--limit", type=whole_number(0, 1_000_000), default=0, help="at most this many (0: all)"
    )
    payees.set_defaults(func=_run(_payees))
    return commands
