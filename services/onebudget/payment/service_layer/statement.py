"""A budget's statement: every ledger movement of its stream accounts, with running balances."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from onebudget import ledger
from onebudget.ledger import StoredTransfer
from onebudget.payment.domain.model import STREAMS, Budget
from onebudget.payment.service_layer import mapping
from onebudget.payment.v1 import payment_service_pb2 as api

LINES_MAX = 100_000  # a budget's movements over its life; beyond this, ask the ledger directly
_STREAM_ENUM = {s: f"FUNDING_STREAM_{s.value}" for s in STREAMS}


async def _movements(conn: asyncpg.Connection, account: object) -> list[StoredTransfer]:
    found: list[StoredTransfer] = []
    token: str | None = None
    while len(found) < LINES_MAX:
        page = await ledger.list_transfers(conn, account, page_size=1000, page_token=token)  # type: ignore[arg-type]
        found += page.transfers
        token = page.next_page_token
        if token is None:
            break
    return found


def _changes(t: StoredTransfer, account: object, pending_amount: int) -> tuple[int, int]:
    """(posted change, reserved change) of `account` by transfer `t` (credits positive)."""
    sign = 1 if t.credit_account_id == account else -1
    if t.pending:
        return 0, t.amount if sign < 0 else 0
    if t.pending_id is not None:
        released = -pending_amount if sign < 0 else 0
        return (sign * t.amount if t.post_pending else 0), released
    return sign * t.amount, 0


async def budget_statement(conn: asyncpg.Connection, budget: Budget) -> api.BudgetStatement:
    lines: list[tuple[int, api.StatementLine]] = []
    closing_posted = [0, 0, 0]
    closing_available = [0, 0, 0]
    for k, (stream, account) in enumerate(zip(STREAMS, budget.accounts, strict=True)):
        if account is None:
            continue
        moves = await _movements(conn, account)
        pendings = {
            p.id: p.amount
            for p in await ledger.lookup_transfers(
                conn, [t.pending_id for t in moves if t.pending_id is not None]
            )
        }
        posted = reserved = 0
        for t in moves:
            d_posted, d_reserved = _changes(
                t, account, pendings.get(t.pending_id, 0) if t.pending_id else 0
            )
            posted += d_posted
            reserved += d_reserved
            line = api.StatementLine(
                time=mapping.timestamp(datetime.fromtimestamp(t.ts / 1_000_000, UTC)),
                transfer_id=str(t.id),
                stream=_STREAM_ENUM[stream],
                reason=t.reason,
                payment_id=t.payment_ref or "",
                plan_line_id=t.plan_line_ref or "",
                posted_change_pence=d_posted,
                reserved_change_pence=d_reserved,
                posted_balance_pence=posted,
                available_balance_pence=posted - reserved,
            )
            lines.append((t.ts, line))
        closing_posted[k] = posted
        closing_available[k] = posted - reserved
    lines.sort(key=lambda pair: pair[0])
    return api.BudgetStatement(
        budget_id=str(budget.budget_id),
        lines=[line for _, line in lines],
        posted_balance=mapping.streams(*closing_posted),
        available_balance=mapping.streams(*closing_available),
    )
