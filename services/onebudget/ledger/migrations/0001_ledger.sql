-- The ledger: double entry in pence, funding streams, two-phase transfers, hash-chained audit.
--
-- Python decides result codes (onebudget.ledger.domain); this schema is the backstop that
-- holds invariants 1-7 of design.md even against a Python bug or a hand-written statement:
--   * transfers can only be inserted; every insert gets its timestamp and hash here, and an
--     AFTER STATEMENT trigger validates the rows, writes their entries and the account balances;
--   * entries can only be written by that trigger; balances only change from inside it;
--   * UPDATE / DELETE / TRUNCATE of transfers and entries are refused.

CREATE SCHEMA ledger;

-- Microseconds since the Unix epoch: the unit of every ledger timestamp.
CREATE FUNCTION ledger.clock_us() RETURNS bigint LANGUAGE sql VOLATILE AS
$$ SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint $$;

CREATE TABLE ledger.accounts (
    id                              uuid PRIMARY KEY,
    kind                            text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,39}$'),
    owner                           text NOT NULL CHECK (length(owner) BETWEEN 1 AND 100),
    funding_stream                  text NOT NULL CHECK (funding_stream IN ('NHS', 'COUNCIL', 'CLIENT')),
    financial_year                  smallint CHECK (financial_year BETWEEN 2000 AND 2100),
    debits_must_not_exceed_credits  boolean NOT NULL DEFAULT false,
    credits_must_not_exceed_debits  boolean NOT NULL DEFAULT false,
    debits_posted                   bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_posted                  bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    debits_pending                  bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    credits_pending                 bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    created_at                      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT one_balance_limit CHECK (
        NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)),
    -- Invariant 3: available balance counts pending debits (Blnk's lesson).
    CONSTRAINT debits_within_credits CHECK (
        NOT debits_must_not_exceed_credits OR debits_posted + debits_pending <= credits_posted),
    CONSTRAINT credits_within_debits CHECK (
        NOT credits_must_not_exceed_debits OR credits_posted + credits_pending <= debits_posted)
);

-- Invariant 7: the only routes on which a `funding` transfer may move money, and the only way
-- money changes colour. Adding a route is a reviewed migration, never a runtime call.
CREATE TABLE ledger.funding_routes (
    debit_kind      text NOT NULL,
    debit_stream    text NOT NULL CHECK (debit_stream IN ('NHS', 'COUNCIL', 'CLIENT')),
    credit_kind     text NOT NULL,
    credit_stream   text NOT NULL CHECK (credit_stream IN ('NHS', 'COUNCIL', 'CLIENT')),
    PRIMARY KEY (debit_kind, debit_stream, credit_kind, credit_stream)
);

INSERT INTO ledger.funding_routes VALUES
    -- A commissioner's allocation feeds its PHB ring-fence; the ring-fence funds budgets and
    -- takes reclaims back.
    ('allocation', 'NHS', 'ring_fence', 'NHS'),
    ('ring_fence', 'NHS', 'allocation', 'NHS'),
    ('ring_fence', 'NHS', 'budget', 'NHS'),
    ('budget', 'NHS', 'ring_fence', 'NHS'),
    ('allocation', 'COUNCIL', 'budget', 'COUNCIL'),
    ('budget', 'COUNCIL', 'allocation', 'COUNCIL'),
    ('contribution', 'CLIENT', 'budget', 'CLIENT'),
    ('budget', 'CLIENT', 'contribution', 'CLIENT'),
    -- The only colour change: a Section 75 pooled fund hosted by the council takes NHS money
    -- (and returns unspent money to the same NHS allocation).
    ('allocation', 'NHS', 'pooled_fund', 'COUNCIL'),
    ('pooled_fund', 'COUNCIL', 'allocation', 'NHS');

