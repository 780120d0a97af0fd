-- apply_batch checked that every account a transfer names is among the premises with an
-- anti-join of two unnests; with hash and merge joins off in the function (0006) that became a
-- nested loop of function scans, the largest part of the premise check (0.29 ms of about 0.5
-- for 64 transfers, under auto_explain). An array comparison does the same check in C. The
-- definition repeats 0006's planner settings, since CREATE OR REPLACE replaces them.
CREATE OR REPLACE FUNCTION ledger.apply_batch(
    expected_head bytea, base bigint,
    account_ids uuid[], dpo bigint[], cpo bigint[], dpe bigint[], cpe bigint[],
    ids uuid[], debit_ids uuid[], credit_ids uuid[], amounts bigint[], reasons text[],
    budget_refs text[], plan_line_refs text[], payment_refs text[], pendings boolean[],
    linkeds boolean[], fundings boolean[], timeouts integer[], hashes bytea[]
) RETURNS boolean LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    head ledger.chain_head;
    matched integer;
BEGIN
    SELECT * INTO head FROM ledger.chain_head WHERE id = 1 FOR UPDATE;
    -- The batch extends the head it was decided on, from a time after it and not in the future
    -- (a second of slack for the two clocks of one host), unless the head itself is there.
    IF head.last_hash IS DISTINCT FROM expected_head OR base <= head.last_ts
        OR base > greatest(head.last_ts + 1, ledger.clock_us() + 1000000) THEN
        RETURN false;
    END IF;

    PERFORM 1 FROM ledger.accounts WHERE id = ANY (account_ids) ORDER BY id FOR UPDATE;
    SELECT count(*) INTO matched
    FROM ledger.accounts a
    JOIN unnest(account_ids, dpo, cpo, dpe, cpe) AS e (id, dpo, cpo, dpe, cpe) ON e.id = a.id
    WHERE a.debits_posted = e.dpo AND a.credits_posted = e.cpo
      AND a.debits_pending = e.dpe AND a.credits_pending = e.cpe;
    -- Every account a transfer names is one whose balance was compared.
    IF matched <> cardinality(account_ids)
        OR EXISTS (SELECT 1 FROM unnest(debit_ids || credit_ids) AS x (id)
                   WHERE x.id <> ALL (account_ids))
        OR EXISTS (SELECT 1 FROM ledger.transfers WHERE id = ANY (ids)) THEN
        RETURN false;
    END IF;

    -- Timestamps run on from `base`, each row's prev_hash is the hash before it; the insert's
    -- statement trigger checks them, and that every hash covers its row.
    PERFORM set_config('ledger.batch_clock', base::text, true);
    INSERT INTO ledger.transfers (id, debit_account_id, credit_account_id, amount, reason,
        budget_ref, plan_line_ref, payment_ref, pending, linked, funding, timeout_s, expires_at,
        ts, prev_hash, hash)
    SELECT u.id, u.debit, u.credit, u.amount, u.reason, u.budget_ref, u.plan_line_ref,
           u.payment_ref, u.pending, u.linked, u.funding, u.timeout_s,
           CASE WHEN u.timeout_s > 0 THEN base + u.k - 1 + u.timeout_s::bigint * 1000000 END,
           base + u.k - 1, coalesce(lag(u.hash) OVER (ORDER BY u.k), expected_head), u.hash
    FROM unnest(ids, debit_ids, credit_ids, amounts, reasons, budget_refs, plan_line_refs,
                payment_refs, pendings, linkeds, fundings, timeouts, hashes)
         WITH ORDINALITY AS u (id, debit, credit, amount, reason, budget_ref, plan_line_ref,
                               payment_ref, pending, linked, funding, timeout_s, hash, k);
    RETURN true;
END $$;
