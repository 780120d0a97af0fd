-- What payments hold against a plan line, per funding stream (ADR 7: each payment takes the
-- line's next parts over its life, so the line must know what each stream has committed). Net:
-- released, confirmed and instalments less returns, plus live reservations. Backfilled from the
-- payments; committed_pence stays, and is their sum.

ALTER TABLE payment.plan_lines
    ADD COLUMN committed_nhs_pence     bigint NOT NULL DEFAULT 0 CHECK (committed_nhs_pence >= 0),
    ADD COLUMN committed_council_pence bigint NOT NULL DEFAULT 0 CHECK (committed_council_pence >= 0),
    ADD COLUMN committed_client_pence  bigint NOT NULL DEFAULT 0 CHECK (committed_client_pence >= 0);

UPDATE payment.plan_lines l SET
    committed_nhs_pence = p.nhs,
    committed_council_pence = p.council,
    committed_client_pence = p.client,
    committed_pence = p.nhs + p.council + p.client
FROM (
    SELECT plan_line_id,
        sum(CASE WHEN state = 'RESERVED' THEN reserved_nhs_pence
            WHEN state IN ('RELEASED', 'CONFIRMED') THEN nhs_pence - returned_nhs_pence
            ELSE 0 END)::bigint AS nhs,
        sum(CASE WHEN state = 'RESERVED' THEN reserved_council_pence
            WHEN state IN ('RELEASED', 'CONFIRMED') THEN council_pence - returned_council_pence
            ELSE 0 END)::bigint AS council,
        sum(CASE WHEN state = 'RESERVED' THEN reserved_client_pence
            WHEN state IN ('RELEASED', 'CONFIRMED') THEN client_pence - returned_client_pence
            ELSE 0 END)::bigint AS client
    FROM payment.payments GROUP BY plan_line_id
) p
WHERE l.plan_line_id = p.plan_line_id;

ALTER TABLE payment.plan_lines ADD CONSTRAINT committed_split_sums CHECK (
    committed_nhs_pence + committed_council_pence + committed_client_pence = committed_pence);
