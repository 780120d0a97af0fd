"""Read-only recomputation of a commissioner's money figures from the ledger (invariant 9).

Nothing here reads the reporting read model or any service's tables: only `ledger.accounts`,
`ledger.transfers` and `ledger.entries`, by plain SELECTs. Which accounts belong to whom is
learned from the ledger too:
- the commissioner's allocation account: kind `allocation`, owner = ODS code, NHS, the year;
- its ring-fences: kind `ring_fence`, owner = ODS code (general) or "<ODS>:<cohort>";
- its budgets' NHS accounts: `budget` accounts that a ring-fence of it has funded;
- an IPB: a budget (owner = budget id) whose COUNCIL or CLIENT account has received money.
Posted amounts come from the entries' posted columns, so a reservation counts only once posted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from onebudget.reporting.domain.model import GENERAL_COHORT


@dataclass(frozen=True)
class Flow:
    """Posted pence between one account and its counterparties of one kind, summed."""

    account_id: uuid.UUID
    counterparty_id: uuid.UUID
    counterparty_kind: str
    out_pence: int  # debits posted on the account
    in_pence: int  # credits posted on the account


_FLOWS = """
SELECT e.account_id,
    CASE WHEN t.debit_account_id = e.account_id THEN t.credit_account_id
         ELSE t.debit_account_id END AS counterparty_id,
    CASE WHEN t.debit_account_id = e.account_id THEN ca.kind ELSE da.kind END AS counterparty_kind,
    sum(e.debits_posted)::bigint AS out_pence,
    sum(e.credits_posted)::bigint AS in_pence
FROM ledger.entries e
JOIN ledger.transfers t ON t.id = e.transfer_id
JOIN ledger.accounts da ON da.id = t.debit_account_id
JOIN ledger.accounts ca ON ca.id = t.credit_account_id
WHERE e.account_id = ANY($1::uuid[])
GROUP BY 1, 2, 3
"""


async def flows(conn: asyncpg.Connection, account_ids: Sequence[uuid.UUID]) -> list[Flow]:
    rows = await conn.fetch(_FLOWS, list(account_ids))
    return [
        Flow(
            r["account_id"],
            r["counterparty_id"],
            r["counterparty_kind"],
            r["out_pence"],
            r["in_pence"],
        )
        for r in rows
    ]


async def _fences(conn: asyncpg.Connection, ods: str, year: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT id, owner, credits_posted - debits_posted AS balance FROM ledger.accounts"
            " WHERE kind = 'ring_fence' AND funding_stream = 'NHS' AND financial_year = $2"
            " AND (owner = $1 OR starts_with(owner, $1 || ':'))",
            ods,
            year,
        )
    )


async def _allocation_pence(conn: asyncpg.Connection, ods: str, year: int) -> int:
    account = await conn.fetchval(
        "SELECT id FROM ledger.accounts WHERE kind = 'allocation' AND funding_stream = 'NHS'"
        " AND owner = $1 AND financial_year = $2",
        ods,
        year,
    )
    if account is None:
        return 0
    return sum(f.in_pence for f in await flows(conn, [account]) if f.counterparty_kind == "source")


async def _ipb_accounts(conn: asyncpg.Connection, nhs_accounts: set[uuid.UUID]) -> set[uuid.UUID]:
    """The NHS budget accounts whose budget also received council or client money."""
    rows = await conn.fetch(
        "SELECT n.id FROM ledger.accounts n WHERE n.id = ANY($1::uuid[]) AND EXISTS ("
        " SELECT 1 FROM ledger.accounts o WHERE o.kind = 'budget' AND o.owner = n.owner"
        " AND o.funding_stream IN ('COUNCIL', 'CLIENT') AND o.credits_posted > 0)",
        list(nhs_accounts),
    )
    return {r["id"] for r in rows}


def _net_paid(budget_flows: Sequence[Flow], accounts: set[uuid.UUID]) -> int:
    """Paid to payees less returned / repaid by payees, over `accounts`."""
    return sum(
        f.out_pence - f.in_pence
        for f in budget_flows
        if f.account_id in accounts and f.counterparty_kind == "payee"
    )


async def commissioner_money(conn: asyncpg.Connection, ods: str, year: int) -> dict[str, int]:
    """The figures of figures.money_figures, recomputed from the ledger alone."""
    fences = await _fences(conn, ods, year)
    fence_flows = await flows(conn, [f["id"] for f in fences])
    named: dict[str, int] = {"allocation_pence": await _allocation_pence(conn, ods, year)}
    agreed_by_budget: dict[uuid.UUID, int] = {}
    target_total = 0
    for fence in fences:
        cohort = GENERAL_COHORT if fence["owner"] == ods else fence["owner"][len(ods) + 1 :]
        mine = [f for f in fence_flows if f.account_id == fence["id"]]
        target = sum(f.in_pence for f in mine if f.counterparty_kind == "allocation")
        for f in mine:
            if f.counterparty_kind == "budget":
                before = agreed_by_budget.get(f.counterparty_id, 0)
                agreed_by_budget[f.counterparty_id] = before + f.out_pence - f.in_pence
        name = f"ring_fence[{cohort or 'GENERAL'}]"
        named[f"{name}.target_pence"] = target
        named[f"{name}.balance_pence"] = fence["balance"]
        named[f"{name}.agreed_pence"] = sum(
            f.out_pence - f.in_pence for f in mine if f.counterparty_kind == "budget"
        )
        target_total += target
    budgets = set(agreed_by_budget)
    ipbs = await _ipb_accounts(conn, budgets)
    named["phb_target_pence"] = target_total
    named["nhs_agreed_pence"] = sum(agreed_by_budget.values())
    named["nhs_agreed_ipb_pence"] = sum(v for k, v in agreed_by_budget.items() if k in ipbs)
    named["nhs_paid_pence"] = _net_paid(await flows(conn, list(budgets)), budgets)
    return named
