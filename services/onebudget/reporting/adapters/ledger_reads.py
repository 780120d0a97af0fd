"""Read-only recomputation of a commissioner's money figures from the ledger (invariant 9).

Nothing here reads the reporting read model or any service's tables: only the ledger, through
its read API (`onebudget.ledger.reads`, plain SELECTs). Which accounts belong to whom is learned
from the ledger too, by the chart of accounts (`onebudget.ledger.chart`):
- the commissioner's allocation account: kind `allocation`, owner = ODS code, NHS, the year;
- its ring-fences: kind `ring_fence`, owner = ODS code (general) or "<ODS>:<cohort>";
- its budgets' NHS accounts: `budget` accounts that a ring-fence of it, or its general
  allocation (beyond the PHB floor, issue 13), has funded;
- an IPB: a budget (owner = budget id) whose COUNCIL or CLIENT account has received money.
Posted amounts come from the entries' posted columns, so a reservation counts only once posted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from onebudget.ledger import chart
from onebudget.ledger.reads import (
    Flow,
    commissioner_allocation_id,
    flows,
    ipb_accounts,
    ring_fences,
)


async def _allocation_flows(conn: asyncpg.Connection, ods: str, year: int) -> list[Flow]:
    account = await commissioner_allocation_id(conn, ods, year)
    return [] if account is None else await flows(conn, [account])


def _net_paid(budget_flows: Sequence[Flow], accounts: set[uuid.UUID]) -> int:
    """Paid to payees less returned / repaid by payees, over `accounts`."""
    return sum(
        f.out_pence - f.in_pence
        for f in budget_flows
        if f.account_id in accounts and f.counterparty_kind == chart.PAYEE
    )


async def commissioner_money(conn: asyncpg.Connection, ods: str, year: int) -> dict[str, int]:
    """The figures of figures.money_figures, recomputed from the ledger alone."""
    fences = await ring_fences(conn, ods, year)
    fence_flows = await flows(conn, [f.id for f in fences])
    general = await _allocation_flows(conn, ods, year)
    named: dict[str, int] = {
        "allocation_pence": sum(f.in_pence for f in general if f.counterparty_kind == chart.SOURCE)
    }
    agreed_by_budget: dict[uuid.UUID, int] = {}
    beyond = 0
    for f in general:
        if f.counterparty_kind == chart.BUDGET:
            before = agreed_by_budget.get(f.counterparty_id, 0)
            agreed_by_budget[f.counterparty_id] = before + f.out_pence - f.in_pence
            beyond += f.out_pence - f.in_pence
    named["nhs_beyond_ring_fences_pence"] = beyond
    target_total = 0
    for fence in fences:
        cohort = chart.ring_fence_cohort(ods, fence.owner)
        mine = [f for f in fence_flows if f.account_id == fence.id]
        target = sum(f.in_pence for f in mine if f.counterparty_kind == chart.ALLOCATION)
        for f in mine:
            if f.counterparty_kind == chart.BUDGET:
                before = agreed_by_budget.get(f.counterparty_id, 0)
                agreed_by_budget[f.counterparty_id] = before + f.out_pence - f.in_pence
        name = f"ring_fence[{cohort or 'GENERAL'}]"
        named[f"{name}.target_pence"] = target
        named[f"{name}.balance_pence"] = fence.balance_pence
        named[f"{name}.drawn_pence"] = sum(
            f.out_pence - f.in_pence for f in mine if f.counterparty_kind == chart.BUDGET
        )
        target_total += target
    budgets = set(agreed_by_budget)
    ipbs = await ipb_accounts(conn, budgets)
    named["phb_target_pence"] = target_total
    named["nhs_agreed_pence"] = sum(agreed_by_budget.values())
    named["nhs_agreed_ipb_pence"] = sum(v for k, v in agreed_by_budget.items() if k in ipbs)
    named["nhs_paid_pence"] = _net_paid(await flows(conn, list(budgets)), budgets)
    return named
