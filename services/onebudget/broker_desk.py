"""The broker's reads across services, for the CLI (`onebudget broker budget`, and what is left
on a plan line after `broker pay`): the services never import each other, so the one place that
asks allocation (budgets, plan lines) and payment (payees) together is this client module.

Allocation owns budgets and their plan lines (GetBudget: each line's cost, spent, reserved and
what is left, in pence); payment owns payees and direct-payment accounts (GetPayee, ListPayees).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import grpc

from onebudget.allocation.entrypoints.cli import budget_detail, ended, get_budget
from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.allocation.v1 import allocation_service_pb2_grpc as al_grpc
from onebudget.payment.entrypoints.cli import list_payees, payees_table, stopped_words
from onebudget.payment.v1 import payment_service_pb2 as pay
from onebudget.payment.v1 import payment_service_pb2_grpc as pay_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.client import explain, resource_id, service_address

LEFT_TIMEOUT_S = 5.0
PAYEES_PER_KIND_MAX = 10  # payees shown per kind a line allows; `broker payees` lists them all

# A plan line's payee kind (allocation's words) -> the kind of payee payment pays for it
# (payment/domain/model.py PLAN_PAYEE_KINDS decides the same when it pays).
_PAID_KIND = {
    "PROVIDER": "PROVIDER",
    "PERSONAL_ASSISTANT": "PERSONAL_ASSISTANT",
    "FAMILY_MEMBER": "PERSONAL_ASSISTANT",
    "THIRD_PARTY_ORGANISATION": "THIRD_PARTY_ORGANISATION",
    "PERSON": "DIRECT_PAYMENT_ACCOUNT",
    "NOMINEE": "DIRECT_PAYMENT_ACCOUNT",
}


async def line_left(budget_id: str, plan_line_id: str) -> tuple[int, int] | None:
    """(left, cost) in pence of a plan line, from allocation; None when allocation does not
    answer or does not know the line (the payment itself is reported all the same)."""
    try:
        async with open_aio_channel(service_address("allocation")) as channel:
            stub = al_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]
            budget = await stub.GetBudget(
                al.GetBudgetRequest(budget_id=budget_id), timeout=LEFT_TIMEOUT_S
            )
    except grpc.aio.AioRpcError:
        return None
    for line in budget.plan_lines:
        if line.plan_line_id == plan_line_id:
            return line.available_pence, line.cost_pence
    return None


async def budget_payees(stub: pay_grpc.PaymentServiceStub, budget: al.Budget) -> list[pay.Payee]:
    """The payees a budget's lines may pay: each named payee, the person's direct-payment
    accounts for a line paid to the person or a nominee, and for a line that names a kind only,
    up to PAYEES_PER_KIND_MAX payees of that kind registered with the budget's commissioner or
    council."""
    found: dict[str, pay.Payee] = {}
    kinds: set[str] = set()
    for line in budget.plan_lines:
        if line.allowed_payee_id:
            payee = await stub.GetPayee(pay.GetPayeeRequest(payee_id=line.allowed_payee_id))
            found[payee.payee_id] = payee
            continue
        kind = al.PayeeKind.Name(line.allowed_payee_kind).removeprefix("PAYEE_KIND_")
        if kind in _PAID_KIND:
            kinds.add(_PAID_KIND[kind])
    for kind in sorted(kinds):
        if kind == "DIRECT_PAYMENT_ACCOUNT":
            listed = await list_payees(stub, person_id=budget.person_id, kind=kind)
        else:
            listed = []
            for organisation in (budget.commissioner_ods_code, budget.council_gss_code):
                if organisation:
                    listed += await list_payees(
                        stub,
                        organisation_code=organisation,
                        kind=kind,
                        limit=PAYEES_PER_KIND_MAX,
                    )
        for payee in listed:
            found.setdefault(payee.payee_id, payee)
    return list(found.values())


async def _budget_with_payees(budget_id: str) -> str:
    async with open_aio_channel(service_address("allocation")) as channel:
        stub = al_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]
        budget = await get_budget(stub, budget_id)
    async with open_aio_channel(service_address("payment")) as channel:
        payment = pay_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        payees = await budget_payees(payment, budget)
        statement = await payment.GetBudgetStatement(
            pay.GetBudgetStatementRequest(budget_id=budget.budget_id), timeout=LEFT_TIMEOUT_S
        )
    return budget_with_payees(budget, payees, statement)


def budget_with_payees(
    budget: al.Budget, payees: list[pay.Payee], statement: pay.BudgetStatement | None = None
) -> str:
    """`broker budget`'s text: the budget, then the payees its lines may pay and where to find
    others; an ENDED budget pays nobody, so it lists no payees (budget_detail says why).
    `statement`: payment's statement of the budget; when it says the budget's payments are
    stopped, that comes before the figures, which are not payable until they are resumed."""
    if ended(budget):
        return budget_detail(budget)
    detail = budget_detail(budget)
    if statement is not None and statement.payments_stopped:
        first, _, rest = detail.partition("\n")
        detail = f"{first}\n{stopped_words(statement.stop_grounds)}\n{rest}"
    return (
        f"{detail}\n\nPayees these lines may pay\n{payees_table(payees)}"
        f"\n{len(payees)} payee(s)\n{payees_hint(budget)}"
    )


def payees_hint(budget: al.Budget) -> str:
    """Where to find every payee the budget may pay: those registered with its commissioner
    and council (`--organisation`), and the person's own direct-payment accounts (`--person`),
    which no organisation lists."""
    organisations = [
        f"onebudget broker payees --organisation {code}"
        for code in (budget.commissioner_ods_code, budget.council_gss_code)
        if code
    ]
    return (
        f"(at most {PAYEES_PER_KIND_MAX} per kind; all of them: {'; '.join(organisations)};"
        f" the person's direct-payment accounts: onebudget broker payees --person"
        f" {budget.person_id})"
    )


def _budget_command(args: argparse.Namespace) -> int:
    try:
        print(asyncio.run(_budget_with_payees(args.budget)))
    except grpc.aio.AioRpcError as error:
        print(explain(error), file=sys.stderr)
        return 1
    return 0


def add_commands(broker_commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`broker budget`: a budget with its plan lines, what is left on each, and its payees."""
    budget = broker_commands.add_parser(
        "budget",
        help="a budget's plan lines, what is left on each, and the payees they may pay",
    )
    budget.add_argument(
        "--budget", type=resource_id, required=True, help="the budget's id (finance budgets)"
    )
    budget.set_defaults(func=_budget_command)
