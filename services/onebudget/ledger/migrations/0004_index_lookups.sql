-- The ledger's batch functions look up a batch's rows (tens to a thousand) in tables that only
-- grow: every account, every transfer. The planner cannot see how small a batch's transition
-- table or id array is, and PL/pgSQL keeps a plan for the connection's life, so it chose, and
-- kept, sequential scans of ledger.transfers and ledger.accounts with hash joins: measured at
-- one to three whole-table scans per batch, so each batch cost more as the ledger grew. Inside
-- these functions every lookup of those tables is by key, so the planner is told to use the
-- indexes (nested loops over the batch's rows); the statements themselves are unchanged. The
-- optimistic batch functions of 0005 are created with the same settings.
ALTER FUNCTION ledger.transfers_apply()
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
ALTER FUNCTION ledger.begin_batch(uuid[], uuid[], uuid[], uuid[], bigint)
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
