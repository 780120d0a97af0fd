"""Read-only queries over the ledger that allocation needs beyond the ledger's API: what a plan
line has spent and reserved, and where a ring-fence's money went."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

# Spending is every non-funding movement out of (or back into) the budget's accounts that names
# the plan line; entries already net pending reservations that were posted, voided or expired.
_PLAN_LINE_USE = """
SELECT t.plan_line_ref AS ref,
       coalesce(sum(e.debits_posted - e.credits_posted), 0)::bigint AS spent,
       coalesce(sum(e.debits_pending), 0)::bigint AS reserved
FROM ledger.entries e JOIN ledger.transfers t ON t.id = e.transfer_id
WHERE e.account_id = ANY($1::uuid[]) AND t.plan_line_ref = ANY($2::text[]) AND NOT t.funding
GROUP BY t.plan_line_ref
"""

_RING_FENCE_FLOWS = """
SELECT coalesce(sum(CASE WHEN t.debit_account_id = $1 AND c.kind = 'budget'
                         THEN t.amount ELSE 0 END), 0)::bigint
     - coalesce(sum(CASE WHEN t.credit_account_id = $1 AND d.kind = 'budget'
                         THEN t.amount ELSE 0 END), 0)::bigint AS funded,
       coalesce(sum(CASE WHEN t.debit_account_id = $1 AND c.kind = 'allocation'
                         THEN t.amount ELSE 0 END), 0)::bigint AS returned
FROM ledger.transfers t
JOIN ledger.accounts d ON d.id = t.debit_account_id
JOIN ledger.accounts c ON c.id = t.credit_account_id
WHERE (t.debit_account_id = $1 OR t.credit_account_id = $1)
  AND NOT t.pending AND t.pending_id IS NULL
"""


async def plan_line_use(
    conn: asyncpg.Connection, accounts: Sequence[uuid.UUID], lines: Sequence[uuid.UUID]
) -> dict[str, tuple[int, int]]:
    """plan line id -> (spent, reserved) pence, from the ledger."""
    if not lines:
        return {}
    rows = await conn.fetch(_PLAN_LINE_USE, list(accounts), [str(x) for x in lines])
    return {row["ref"]: (int(row["spent"]), int(row["reserved"])) for row in rows}


async def ring_fence_flows(conn: asyncpg.Connection, account_id: uuid.UUID) -> tuple[int, int]:
    """(net NHS money moved into budgets, money returned to the allocation at close)."""
    row = await conn.fetchrow(_RING_FENCE_FLOWS, account_id)
    assert row is not None
    return int(row["funded"]), int(row["returned"])
