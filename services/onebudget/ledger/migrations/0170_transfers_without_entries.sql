-- Fewer rows per payment (issue 17, ADR 22): a transfer is the ledger's only record of a movement.
--
-- Until now each transfer also wrote two rows of ledger.entries (one per account it names), so a
-- payment's two transfers cost four more rows, each with its primary-key entry, in the hot path.
-- A transfer row already names its debit and credit accounts, so, as TigerBeetle does, each
-- account's history is derived from the transfers instead: ledger.entries becomes a view that
-- computes the same two legs from each transfer row, with the same columns and the same values,
-- and two indexes on ledger.transfers, (debit_account_id, ts) and (credit_account_id, ts), serve
-- every per-account read (history, balance at a time, flows) from one side each.
--
-- Invariant 2 is now "each account's balances equal the sums of its transfers": the statement
-- trigger still moves the balances (the only place they change) by exactly the legs the view
-- derives, and `ledger verify` recomputes every balance from the transfers and compares.
--
-- The stored entry rows are checked against what their transfers say (the migration refuses to
-- run if any differs: a ledger whose entries disagree with its transfers is a case for
-- `ledger verify` and a person, not for a silent drop) and then dropped: once they equal the
-- derivation they hold nothing the transfers do not, and keeping them would leave two histories
-- of which only one is written from now on.

-- The legs of every transfer, as the trigger below moves them: on each account, posted pence
-- (not for a reservation, a void or an expiry) and pending pence (+amount when reserved, minus
-- the reservation's whole amount when it is posted, voided or expired). Keep in step with
-- ledger.transfers_apply; `ledger verify` compares the two through the balances.
CREATE TEMPORARY VIEW derived_entries AS
SELECT t.debit_account_id AS account_id, t.ts, t.id AS transfer_id,
       CASE WHEN t.pending OR t.void_pending OR t.expire_pending THEN 0
            ELSE t.amount END AS debits_posted,
       0::bigint AS credits_posted,
       CASE WHEN t.pending THEN t.amount
            WHEN t.pending_id IS NOT NULL THEN -p.amount ELSE 0 END AS debits_pending,
       0::bigint AS credits_pending
FROM ledger.transfers t LEFT JOIN ledger.transfers p ON p.id = t.pending_id
UNION ALL
SELECT t.credit_account_id, t.ts, t.id,
       0::bigint,
       CASE WHEN t.pending OR t.void_pending OR t.expire_pending THEN 0 ELSE t.amount END,
       0::bigint,
       CASE WHEN t.pending THEN t.amount
            WHEN t.pending_id IS NOT NULL THEN -p.amount ELSE 0 END
FROM ledger.transfers t LEFT JOIN ledger.transfers p ON p.id = t.pending_id;

DO $$
BEGIN
    IF EXISTS (
        (SELECT account_id, ts, transfer_id, debits_posted, credits_posted, debits_pending,
                credits_pending FROM ledger.entries
         EXCEPT ALL SELECT * FROM derived_entries)
        UNION ALL
        (SELECT * FROM derived_entries
         EXCEPT ALL SELECT account_id, ts, transfer_id, debits_posted, credits_posted,
                           debits_pending, credits_pending FROM ledger.entries))
    THEN
        RAISE EXCEPTION 'ledger: stored entries differ from what their transfers say; run'
            ' `onebudget ledger verify` on the previous release before migrating'
            USING ERRCODE = 'check_violation';
    END IF;
END $$;

DROP VIEW derived_entries;
DROP TABLE ledger.entries;
DROP FUNCTION ledger.entries_insert_guard();

-- Each side of a transfer, in ledger time: an account's history is the merge of the two.
CREATE INDEX transfers_debit_ts ON ledger.transfers (debit_account_id, ts);
CREATE INDEX transfers_credit_ts ON ledger.transfers (credit_account_id, ts);

-- The entries, derived: one leg per account a transfer names (the rule above), the columns of
-- the table it replaces first, then what the ledger's reads filter and group on (the other
-- account of the transfer, its reason, whether it is a funding move, its plan line), so no read
-- joins back to the transfer. Nothing can write it (a view of a UNION ALL is not updatable). A
-- predicate on account_id reaches each branch as an index condition on one side's index.
CREATE VIEW ledger.entries AS
SELECT t.debit_account_id AS account_id, t.ts, t.id AS transfer_id,
       CASE WHEN t.pending OR t.void_pending OR t.expire_pending THEN 0
            ELSE t.amount END AS debits_posted,
       0::bigint AS credits_posted,
       CASE WHEN t.pending THEN t.amount
            WHEN t.pending_id IS NOT NULL THEN -p.amount ELSE 0 END AS debits_pending,
       0::bigint AS credits_pending,
       t.credit_account_id AS counterparty_id, t.reason, t.funding, t.plan_line_ref
