-- Who moved the money (issue 14, "The record of who did"; ADR 17).
--
-- Each transfer carries the acting identity that made it: `role:subject@organisations`
-- (shared/audit.actor_label), "system:<service>" for a service's own background work. It is kept
-- beside the transfer, not in it: the transfer's row type and hash (ledger.transfer_digest, the
-- Python chain in ledger/store.py) stay exactly as they were, so every stored chain still
-- verifies; the service's audit trail, hash-chained, holds the same identity with the call's
-- request_id. Written only through ledger.record_transfer_actors (SECURITY DEFINER, as the other
-- writing functions: ADR 13), in the statement that appends the transfers; never changed.

CREATE TABLE ledger.transfer_actors (
    transfer_id  uuid PRIMARY KEY,
    actor        text NOT NULL
);

CREATE FUNCTION ledger.record_transfer_actors(ids uuid[], actors text[])
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ledger.transfer_actors (transfer_id, actor)
    SELECT * FROM unnest(ids, actors) ON CONFLICT (transfer_id) DO NOTHING;
    RETURN true;
END $$;

CREATE FUNCTION ledger.transfer_actors_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: who made a transfer is never changed'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER transfer_actors_kept BEFORE UPDATE OR DELETE ON ledger.transfer_actors
    FOR EACH ROW EXECUTE FUNCTION ledger.transfer_actors_kept();
CREATE TRIGGER transfer_actors_no_truncate BEFORE TRUNCATE ON ledger.transfer_actors
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.transfer_actors_kept();

ALTER TABLE ledger.transfer_actors OWNER TO onebudget_ledger;
ALTER FUNCTION ledger.record_transfer_actors(uuid[], text[]) OWNER TO onebudget_ledger;
ALTER FUNCTION ledger.transfer_actors_kept() OWNER TO onebudget_ledger;
REVOKE EXECUTE ON FUNCTION ledger.record_transfer_actors(uuid[], text[]) FROM PUBLIC;
-- The ledger's writers (allocation, payment) record actors through the API; its readers read
-- them (ADR 16's two groups, ledger migration 0080).
GRANT EXECUTE ON FUNCTION ledger.record_transfer_actors(uuid[], text[]) TO onebudget_ledger_writer;
GRANT SELECT ON ledger.transfer_actors TO onebudget_ledger_reader, onebudget_ledger_writer;
