-- A ring-fence funds PHB budgets and takes reclaims back; nothing else may drain (or feed) it.
-- Same-colour transfers need no funding route, so without this a plain transfer could move
-- ring-fenced NHS money to, say, a payee. Accounts of these kinds take only `funding` transfers
-- (which must follow ledger.funding_routes) and the resolutions of such transfers.

CREATE TABLE ledger.funding_only_kinds (
    kind text PRIMARY KEY
);
INSERT INTO ledger.funding_only_kinds VALUES ('ring_fence');
CREATE TRIGGER funding_only_kinds_keep BEFORE UPDATE OR DELETE OR TRUNCATE
    ON ledger.funding_only_kinds FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse();

CREATE FUNCTION ledger.transfers_funding_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM new_rows n
        JOIN ledger.accounts a ON a.id IN (n.debit_account_id, n.credit_account_id)
        JOIN ledger.funding_only_kinds k ON k.kind = a.kind
        WHERE n.pending_id IS NULL AND NOT n.funding)
    THEN PERFORM ledger.fail('a funding-only account (ring-fence) moved money off a funding route');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER transfers_4_funding_only AFTER INSERT ON ledger.transfers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.transfers_funding_only();