FROM ledger.transfers t LEFT JOIN ledger.transfers p ON p.id = t.pending_id
UNION ALL
SELECT t.credit_account_id, t.ts, t.id,
       0::bigint,
       CASE WHEN t.pending OR t.void_pending OR t.expire_pending THEN 0 ELSE t.amount END,
       0::bigint,
       CASE WHEN t.pending THEN t.amount
            WHEN t.pending_id IS NOT NULL THEN -p.amount ELSE 0 END,
       t.debit_account_id, t.reason, t.funding, t.plan_line_ref
FROM ledger.transfers t LEFT JOIN ledger.transfers p ON p.id = t.pending_id;

ALTER VIEW ledger.entries OWNER TO onebudget_ledger;
REVOKE ALL ON ledger.entries FROM PUBLIC;
GRANT SELECT ON ledger.entries TO onebudget_ledger_reader;

-- The statement trigger, as in 0003 but for its end: it validates, then moves each account's
-- balances by the sum of its legs (the view's rule over the statement's rows) and writes no
-- other row. Planned with index lookups only, as 0004 set it.
CREATE OR REPLACE FUNCTION ledger.transfers_apply() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    head ledger.chain_head;
    base bigint := current_setting('ledger.statement_base')::bigint;
    bad_stamp boolean;
    bad_colour boolean;
    bad_funding_only boolean;
    new_ts bigint;
    new_hash bytea;
