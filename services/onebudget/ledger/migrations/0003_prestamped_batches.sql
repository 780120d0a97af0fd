-- Batches arrive stamped; the database verifies them set-based instead of stamping row by row.
--
-- The ledger API already predicts every timestamp (begin_batch pins the clock and locks the chain
-- head); it now also computes each row's expiry, prev_hash and hash in Python and inserts them.
-- A PL/pgSQL call per row (hash + set_config) cost more than the rest of the insert. The per-row
-- stamp still runs for rows that arrive without a hash (hand-written inserts, expire_pending),
-- so those are stamped exactly as before. Whatever arrived, the statement trigger then checks
-- every row of the statement at once: timestamps consecutive from the ledger clock
-- (greatest(head + 1, pinned or wall clock)), expiry, prev_hash chained to the head and to the
-- previous row, and hash = sha256(prev_hash || content) (ledger.transfer_digest, spelled out).
-- A wrong row refuses the whole statement. The funding-only check of 0002 joins the same
-- accounts as the colour check, so it moves into that one scan.

-- The statement's first timestamp, fixed once per statement (the row stamp and the check use it).
CREATE OR REPLACE FUNCTION ledger.transfers_lock_head() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head ledger.chain_head;
    clock bigint := coalesce(nullif(current_setting('ledger.batch_clock', true), '')::bigint,
                             ledger.clock_us());
    start bigint;
BEGIN
    SELECT * INTO head FROM ledger.chain_head WHERE id = 1 FOR UPDATE;
    start := greatest(head.last_ts, clock - 1);
    PERFORM set_config('ledger.chain', start::text || ':' || encode(head.last_hash, 'hex'), true);
    PERFORM set_config('ledger.statement_base', (start + 1)::text, true);
    RETURN NULL;
END $$;

-- Only rows that arrive unstamped pay for a PL/pgSQL call.
DROP TRIGGER transfers_2_stamp ON ledger.transfers;
CREATE TRIGGER transfers_2_stamp BEFORE INSERT ON ledger.transfers
    FOR EACH ROW WHEN (NEW.hash IS NULL OR octet_length(NEW.hash) <> 32)
    EXECUTE FUNCTION ledger.transfers_stamp();

DROP TRIGGER transfers_4_funding_only ON ledger.transfers;
DROP FUNCTION ledger.transfers_funding_only();

CREATE OR REPLACE FUNCTION ledger.transfers_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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

    -- Invariants 1 and 2: two mirrored entries per transfer, and balances move by their sum.
    WITH moved AS (
        SELECT n.id, n.ts, n.debit_account_id, n.credit_account_id,
               CASE WHEN n.pending OR n.void_pending OR n.expire_pending THEN 0
                    ELSE n.amount END AS posted,
               CASE WHEN n.pending THEN n.amount
                    WHEN n.pending_id IS NOT NULL THEN -p.amount
                    ELSE 0 END AS reserved
        FROM new_rows n LEFT JOIN ledger.transfers p ON p.id = n.pending_id
    ), written AS (
        INSERT INTO ledger.entries (account_id, ts, transfer_id, debits_posted, credits_posted,
                                    debits_pending, credits_pending)
        SELECT debit_account_id, ts, id, posted, 0, reserved, 0 FROM moved
        UNION ALL
        SELECT credit_account_id, ts, id, 0, posted, 0, reserved FROM moved
        RETURNING *
    )
    UPDATE ledger.accounts a
    SET debits_posted = a.debits_posted + s.dpo,
        credits_posted = a.credits_posted + s.cpo,
        debits_pending = a.debits_pending + s.dpe,
        credits_pending = a.credits_pending + s.cpe
    FROM (SELECT account_id, sum(debits_posted) AS dpo, sum(credits_posted) AS cpo,
                 sum(debits_pending) AS dpe, sum(credits_pending) AS cpe
          FROM written GROUP BY account_id) s
    WHERE a.id = s.account_id;

    SELECT n.hash INTO new_hash FROM new_rows n WHERE n.ts = new_ts;
    UPDATE ledger.chain_head SET last_ts = new_ts, last_hash = new_hash WHERE id = 1;
    RETURN NULL;
END $$;

-- begin_batch also returns the head's hash, so the API can chain the rows it inserts.
CREATE OR REPLACE FUNCTION ledger.begin_batch(
    transfer_ids uuid[], account_ids uuid[], pending_ids uuid[], reverses_ids uuid[],
    clock bigint DEFAULT NULL
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    head ledger.chain_head;
    base bigint;
    all_accounts uuid[];
    result jsonb;
BEGIN
    SELECT * INTO head FROM ledger.chain_head WHERE id = 1 FOR UPDATE;
    base := greatest(head.last_ts + 1, coalesce(clock, ledger.clock_us()));
    PERFORM set_config('ledger.batch_clock', base::text, true);

    SELECT array_agg(DISTINCT x) INTO all_accounts FROM (
        SELECT unnest(account_ids) AS x
        UNION SELECT debit_account_id FROM ledger.transfers WHERE id = ANY (pending_ids)
        UNION SELECT credit_account_id FROM ledger.transfers WHERE id = ANY (pending_ids)) s
    WHERE x IS NOT NULL;
    PERFORM 1 FROM ledger.accounts WHERE id = ANY (all_accounts) ORDER BY id FOR UPDATE;

    SELECT jsonb_build_object(
        'base', base,
        'head_hash', encode(head.last_hash, 'hex'),
        'accounts', coalesce((SELECT jsonb_agg(jsonb_build_array(
                a.id, a.kind, a.funding_stream, a.debits_must_not_exceed_credits,
                a.credits_must_not_exceed_debits, a.debits_posted, a.credits_posted,
                a.debits_pending, a.credits_pending))
            FROM ledger.accounts a WHERE a.id = ANY (all_accounts)), '[]'),
        'transfers', coalesce((SELECT jsonb_agg(jsonb_build_array(
                t.id, t.debit_account_id, t.credit_account_id, t.amount, t.reason, t.budget_ref,
                t.plan_line_ref, t.payment_ref, t.pending, t.post_pending, t.void_pending,
                t.expire_pending, t.linked, t.funding, t.pending_id, t.reverses_id, t.timeout_s,
                t.expires_at, t.ts))
            FROM ledger.transfers t
            WHERE t.id = ANY (transfer_ids || pending_ids || reverses_ids)), '[]'),
        'resolutions', coalesce((SELECT jsonb_object_agg(r.pending_id,
                CASE WHEN r.post_pending THEN 'post' WHEN r.void_pending THEN 'void'
                     ELSE 'expire' END)
            FROM ledger.transfers r WHERE r.pending_id = ANY (pending_ids)), '{}'),
        'reversed', coalesce((SELECT jsonb_object_agg(g.reverses_id, g.total) FROM (
                SELECT r.reverses_id, sum(r.amount) AS total FROM ledger.transfers r
                WHERE r.reverses_id = ANY (reverses_ids) GROUP BY r.reverses_id) g), '{}')
    ) INTO result;
    RETURN result;
END $$;