CREATE TABLE ledger.transfers (
    id                  uuid PRIMARY KEY,
    -- Accounts are checked set-based in ledger.transfers_apply (they are never deleted): a
    -- foreign key would lock each account row once per transfer.
    debit_account_id    uuid NOT NULL,
    credit_account_id   uuid NOT NULL,
    amount              bigint NOT NULL CHECK (amount > 0),
    reason              text NOT NULL CHECK (reason ~ '^[a-z][a-z0-9_]{0,39}$'),
    budget_ref          text,
    plan_line_ref       text,
    payment_ref         text,
    pending             boolean NOT NULL DEFAULT false,
    post_pending        boolean NOT NULL DEFAULT false,
    void_pending        boolean NOT NULL DEFAULT false,
    expire_pending      boolean NOT NULL DEFAULT false,
    linked              boolean NOT NULL DEFAULT false,
    funding             boolean NOT NULL DEFAULT false,
    pending_id          uuid REFERENCES ledger.transfers (id),
    reverses_id         uuid REFERENCES ledger.transfers (id),
    timeout_s           integer NOT NULL DEFAULT 0 CHECK (timeout_s >= 0),
    expires_at          bigint,
    ts                  bigint NOT NULL UNIQUE,
    prev_hash           bytea NOT NULL,
    hash                bytea NOT NULL,
    CONSTRAINT accounts_differ CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT one_phase_flag CHECK (
        pending::int + post_pending::int + void_pending::int + expire_pending::int <= 1),
    CONSTRAINT resolution_names_pending CHECK (
        (pending_id IS NOT NULL) = (post_pending OR void_pending OR expire_pending)),
    CONSTRAINT timeout_only_pending CHECK (timeout_s = 0 OR pending),
    CONSTRAINT expiry_iff_timeout CHECK ((expires_at IS NOT NULL) = (timeout_s > 0)),
    CONSTRAINT reversal_is_single_phase CHECK (
        reverses_id IS NULL OR NOT (pending OR post_pending OR void_pending OR expire_pending)),
    CONSTRAINT funding_not_on_resolution CHECK (NOT (funding AND pending_id IS NOT NULL))
);

-- Invariant 5: a pending transfer is resolved (post, void or expiry) at most once.
CREATE UNIQUE INDEX transfers_resolved_once ON ledger.transfers (pending_id)
    WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_reverses ON ledger.transfers (reverses_id) WHERE reverses_id IS NOT NULL;
CREATE INDEX transfers_expiry ON ledger.transfers (expires_at) WHERE expires_at IS NOT NULL;

-- One row per account per transfer; balances are the column sums (invariant 2). Pending deltas
-- are negative when a reservation is posted, voided or expires.
CREATE TABLE ledger.entries (
    account_id      uuid NOT NULL,
    ts              bigint NOT NULL,
    transfer_id     uuid NOT NULL,
    debits_posted   bigint NOT NULL CHECK (debits_posted >= 0),
    credits_posted  bigint NOT NULL CHECK (credits_posted >= 0),
    debits_pending  bigint NOT NULL,
    credits_pending bigint NOT NULL,
    PRIMARY KEY (account_id, ts)
);

-- The head of the hash chain: every writer locks it first, which serialises the chain and
-- the timestamps, and fixes the lock order (head, then accounts by id).
CREATE TABLE ledger.chain_head (
    id          smallint PRIMARY KEY CHECK (id = 1),
    last_ts     bigint NOT NULL,
    last_hash   bytea NOT NULL
);
INSERT INTO ledger.chain_head VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- The content a transfer's hash covers (everything but the hashes), chained to its predecessor.
CREATE FUNCTION ledger.transfer_digest(prev bytea, t ledger.transfers) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(prev || convert_to(concat_ws('|',
        t.id, t.debit_account_id, t.credit_account_id, t.amount, quote_literal(t.reason),
        quote_nullable(t.budget_ref), quote_nullable(t.plan_line_ref), quote_nullable(t.payment_ref),
        t.pending, t.post_pending, t.void_pending, t.expire_pending, t.linked, t.funding,
        quote_nullable(t.pending_id), quote_nullable(t.reverses_id), t.timeout_s,
        quote_nullable(t.expires_at), t.ts), 'UTF8'))
$$;

-- ---------------------------------------------------------------------------------------------
-- Guards

CREATE FUNCTION ledger.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on %.% is not allowed (append-only)', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse();
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse();
CREATE TRIGGER accounts_keep BEFORE DELETE OR TRUNCATE ON ledger.accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse();
CREATE TRIGGER funding_routes_keep BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.funding_routes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse();
CREATE TRIGGER chain_head_keep BEFORE INSERT OR DELETE OR TRUNCATE ON ledger.chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse();

-- Entries come only from the transfers trigger (nesting depth 2), never from a statement.
CREATE FUNCTION ledger.entries_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'ledger: entries are written only by inserting transfers'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER entries_insert_guard BEFORE INSERT ON ledger.entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.entries_insert_guard();

CREATE FUNCTION ledger.accounts_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.debits_posted <> 0 OR NEW.credits_posted <> 0
        OR NEW.debits_pending <> 0 OR NEW.credits_pending <> 0 THEN
        RAISE EXCEPTION 'ledger: an account starts with zero balances'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_insert_guard BEFORE INSERT ON ledger.accounts
    FOR EACH ROW EXECUTE FUNCTION ledger.accounts_insert_guard();

