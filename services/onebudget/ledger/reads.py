"""The ledger's read API: every query of the ledger's tables that another package needs.

No other package writes SQL against the `ledger` schema (tests/unit/test_architecture.py
proves it); services call these functions, inside their own transaction when they need one.
Each takes an asyncpg connection and returns typed values, never rows. All amounts are pence.
Plain SELECTs only: nothing here takes a lock or writes.

The queries are the ones the services used before they moved here (issue 12): reporting's
reconcile (invariant 9) and allocation's budget views rely on them. Per-account figures read
`ledger.entries`, since migration 0170 (ADR 22) a view that derives each transfer's two legs from
the transfer row, served by the transfers' (debit_account_id, ts) and (credit_account_id, ts)
indexes; no entry rows are stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import asyncpg

# -- what a plan line has used, where a ring-fence's money went (allocation) --------------------

# Spending is every non-funding movement out of (or back into) the budget's accounts that names
# the plan line; entries already net pending reservations that were posted, voided or expired.
_PLAN_LINE_USE = """
SELECT e.plan_line_ref AS ref,
       coalesce(sum(e.debits_posted - e.credits_posted), 0)::bigint AS spent,
       coalesce(sum(e.debits_pending), 0)::bigint AS reserved
FROM ledger.entries e
WHERE e.account_id = ANY($1::uuid[]) AND e.plan_line_ref = ANY($2::text[]) AND NOT e.funding
GROUP BY e.plan_line_ref
"""

# What each account paid out net of what came back, outside the funding routes: payments less
# payee returns and repayments; the funder's money in, and back out on a cut or an end, is not
# spending. Pending reservations are not spent (debits_pending is their own figure).
_SPENT_BY_ACCOUNT = """
SELECT e.account_id AS account_id,
       coalesce(sum(e.debits_posted - e.credits_posted), 0)::bigint AS spent
FROM ledger.entries e
WHERE e.account_id = ANY($1::uuid[]) AND NOT e.funding
GROUP BY e.account_id
"""

# Posted single-phase transfers out of the ring-fence (into a budget: funded; into the
# allocation: returned) and into it (from a budget: a reclaim), each side read by its index.
_RING_FENCE_FLOWS = """
SELECT coalesce(sum(CASE WHEN m.outgoing AND k.kind = 'budget' THEN m.amount ELSE 0 END), 0)::bigint
     - coalesce(sum(CASE WHEN NOT m.outgoing AND k.kind = 'budget' THEN m.amount ELSE 0 END),
                0)::bigint AS funded,
       coalesce(sum(CASE WHEN m.outgoing AND k.kind = 'allocation' THEN m.amount ELSE 0 END),
                0)::bigint AS returned
FROM (SELECT true AS outgoing, t.credit_account_id AS other, t.amount FROM ledger.transfers t
      WHERE t.debit_account_id = $1 AND NOT t.pending AND t.pending_id IS NULL
      UNION ALL
      SELECT false, t.debit_account_id, t.amount FROM ledger.transfers t
      WHERE t.credit_account_id = $1 AND NOT t.pending AND t.pending_id IS NULL) m
JOIN ledger.accounts k ON k.id = m.other
"""


class PlanLineUse(NamedTuple):
    """What a plan line has used of its budget's accounts, in pence."""

    spent: int  # posted, net of money that came back naming the line
    reserved: int  # pending (held, not yet posted, voided or expired)


class RingFenceFlows(NamedTuple):
    """Where a ring-fence's money went, in pence."""

    funded: int  # net NHS money moved into budgets (less reclaims back)
    returned: int  # money returned to the allocation at close


async def plan_line_use(
    conn: asyncpg.Connection, accounts: Sequence[uuid.UUID], lines: Sequence[uuid.UUID]
) -> dict[str, PlanLineUse]:
    """plan line id (text) -> (spent, reserved) pence over `accounts` (a budget's stream
    accounts), from the ledger; a line with no movement is absent."""
    if not lines:
        return {}
    rows = await conn.fetch(_PLAN_LINE_USE, list(accounts), [str(x) for x in lines])
    return {row["ref"]: PlanLineUse(int(row["spent"]), int(row["reserved"])) for row in rows}


