-- One role per service (ADR 16, issue 14): the ledger's users are two groups instead of ADR 13's
-- one run-time role. `onebudget_ledger_reader` may read every ledger table (reporting);
-- `onebudget_ledger_writer` may also call the ledger API (allocation, payment). Neither may
-- write a ledger table but through the API's SECURITY DEFINER functions (0050), exactly as
-- onebudget_app before them. Role memberships are the server's, not a database's.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onebudget_app') THEN
        CREATE ROLE onebudget_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['onebudget_ledger_reader', 'onebudget_ledger_writer'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', name);
        END IF;
    END LOOP;
    FOREACH name IN ARRAY ARRAY['onebudget_entitlement', 'onebudget_allocation',
                                'onebudget_payment', 'onebudget_reporting'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
                           ' NOBYPASSRLS NOREPLICATION', name);
        END IF;
    END LOOP;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

GRANT USAGE ON SCHEMA ledger TO onebudget_ledger_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA ledger TO onebudget_ledger_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA ledger GRANT SELECT ON TABLES TO onebudget_ledger_reader;
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
    TO onebudget_ledger_writer;

-- ADR 13's role keeps nothing here (it may no longer log in either: plumbing migration 80).
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
    FROM onebudget_app;
REVOKE ALL ON ALL TABLES IN SCHEMA ledger FROM onebudget_app;
REVOKE ALL ON SCHEMA ledger FROM onebudget_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA ledger REVOKE ALL ON TABLES FROM onebudget_app;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onebudget_app' AND rolcanlogin) THEN
        ALTER ROLE onebudget_app NOLOGIN;
    END IF;
END $$;

-- Who is which (memberships are the server's; granting one twice is a notice, not an error).
GRANT onebudget_ledger_reader TO onebudget_ledger_writer;
GRANT onebudget_ledger_writer TO onebudget_allocation, onebudget_payment;
GRANT onebudget_ledger_reader TO onebudget_reporting;