-- Identity is fixed for life (the colour above all); balances change only from inside the
-- transfers trigger, which is the only place that also writes the matching entries. The WHEN
-- clauses keep the ledger's own balance updates free of a PL/pgSQL call per account.
CREATE TRIGGER accounts_identity_guard BEFORE UPDATE ON ledger.accounts
    FOR EACH ROW
    WHEN ((NEW.id, NEW.kind, NEW.owner, NEW.funding_stream, NEW.financial_year,
           NEW.debits_must_not_exceed_credits, NEW.credits_must_not_exceed_debits, NEW.created_at)
          IS DISTINCT FROM
          (OLD.id, OLD.kind, OLD.owner, OLD.funding_stream, OLD.financial_year,
           OLD.debits_must_not_exceed_credits, OLD.credits_must_not_exceed_debits, OLD.created_at))
    EXECUTE FUNCTION ledger.refuse();

CREATE FUNCTION ledger.refuse_balance_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: balances change only by inserting transfers'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER accounts_balance_guard BEFORE UPDATE ON ledger.accounts
    FOR EACH ROW
    WHEN (pg_trigger_depth() < 1
          AND (NEW.debits_posted, NEW.credits_posted, NEW.debits_pending, NEW.credits_pending)
              IS DISTINCT FROM
              (OLD.debits_posted, OLD.credits_posted, OLD.debits_pending, OLD.credits_pending))
    EXECUTE FUNCTION ledger.refuse_balance_update();

-- The ledger clock only moves forward; the chain hash changes only from the transfers trigger.
CREATE FUNCTION ledger.chain_head_update_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.last_ts < OLD.last_ts THEN
        RAISE EXCEPTION 'ledger: the clock never moves back' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.last_hash IS DISTINCT FROM OLD.last_hash AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'ledger: the chain head moves only by inserting transfers'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER chain_head_update_guard BEFORE UPDATE ON ledger.chain_head
    FOR EACH ROW EXECUTE FUNCTION ledger.chain_head_update_guard();

-- ---------------------------------------------------------------------------------------------
-- Inserting transfers: stamp (per row), then validate + entries + balances (per statement).

-- Lock the chain head for the whole transaction and carry it through the row trigger in one
-- transaction-local setting (cheaper than updating the head row once per transfer). The clock
-- is read once per statement: the ledger's when a batch pinned it (`ledger.batch_clock`, set
-- by ledger.begin_batch, so the timestamps Python predicted are exactly the ones assigned),
-- else the wall clock. Either way it only moves time forward, never breaks its strict increase.
CREATE FUNCTION ledger.transfers_lock_head() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head ledger.chain_head;
    clock bigint := coalesce(nullif(current_setting('ledger.batch_clock', true), '')::bigint,
                             ledger.clock_us());
BEGIN
    SELECT * INTO head FROM ledger.chain_head WHERE id = 1 FOR UPDATE;
    PERFORM set_config('ledger.chain',
        greatest(head.last_ts, clock - 1)::text || ':' || encode(head.last_hash, 'hex'), true);
    RETURN NULL;
END $$;
CREATE TRIGGER transfers_1_lock_head BEFORE INSERT ON ledger.transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.transfers_lock_head();

-- Timestamp, expiry and hash are the ledger's, whatever the statement supplied.
CREATE FUNCTION ledger.transfers_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    chain text := current_setting('ledger.chain');
    sep integer := strpos(chain, ':');
BEGIN
    NEW.ts := left(chain, sep - 1)::bigint + 1;
    NEW.expires_at := CASE WHEN NEW.timeout_s > 0
                           THEN NEW.ts + NEW.timeout_s::bigint * 1000000 END;
    NEW.prev_hash := decode(substr(chain, sep + 1), 'hex');
    -- ledger.transfer_digest, spelled out: a function call per row costs 40% of this trigger.
    -- verify() recomputes every hash with the function, so the two cannot drift unnoticed.
    NEW.hash := sha256(NEW.prev_hash || convert_to(concat_ws('|',
        NEW.id, NEW.debit_account_id, NEW.credit_account_id, NEW.amount,
        quote_literal(NEW.reason), quote_nullable(NEW.budget_ref),
        quote_nullable(NEW.plan_line_ref), quote_nullable(NEW.payment_ref),
        NEW.pending, NEW.post_pending, NEW.void_pending, NEW.expire_pending, NEW.linked,
        NEW.funding, quote_nullable(NEW.pending_id), quote_nullable(NEW.reverses_id),
        NEW.timeout_s, quote_nullable(NEW.expires_at), NEW.ts), 'UTF8'));
    PERFORM set_config('ledger.chain', NEW.ts::text || ':' || encode(NEW.hash, 'hex'), true);
    RETURN NEW;
END $$;
CREATE TRIGGER transfers_2_stamp BEFORE INSERT ON ledger.transfers
    FOR EACH ROW EXECUTE FUNCTION ledger.transfers_stamp();

