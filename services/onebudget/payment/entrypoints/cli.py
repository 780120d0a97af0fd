"""`onebudget broker pay|reserve|confirm|cancel|statement`: a care broker's commands.

The payment service's address comes from ONEBUDGET_PAYMENT_ADDRESS (default 127.0.0.1:50053).
Amounts are pence. A refused call prints its reason and metadata and exits 1.
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
from onebudget.shared.client import PENCE, explain, service_address
from onebudget.shared.money import format_pence

CALL_TIMEOUT_S = 30.0
Call = Callable[[api_grpc.PaymentServiceStub, argparse.Namespace], Awaitable[Any]]


async def _call(call: Call, args: argparse.Namespace) -> int:
    async with open_aio_channel(service_address("payment")) as channel:
        stub = api_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            result = await call(stub, args)
        except grpc.aio.AioRpcError as error:
            print(explain(error), file=sys.stderr)
            return 1
    print(result if isinstance(result, str) else json_format.MessageToJson(result))
    return 0


def _run(call: Call) -> Callable[[argparse.Namespace], int]:
    return lambda args: asyncio.run(_call(call, args))


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


def format_statement(statement: api.BudgetStatement) -> str:
    """One line per movement, then the closing balances per stream."""
    rows = [f"Budget {statement.budget_id}"]
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


def _payment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", required=True)
    parser.add_argument("--plan-line", required=True)
    parser.add_argument("--payee", required=True)
    parser.add_argument("--amount-pence", type=PENCE, required=True)
    parser.add_argument("--period-start", default="", help="YYYY-MM-DD")
    parser.add_argument("--period-end", default="", help="YYYY-MM-DD")
    parser.add_argument("--reference", default="", help="the broker's reference")
    parser.add_argument("--request-id", default="", help="reuse to retry safely")


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    broker = subparsers.add_parser("broker", help="care broker: pay and reserve against a plan")
    commands = broker.add_subparsers(dest="broker_command", required=True, metavar="COMMAND")
    pay = commands.add_parser("pay", help="release a payment against a plan line")
    _payment_arguments(pay)
    pay.set_defaults(func=_run(_pay))
    reserve = commands.add_parser("reserve", help="hold money for an expected invoice")
    _payment_arguments(reserve)
    reserve.set_defaults(func=_run(_reserve))
    confirm = commands.add_parser("confirm", help="pay a reservation's actual amount")
    confirm.add_argument("--payment", required=True)
    confirm.add_argument("--amount-pence", type=PENCE, required=True)
    confirm.add_argument("--request-id", default="")
    confirm.set_defaults(func=_run(_confirm))
    cancel = commands.add_parser("cancel", help="cancel a reservation")
    cancel.add_argument("--payment", required=True)
    cancel.add_argument("--reason", default="")
    cancel.add_argument("--request-id", default="")
    cancel.set_defaults(func=_run(_cancel))
    statement = commands.add_parser("statement", help="a budget's movements and balances")
    statement.add_argument("--budget", required=True)
    statement.set_defaults(func=_run(_statement))
