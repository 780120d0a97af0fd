"""Ledger moves of the non-batched commands: confirm, cancel, return, repayment received.

Each builds its transfers with deterministic ids (a retry names the same transfers) and maps a
ledger refusal to a business reason; all run inside the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg

from onebudget import ledger
from onebudget.ledger import CreateTransferResult as R
from onebudget.ledger import FundingStream, Transfer
from onebudget.ledger.chart import payee_account_id
from onebudget.ledger.reads import budget_funding
from onebudget.payment.adapters import repository as repo
from onebudget.payment.domain.funders import Funder, FunderReturn, funder_returns
from onebudget.payment.domain.ids import transfer_id
from onebudget.payment.domain.model import STREAMS, BudgetNotActive, Parts, ledger_refusal


def reserved_parts(row: Any) -> Parts:
    return row["reserved_nhs_pence"], row["reserved_council_pence"], row["reserved_client_pence"]


def paid_parts(row: Any) -> Parts:
    return row["nhs_pence"], row["council_pence"], row["client_pence"]


def returned_parts(row: Any) -> Parts:
    return row["returned_nhs_pence"], row["returned_council_pence"], row["returned_client_pence"]


def _chain(moves: list[Transfer]) -> list[Transfer]:
    """All but the last linked: the streams move together or not at all."""
    return [replace(t, linked=i < len(moves) - 1) for i, t in enumerate(moves)]


async def _apply(conn: asyncpg.Connection, moves: list[Transfer]) -> None:
    if not moves:
        return
    results = await ledger.create_transfers(conn, _chain(moves))
    if all(r in (R.OK, R.EXISTS) for r in results):
        return
    refusal = ledger_refusal(results)
    if isinstance(refusal, BudgetNotActive):
        raise RuntimeError(f"the ledger refused a payment move: {refusal.metadata}")
    raise refusal


async def settle_reservation(
    conn: asyncpg.Connection, payment: Any, post_parts: Sequence[int] | None
) -> None:
    """Post `post_parts` of each stream's hold (a zero part voids it), or void all (None)."""
    moves: list[Transfer] = []
    pid = payment["payment_id"]
    for stream, reserved, part in zip(
        STREAMS, reserved_parts(payment), post_parts or [0, 0, 0], strict=True
    ):
        if reserved == 0:
            continue
        pending_id = transfer_id(pid, "reserve", stream)
        post = part > 0
        moves.append(
            Transfer(
                id=transfer_id(pid, "confirm" if post else "release", stream),
                debit_account_id=None,
                credit_account_id=None,
                # amount 0 on a void means the whole hold; a post names what is paid.
                amount=part if post else 0,
                reason="payment" if post else "reservation_released",
                budget_ref=str(payment["budget_id"]),
                plan_line_ref=str(payment["plan_line_id"]),
                payment_ref=str(pid),
                post_pending=post,
                void_pending=not post,
                pending_id=pending_id,
            )
        )
    await _apply(conn, moves)


def original_transfer_id(payment: Any, stream: Any) -> uuid.UUID:
    """The posted transfer that paid this stream's part of the payment."""
    what = "confirm" if payment["kind"] == "RESERVATION" else "pay"
    return transfer_id(payment["payment_id"], what, stream)


def _back_to_budget(
    payee_id: uuid.UUID,
    parts: Sequence[int],
    budget_accounts: Sequence[uuid.UUID | None],
    transfer: Callable[[FundingStream, int, uuid.UUID, uuid.UUID], Transfer],
) -> list[Transfer]:
    """One transfer per stream with money to move, payee account -> budget stream account."""
    moves: list[Transfer] = []
    for stream, part, account in zip(STREAMS, parts, budget_accounts, strict=True):
        if part == 0:
            continue
        assert account is not None
        moves.append(transfer(stream, part, payee_account_id(payee_id, stream), account))
    return moves