CREATE FUNCTION ledger.fail(message text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger invariant: %', message USING ERRCODE = 'check_violation';
END $$;

CREATE FUNCTION ledger.transfers_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Both accounts exist; invariant 7: same colour, or a funding transfer on a declared route.
    IF EXISTS (
        SELECT 1 FROM new_rows n
        LEFT JOIN ledger.accounts d ON d.id = n.debit_account_id
        LEFT JOIN ledger.accounts c ON c.id = n.credit_account_id
        WHERE d.id IS NULL OR c.id IS NULL OR (n.pending_id IS NULL AND (
            (NOT n.funding AND d.funding_stream <> c.funding_stream)
            OR (n.funding AND NOT EXISTS (
                SELECT 1 FROM ledger.funding_routes r
                WHERE r.debit_kind = d.kind AND r.debit_stream = d.funding_stream
                  AND r.credit_kind = c.kind AND r.credit_stream = c.funding_stream)))))
    THEN PERFORM ledger.fail('unknown account, or money changing colour off a funding route');
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

    UPDATE ledger.chain_head
    SET last_ts = split_part(current_setting('ledger.chain'), ':', 1)::bigint,
        last_hash = decode(split_part(current_setting('ledger.chain'), ':', 2), 'hex')
    WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER transfers_3_apply AFTER INSERT ON ledger.transfers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.transfers_apply();

-- ---------------------------------------------------------------------------------------------
-- Functions the Python API calls (one round trip each).

-- Lock the head then the accounts (sorted by id: no deadlocks), pin the batch clock, and return
-- what Python needs to decide every result of the batch.
CREATE FUNCTION ledger.begin_batch(
    transfer_ids uuid[], account_ids uuid[], pending_ids uuid[], reverses_ids uuid[],
    clock bigint DEFAULT NULL
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    head_ts bigint;
    base bigint;
    all_accounts uuid[];
    result jsonb;
BEGIN
    SELECT last_ts INTO head_ts FROM ledger.chain_head WHERE id = 1 FOR UPDATE;
    base := greatest(head_ts + 1, coalesce(clock, ledger.clock_us()));
    PERFORM set_config('ledger.batch_clock', base::text, true);

    SELECT array_agg(DISTINCT x) INTO all_accounts FROM (
        SELECT unnest(account_ids) AS x
        UNION SELECT debit_account_id FROM ledger.transfers WHERE id = ANY (pending_ids)
        UNION SELECT credit_account_id FROM ledger.transfers WHERE id = ANY (pending_ids)) s
    WHERE x IS NOT NULL;
    PERFORM 1 FROM ledger.accounts WHERE id = ANY (all_accounts) ORDER BY id FOR UPDATE;

    SELECT jsonb_build_object(
        'base', base,
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

-- Release pending transfers whose timeout has passed, as expiry transfers (so balances stay the
-- sum of entries). `at` moves the ledger clock forward to that instant first (operations and
-- tests); NULL means now. Returns how many expired.
CREATE FUNCTION ledger.expire_pending(at bigint DEFAULT NULL, limit_max integer DEFAULT 1000)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    head_ts bigint;
    base bigint;
    due uuid[];
    n integer;
BEGIN
    SELECT last_ts INTO head_ts FROM ledger.chain_head WHERE id = 1 FOR UPDATE;
    base := greatest(head_ts + 1, coalesce(at, ledger.clock_us()));
    PERFORM set_config('ledger.batch_clock', base::text, true);
    SELECT array_agg(p.id ORDER BY p.expires_at, p.id) INTO due FROM (
        SELECT p.id, p.expires_at FROM ledger.transfers p
        WHERE p.expires_at <= base
          AND NOT EXISTS (SELECT 1 FROM ledger.transfers r WHERE r.pending_id = p.id)
        ORDER BY p.expires_at, p.id LIMIT limit_max) p;
    IF due IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM 1 FROM ledger.accounts a
    WHERE a.id IN (SELECT debit_account_id FROM ledger.transfers WHERE id = ANY (due)
                   UNION SELECT credit_account_id FROM ledger.transfers WHERE id = ANY (due))
    ORDER BY a.id FOR UPDATE;
    INSERT INTO ledger.transfers (id, debit_account_id, credit_account_id, amount, reason,
                                  budget_ref, plan_line_ref, payment_ref, expire_pending,
                                  pending_id, ts, prev_hash, hash)
    SELECT md5('expire:' || p.id::text)::uuid, p.debit_account_id, p.credit_account_id,
           p.amount, 'expiry', p.budget_ref, p.plan_line_ref, p.payment_ref, true, p.id,
           0, '', ''
    FROM unnest(due) WITH ORDINALITY AS d(id, ord)
    JOIN ledger.transfers p ON p.id = d.id
    ORDER BY d.ord;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
