-- Only the ledger API writes the ledger (ADR 13, issue 15 item 9).
--
-- Until now every service connected as the database superuser, so `INSERT INTO ledger.transfers`
-- by hand was accepted: the triggers stamp, hash and post any well-formed row, and verify() then
-- finds a consistent chain. From here the ledger's tables and functions belong to a role nobody
-- logs in as (onebudget_ledger), the services run as onebudget_app (shared/roles.py), which may
-- read the ledger and call its API but holds no INSERT, UPDATE or DELETE on any ledger table, and
-- the API's writing functions are SECURITY DEFINER: they run as the owner, so their statements
-- (and the triggers those fire) may write. Every invariant trigger stays as it was.

-- The roles (as in shared/roles.py: roles are the server's, so one may already exist).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onebudget_ledger') THEN
        CREATE ROLE onebudget_ledger NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onebudget_app') THEN
        CREATE ROLE onebudget_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

-- Appending stamped transfers: the statement ledger/store.py used to send, as a function.
CREATE FUNCTION ledger.append_transfers(
    ids uuid[], debit_ids uuid[], credit_ids uuid[], amounts bigint[], reasons text[],
    budget_refs text[], plan_line_refs text[], payment_refs text[], pendings boolean[],
    post_pendings boolean[], void_pendings boolean[], linkeds boolean[], fundings boolean[],
    pending_ids uuid[], reverses_ids uuid[], timeouts integer[], expires bigint[], tss bigint[],
    prev_hashes bytea[], hashes bytea[]
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ledger.transfers (id, debit_account_id, credit_account_id, amount, reason,
        budget_ref, plan_line_ref, payment_ref, pending, post_pending, void_pending, linked,
        funding, pending_id, reverses_id, timeout_s, expires_at, ts, prev_hash, hash)
    SELECT * FROM unnest(ids, debit_ids, credit_ids, amounts, reasons, budget_refs,
        plan_line_refs, payment_refs, pendings, post_pendings, void_pendings, linkeds, fundings,
        pending_ids, reverses_ids, timeouts, expires, tss, prev_hashes, hashes);
END $$;

-- Opening accounts (zero balances, checked by accounts_insert_guard): the ids inserted now.
CREATE FUNCTION ledger.create_accounts(
    ids uuid[], kinds text[], owners text[], streams text[], years smallint[],
    debits_limited boolean[], credits_limited boolean[]
) RETURNS SETOF uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    INSERT INTO ledger.accounts AS a (id, kind, owner, funding_stream, financial_year,
        debits_must_not_exceed_credits, credits_must_not_exceed_debits)
    SELECT * FROM unnest(ids, kinds, owners, streams, years, debits_limited, credits_limited)
    ON CONFLICT (id) DO NOTHING RETURNING a.id;
END $$;

-- The API functions that lock (FOR UPDATE needs UPDATE rights) or insert run as the owner.
ALTER FUNCTION ledger.begin_batch(uuid[], uuid[], uuid[], uuid[], bigint)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ledger.expire_pending(bigint, integer)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ledger.apply_batch(bytea, bigint, uuid[], bigint[], bigint[], bigint[], bigint[],
    uuid[], uuid[], uuid[], bigint[], text[], text[], text[], text[], boolean[], boolean[],
    boolean[], integer[], bytea[])
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- The owner: the schema, every table (with its indexes) and every function.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
             WHERE c.relnamespace = 'ledger'::regnamespace AND c.relkind IN ('r', 'p') LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO onebudget_ledger', r.name);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p
             WHERE p.pronamespace = 'ledger'::regnamespace LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO onebudget_ledger', r.name);
    END LOOP;
END $$;
ALTER SCHEMA ledger OWNER TO onebudget_ledger;

-- What the services may do: read every ledger table, call the API. Writing functions are not
-- anyone's by default (PUBLIC holds EXECUTE on a new function).
REVOKE ALL ON SCHEMA ledger FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA ledger FROM PUBLIC;
GRANT USAGE ON SCHEMA ledger TO onebudget_app;
GRANT SELECT ON ALL TABLES IN SCHEMA ledger TO onebudget_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA ledger GRANT SELECT ON TABLES TO onebudget_app;
-- A table a later migration adds (created by the migrating role) is the API's to write too.
ALTER DEFAULT PRIVILEGES IN SCHEMA ledger GRANT ALL ON TABLES TO onebudget_ledger;
REVOKE EXECUTE ON FUNCTION
    ledger.append_transfers(uuid[], uuid[], uuid[], bigint[], text[], text[], text[], text[],
        boolean[], boolean[], boolean[], boolean[], boolean[], uuid[], uuid[], integer[],
        bigint[], bigint[], bytea[], bytea[]),
    ledger.create_accounts(uuid[], text[], text[], text[], smallint[], boolean[], boolean[]),
    ledger.begin_batch(uuid[], uuid[], uuid[], uuid[], bigint),
    ledger.expire_pending(bigint, integer),
    ledger.apply_batch(bytea, bigint, uuid[], bigint[], bigint[], bigint[], bigint[], uuid[],
        uuid[], uuid[], bigint[], text[], text[], text[], text[], boolean[], boolean[],
        boolean[], integer[], bytea[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    ledger.append_transfers(uuid[], uuid[], uuid[], bigint[], text[], text[], text[], text[],
        boolean[], boolean[], boolean[], boolean[], boolean[], uuid[], uuid[], integer[],
        bigint[], bigint[], bytea[], bytea[]),
    ledger.create_accounts(uuid[], text[], text[], text[], smallint[], boolean[], boolean[]),
    ledger.begin_batch(uuid[], uuid[], uuid[], uuid[], bigint),
    ledger.expire_pending(bigint, integer),
    ledger.apply_batch(bytea, bigint, uuid[], bigint[], bigint[], bigint[], bigint[], uuid[],
        uuid[], uuid[], bigint[], text[], text[], text[], text[], boolean[], boolean[],
        boolean[], integer[], bytea[])
    TO onebudget_app;
