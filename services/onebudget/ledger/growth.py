"""Growing a ledger quickly for scale runs (bench/scale_ledger.py, issue 17 "Growth").

Not a service path: it runs as the database superuser (the bench's role), which may insert into
ledger.transfers by hand. The rows still go through the ledger's own insert path: each
statement's transfers are stamped and hash-chained by the row trigger, and the statement
trigger validates them (accounts, colour, funding-only) and moves the balances, exactly as for
any other insert. What makes it fast (issue 17): big statements, generated in the database,
and `secondary_indexes_rebuilt` (the indexes built once at the end, not row by row). Issue 17
also tried stamping in Python and appending through `ledger.append_transfers` (the API's own
path): slower (7,301 against 15,372 transfers/s in one run, load average 3.5: Python's
stamping, the actor rows and 20 arrays of 50,000 cost more than the row trigger). Amounts are
pence.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

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


# The secondary indexes of ledger.transfers (all but the primary key, which the statement
# trigger's lookups and the foreign keys need): each with the constraint it backs, if any, and
# the exact definition the catalog gives, so they come back as the migrations made them.
_SECONDARY_INDEXES = """
SELECT c.relname AS index_name, pg_get_indexdef(i.indexrelid) AS index_def,
       con.conname AS constraint_name, pg_get_constraintdef(con.oid) AS constraint_def
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
WHERE i.indrelid = 'ledger.transfers'::regclass AND NOT i.indisprimary
ORDER BY c.relname
"""


@asynccontextmanager
async def secondary_indexes_rebuilt(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Drop the secondary indexes of ledger.transfers (unique ts, each account side, the
    partial ones) for the block, and build each again afterwards from its catalog definition,
    also when the block fails: a bulk load's usual trick (one sort per index instead of a
    random insert per row and index). Only for a ledger nobody else is using (the scale bench's
    scratch database, as the superuser): meanwhile no read has those indexes, and nothing
    rejects a duplicate ledger timestamp but the statement trigger (which stamps them
    consecutively from the chain head); re-adding the unique constraint checks every row."""
    found = await conn.fetch(_SECONDARY_INDEXES)
    for r in found:
        if r["constraint_name"]:
            await conn.execute(
                f'ALTER TABLE ledger.transfers DROP CONSTRAINT "{r["constraint_name"]}"'
            )
        else:
            await conn.execute(f'DROP INDEX ledger."{r["index_name"]}"')
    try:
        yield
    finally:
        for r in found:
            if r["constraint_name"]:
                await conn.execute(
                    f'ALTER TABLE ledger.transfers ADD CONSTRAINT "{r["constraint_name"]}"'
                    f" {r['constraint_def']}"
                )
            else:
                await conn.execute(r["index_def"])


async def vacuum_analyze(conn: asyncpg.Connection) -> None:
    """What autovacuum would have done on a ledger that grew over months: visibility map and
    planner statistics of the transfers and the accounts (outside a transaction)."""
    await conn.execute("VACUUM (ANALYZE) ledger.transfers")
    await conn.execute("VACUUM (ANALYZE) ledger.accounts")


async def transfer_count(conn: asyncpg.Connection) -> int:
    """How many transfers the ledger holds (an exact count: a scan of the table)."""
    return int(await conn.fetchval("SELECT count(*) FROM ledger.transfers"))