async def spent_by_account(
    conn: asyncpg.Connection, accounts: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """account id -> pence it paid out net of returns (payments less payee returns and
    repayments, funding moves excluded); an account with no such movement is 0. The one
    definition of "spent" for a budget's stream, the same netting as `plan_line_use`."""
    rows = await conn.fetch(_SPENT_BY_ACCOUNT, list(accounts))
    found = {row["account_id"]: int(row["spent"]) for row in rows}
    return {account: found.get(account, 0) for account in accounts}


async def ring_fence_flows(conn: asyncpg.Connection, account_id: uuid.UUID) -> RingFenceFlows:
    """(net NHS money moved into budgets, money returned to the allocation at close), posted
    transfers only."""
    row = await conn.fetchrow(_RING_FENCE_FLOWS, account_id)
    assert row is not None
    return RingFenceFlows(int(row["funded"]), int(row["returned"]))


# -- a commissioner's accounts and their flows (reporting's reconcile, invariant 9) -------------


@dataclass(frozen=True)
class Flow:
    """Posted pence between one account and its counterparties of one kind, summed."""

    account_id: uuid.UUID
    counterparty_id: uuid.UUID
    counterparty_kind: str
    out_pence: int  # debits posted on the account
    in_pence: int  # credits posted on the account


@dataclass(frozen=True)
class RingFenceAccount:
    """A commissioner's ring-fence account: owner "<ODS>" (general) or "<ODS>:<cohort>"."""

    id: uuid.UUID
    owner: str
    balance_pence: int  # credits posted - debits posted


_FLOWS = """
SELECT e.account_id, e.counterparty_id, c.kind AS counterparty_kind,
    sum(e.debits_posted)::bigint AS out_pence,
    sum(e.credits_posted)::bigint AS in_pence
FROM ledger.entries e
JOIN ledger.accounts c ON c.id = e.counterparty_id
WHERE e.account_id = ANY($1::uuid[])
GROUP BY 1, 2, 3
"""


async def flows(conn: asyncpg.Connection, account_ids: Sequence[uuid.UUID]) -> list[Flow]:
    """Posted flows of each of `account_ids`, per counterparty, from its transfers' legs."""
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


async def ring_fences(conn: asyncpg.Connection, ods: str, year: int) -> list[RingFenceAccount]:
    """The commissioner's NHS ring-fence accounts of financial `year` (general and cohorts)."""
    rows = await conn.fetch(
        "SELECT id, owner, credits_posted - debits_posted AS balance FROM ledger.accounts"
        " WHERE kind = 'ring_fence' AND funding_stream = 'NHS' AND financial_year = $2"
        " AND (owner = $1 OR starts_with(owner, $1 || ':'))",
        ods,
        year,
    )
    return [RingFenceAccount(r["id"], r["owner"], r["balance"]) for r in rows]


async def commissioner_allocation_id(
    conn: asyncpg.Connection, ods: str, year: int
) -> uuid.UUID | None:
    """The commissioner's general NHS allocation account of `year`, if it was opened."""
    account: uuid.UUID | None = await conn.fetchval(
        "SELECT id FROM ledger.accounts WHERE kind = 'allocation' AND funding_stream = 'NHS'"
        " AND owner = $1 AND financial_year = $2",
        ods,
        year,
    )
    return account


async def ipb_accounts(conn: asyncpg.Connection, nhs_accounts: set[uuid.UUID]) -> set[uuid.UUID]:
    """The NHS budget accounts whose budget also received council or client money."""
    rows = await conn.fetch(
        "SELECT n.id FROM ledger.accounts n WHERE n.id = ANY($1::uuid[]) AND EXISTS ("
        " SELECT 1 FROM ledger.accounts o WHERE o.kind = 'budget' AND o.owner = n.owner"
        " AND o.funding_stream IN ('COUNCIL', 'CLIENT') AND o.credits_posted > 0)",
        list(nhs_accounts),
    )
    return {r["id"] for r in rows}


# -- reservations the ledger has expired (payment) ------------------------------------------------


async def expired_pending_ids(
    conn: asyncpg.Connection, pending_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these pending transfers the ledger has expired (an `expire_pending` transfer
    resolves each)."""
    rows = await conn.fetch(
        "SELECT pending_id FROM ledger.transfers"
        " WHERE pending_id = ANY($1::uuid[]) AND expire_pending",
        list(pending_ids),
    )
    return {row["pending_id"] for row in rows}


# -- budgets ended in the ledger (payment) --------------------------------------------------------


async def swept_by_budget_end(
    conn: asyncpg.Connection, account_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these budget stream accounts a `budget_ended` transfer has debited (allocation
    swept them back to their funders when it ended the budget). Payment asks only after it
    refused a payment for money, to tell an ended budget from a short one before it has seen
    BudgetEnded."""
    if not account_ids:
        return set()
    rows = await conn.fetch(
        "SELECT DISTINCT debit_account_id FROM ledger.transfers"
        " WHERE debit_account_id = ANY($1::uuid[]) AND reason = 'budget_ended'",
        list(account_ids),
    )
    return {row["debit_account_id"] for row in rows}


# -- who funded a budget (payment: repayments go back to their funders) ---------------------------


@dataclass(frozen=True)
class BudgetFunding:
    """Posted funding moves between one budget stream account and one funder, summed, in pence."""

    budget_account_id: uuid.UUID
    funder_id: uuid.UUID
    funder_kind: str  # ring_fence, allocation (NHS general or the council pot), contribution
    funder_owner: str
    funding_stream: str  # NHS, COUNCIL, CLIENT
    financial_year: int | None
    funded_pence: int  # funding moved from the funder into the budget
    returned_pence: int  # funding moved from the budget back to the funder (cuts, end, returns)


_BUDGET_FUNDING = """
SELECT e.account_id AS budget_account_id, f.id AS funder_id, f.kind, f.owner, f.funding_stream,
       f.financial_year,
       sum(e.credits_posted)::bigint AS funded, sum(e.debits_posted)::bigint AS returned
FROM ledger.entries e
JOIN ledger.accounts f ON f.id = e.counterparty_id
WHERE e.account_id = ANY($1::uuid[]) AND e.funding
GROUP BY 1, 2, 3, 4, 5, 6
"""


async def budget_funding(
    conn: asyncpg.Connection, account_ids: Sequence[uuid.UUID]
) -> list[BudgetFunding]:
    """Every funder of these budget stream accounts with what it moved in and took back (posted
    funding transfers only): the recorded source of each budget's money, whatever route funded
    it (a ring-fence, the commissioner's general allocation, the council pot, the contribution)."""
    if not account_ids:
        return []
    rows = await conn.fetch(_BUDGET_FUNDING, list(account_ids))
    return [
        BudgetFunding(
            r["budget_account_id"],
            r["funder_id"],
            r["kind"],
            r["owner"],
            r["funding_stream"],
            r["financial_year"],
            int(r["funded"]),
            int(r["returned"]),
        )
        for r in rows
    ]