async def reverse_parts(
    conn: asyncpg.Connection,
    payment: Any,
    return_id: uuid.UUID,
    parts: Sequence[int],
    budget_accounts: Sequence[uuid.UUID | None],
) -> None:
    """Reversing transfers (payee -> budget stream) referencing the original transfers."""

    def reversal(stream: FundingStream, part: int, debit: uuid.UUID, credit: uuid.UUID) -> Transfer:
        return Transfer(
            id=transfer_id(return_id, "return", stream),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=part,
            reason="return",
            budget_ref=str(payment["budget_id"]),
            plan_line_ref=str(payment["plan_line_id"]),
            payment_ref=str(payment["payment_id"]),
            reverses_id=original_transfer_id(payment, stream),
        )

    await _apply(conn, _back_to_budget(payment["payee_id"], parts, budget_accounts, reversal))


async def repay_parts(
    conn: asyncpg.Connection,
    repayment: Any,
    receipt_id: uuid.UUID,
    parts: Sequence[int],
    budget_accounts: Sequence[uuid.UUID | None],
) -> None:
    """Money recovered from a payee goes back to the budget's streams it came from."""

    def receipt(stream: FundingStream, part: int, debit: uuid.UUID, credit: uuid.UUID) -> Transfer:
        return Transfer(
            id=transfer_id(receipt_id, "repayment", stream),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=part,
            reason="repayment",
            budget_ref=str(repayment["budget_id"]),
            payment_ref=str(repayment["repayment_id"]),
        )

    await _apply(conn, _back_to_budget(repayment["payee_id"], parts, budget_accounts, receipt))


async def funders_of(
    conn: asyncpg.Connection, budget_accounts: Sequence[uuid.UUID | None]
) -> list[Funder]:
    """The recorded funders of a budget's stream accounts, from the ledger's funding transfers
    (whatever route funded them), each with what it still has in the budget."""
    accounts = [a for a in budget_accounts if a is not None]
    return [
        Funder(
            account_id=f.funder_id,
            kind=f.funder_kind,
            owner=f.funder_owner,
            funding_stream=FundingStream(f.funding_stream),
            financial_year=f.financial_year,
            net_funded_pence=f.funded_pence - f.returned_pence,
        )
        for f in await budget_funding(conn, accounts)
    ]


async def return_to_funders(
    conn: asyncpg.Connection,
    *,
    budget_id: uuid.UUID,
    ref: uuid.UUID,
    receipt_id: uuid.UUID,
    parts: Sequence[int],
    budget_accounts: Sequence[uuid.UUID | None],
    commissioner: str,
    reason: str = "repayment_returned",
) -> list[FunderReturn]:
    """Send `parts` (pence per stream) on from the budget's stream accounts to the funders that
    paid them in (payment/domain/funders.py decides where): funding transfers with `reason`
    (a received repayment; a hold released after the budget ended), then `year_end` from a
    ring-fence of a closed year to the general allocation. `ref` (the repayment or payment) goes
    on each transfer. Returns what went where."""
    funders = await funders_of(conn, budget_accounts)
    closed = await repo.closed_years(conn, sorted({commissioner} - {""}))
    returns = funder_returns(parts, STREAMS, funders, closed_years=closed)
    by_stream = dict(zip(STREAMS, budget_accounts, strict=True))
    moves: list[Transfer] = []
    budget_ref, payment_ref = str(budget_id), str(ref)
    for r in returns:
        source = by_stream[r.stream]
        assert source is not None
        hops = [(source, r.account_id, reason, "to_funder")]
        if r.then_to is not None:
            hops.append((r.account_id, r.then_to, "year_end", "year_end"))
        moves.extend(
            Transfer(
                id=transfer_id(receipt_id, f"{what}|{r.account_id}", r.stream),
                debit_account_id=debit,
                credit_account_id=credit,
                amount=r.amount_pence,
                reason=reason,
                budget_ref=budget_ref,
                payment_ref=payment_ref,
                funding=True,
            )
            for debit, credit, reason, what in hops
        )
    await _apply(conn, moves)
    return returns
