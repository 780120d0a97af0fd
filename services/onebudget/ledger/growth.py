"""Growing a ledger quickly for scale runs (bench/scale_ledger.py, issue 17 "Growth").

Not a service path: it runs as the database superuser (the bench's role), which may insert into
ledger.transfers by hand. The rows still go through the ledger's own insert path: each
statement's transfers are stamped and hash-chained by the row trigger, and the statement
trigger validates them (accounts, colour, funding-only) and moves the balances, exactly as for
any other insert. Amounts are pence.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

# `$1` transfers of 1p between the payees `$2` (more than 8: a transfer's two accounts differ),
# every tenth to the hot account `$3` (not one of the payees), numbered from `$4`. The ledger
# stamps them (hash NULL: the row trigger) and checks them as any statement.
_SEED = """
INSERT INTO ledger.transfers (id, debit_account_id, credit_account_id, amount, reason, ts,
                              prev_hash, hash)
SELECT gen_random_uuid(), ($2::uuid[])[1 + (g % cardinality($2::uuid[]))::int],
       CASE WHEN g % 10 = 0 THEN $3::uuid
            ELSE ($2::uuid[])[1 + ((g + 1 + g % 7) % cardinality($2::uuid[]))::int] END,
       1, 'payment', 0, NULL, NULL
FROM generate_series($4::bigint, $4::bigint + $1 - 1) AS g
"""


async def seed_transfers(
    conn: asyncpg.Connection,
    count: int,
    payees: Sequence[uuid.UUID],
    hot: uuid.UUID,
    first: int = 0,
) -> None:
    """Append `count` transfers of 1p in one statement: between `payees` (more than 8, no
    balance limits), every tenth crediting `hot` (not one of them); `first` numbers them so
    successive calls spread over the payees. Raises ValueError for too few payees or a hot
    account among them, asyncpg.CheckViolationError when the ledger refuses the statement (an
    unknown account, colour): nothing is written then."""
    if count <= 0:
        return
    if len(payees) <= 8 or hot in payees:
        raise ValueError("seed_transfers needs more than 8 payees and a hot account apart")
    await conn.execute(_SEED, count, list(payees), hot, first)


async def vacuum_analyze(conn: asyncpg.Connection) -> None:
    """What autovacuum would have done on a ledger that grew over months: visibility map and
    planner statistics of the transfers and the accounts (outside a transaction)."""
    await conn.execute("VACUUM (ANALYZE) ledger.transfers")
    await conn.execute("VACUUM (ANALYZE) ledger.accounts")


async def transfer_count(conn: asyncpg.Connection) -> int:
    """How many transfers the ledger holds (an exact count: a scan of the table)."""
    return int(await conn.fetchval("SELECT count(*) FROM ledger.transfers"))
