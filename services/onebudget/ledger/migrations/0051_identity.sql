-- The ledger's identity, for its anchors (ledger/anchor.py, ADR 13): the chain head is published
-- to JetStream under this id, so one bus can hold the anchors of several ledgers (a test server's
-- many databases, a staging copy) without one vouching for another. Made once, never changed: a
-- superuser who changes it to dodge the anchors gets a ledger that verify finds unanchored.
CREATE TABLE ledger.identity (
    id          smallint PRIMARY KEY CHECK (id = 1),
    ledger_id   uuid NOT NULL
);
INSERT INTO ledger.identity VALUES (1, gen_random_uuid());
CREATE TRIGGER identity_keep BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ledger.identity
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse();
ALTER TABLE ledger.identity OWNER TO onebudget_ledger;
GRANT SELECT ON ledger.identity TO onebudget_app;