BEGIN
    SELECT * INTO head FROM ledger.chain_head WHERE id = 1;

    -- Stamps: consecutive ledger timestamps from the statement's base, the expiry they imply,
    -- and an unbroken hash chain from the head (ledger.transfer_digest, spelled out).
    SELECT coalesce(bool_or(
               s.ts <> base + s.k - 1
            OR s.expires_at IS DISTINCT FROM (CASE WHEN s.timeout_s > 0
                                              THEN s.ts + s.timeout_s::bigint * 1000000 END)
            OR s.prev_hash IS DISTINCT FROM coalesce(s.prev, head.last_hash)
            OR s.hash IS DISTINCT FROM sha256(s.prev_hash || convert_to(concat_ws('|',
                   s.id, s.debit_account_id, s.credit_account_id, s.amount,
                   quote_literal(s.reason), quote_nullable(s.budget_ref),
                   quote_nullable(s.plan_line_ref), quote_nullable(s.payment_ref),
                   s.pending, s.post_pending, s.void_pending, s.expire_pending, s.linked,
                   s.funding, quote_nullable(s.pending_id), quote_nullable(s.reverses_id),
                   s.timeout_s, quote_nullable(s.expires_at), s.ts), 'UTF8'))), false),
           max(s.ts)
    INTO bad_stamp, new_ts
    FROM (SELECT n.*, row_number() OVER w AS k, lag(n.hash) OVER w AS prev
          FROM new_rows n WINDOW w AS (ORDER BY n.ts)) s;
    IF bad_stamp THEN
        PERFORM ledger.fail('a transfer''s timestamp, expiry or hash is not the ledger''s');
    END IF;
    IF new_ts IS NULL THEN
        RETURN NULL;  -- no rows
    END IF;

    -- Both accounts exist; invariant 7: same colour, or a funding transfer on a declared route;
    -- and a funding-only account (ring-fence) moves money only on funding routes.
    SELECT coalesce(bool_or(d.id IS NULL OR c.id IS NULL OR (n.pending_id IS NULL AND (
               (NOT n.funding AND d.funding_stream <> c.funding_stream)
               OR (n.funding AND NOT EXISTS (
                   SELECT 1 FROM ledger.funding_routes r
                   WHERE r.debit_kind = d.kind AND r.debit_stream = d.funding_stream
                     AND r.credit_kind = c.kind AND r.credit_stream = c.funding_stream))))), false),
           coalesce(bool_or(n.pending_id IS NULL AND NOT n.funding AND EXISTS (
               SELECT 1 FROM ledger.funding_only_kinds k WHERE k.kind IN (d.kind, c.kind))), false)
    INTO bad_colour, bad_funding_only
    FROM new_rows n
    LEFT JOIN ledger.accounts d ON d.id = n.debit_account_id
    LEFT JOIN ledger.accounts c ON c.id = n.credit_account_id;
    IF bad_colour THEN
        PERFORM ledger.fail('unknown account, or money changing colour off a funding route');
    END IF;
    IF bad_funding_only THEN
        PERFORM ledger.fail('a funding-only account (ring-fence) moved money off a funding route');
    END IF;

    -- Invariant 5: a resolution matches a live pending transfer and never exceeds it.
    IF EXISTS (
        SELECT 1 FROM new_rows n
        JOIN ledger.transfers p ON p.id = n.pending_id
        WHERE NOT p.pending
           OR p.debit_account_id <> n.debit_account_id
           OR p.credit_account_id <> n.credit_account_id
           OR p.ts >= n.ts
           OR (n.post_pending AND n.amount > p.amount)
           OR ((n.void_pending OR n.expire_pending) AND n.amount <> p.amount)
           OR ((n.post_pending OR n.void_pending) AND n.ts >= coalesce(p.expires_at, n.ts + 1))
           OR (n.expire_pending AND n.ts < coalesce(p.expires_at, n.ts + 1)))
    THEN PERFORM ledger.fail('a resolution must match a live pending transfer'); END IF;

    -- Corrections reverse a posted transfer, with the accounts swapped, never beyond it.
    IF EXISTS (
        SELECT 1 FROM new_rows n
        JOIN ledger.transfers o ON o.id = n.reverses_id
        WHERE o.pending OR o.void_pending OR o.expire_pending OR o.ts >= n.ts
           OR o.debit_account_id <> n.credit_account_id
           OR o.credit_account_id <> n.debit_account_id
           OR o.amount < (SELECT sum(r.amount) FROM ledger.transfers r WHERE r.reverses_id = o.id))
    THEN PERFORM ledger.fail('a reversal must swap a posted transfer and not exceed it'); END IF;


    -- Invariants 1 and 2: each transfer moves its two accounts by mirrored legs (debit side and
    -- credit side of the same pence), the legs ledger.entries derives from the transfer row.
    WITH moved AS (
        SELECT n.debit_account_id, n.credit_account_id,
               CASE WHEN n.pending OR n.void_pending OR n.expire_pending THEN 0
                    ELSE n.amount END AS posted,
               CASE WHEN n.pending THEN n.amount
                    WHEN n.pending_id IS NOT NULL THEN -p.amount
                    ELSE 0 END AS reserved
        FROM new_rows n LEFT JOIN ledger.transfers p ON p.id = n.pending_id
    ), legs AS (
        SELECT debit_account_id AS account_id, posted AS dpo, 0::bigint AS cpo,
               reserved AS dpe, 0::bigint AS cpe FROM moved
        UNION ALL
        SELECT credit_account_id, 0, posted, 0, reserved FROM moved
    )
    UPDATE ledger.accounts a
    SET debits_posted = a.debits_posted + s.dpo,
        credits_posted = a.credits_posted + s.cpo,
        debits_pending = a.debits_pending + s.dpe,
        credits_pending = a.credits_pending + s.cpe
    FROM (SELECT account_id, sum(dpo) AS dpo, sum(cpo) AS cpo, sum(dpe) AS dpe, sum(cpe) AS cpe
          FROM legs GROUP BY account_id) s
    WHERE a.id = s.account_id;

    SELECT n.hash INTO new_hash FROM new_rows n WHERE n.ts = new_ts;
    UPDATE ledger.chain_head SET last_ts = new_ts, last_hash = new_hash WHERE id = 1;
    RETURN NULL;
END $$;
