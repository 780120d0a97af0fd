-- A direct-payment account holds one person's direct payment only (Standing Rules reg 32B(2)):
-- each DIRECT_PAYMENT_ACCOUNT payee records its holder, the person whose budgets may pay it.
-- Accounts registered before this are given the one person whose budgets paid them or schedule
-- them; an account that served several people (the fault this closes) or none keeps no holder
-- and cannot be paid until the account is registered afresh for its person.

ALTER TABLE payment.payees ADD COLUMN person_id uuid;

UPDATE payment.payees p SET person_id = h.person_id
FROM (
    SELECT u.payee_id, (array_agg(DISTINCT b.person_id))[1] AS person_id
    FROM (
        SELECT payee_id, budget_id FROM payment.payments
        UNION
        SELECT payee_id, budget_id FROM payment.schedules
    ) u
    JOIN payment.budgets b ON b.budget_id = u.budget_id AND b.person_id IS NOT NULL
    GROUP BY u.payee_id
    HAVING count(DISTINCT b.person_id) = 1
) h
WHERE p.payee_id = h.payee_id AND p.kind = 'DIRECT_PAYMENT_ACCOUNT';

ALTER TABLE payment.payees
    ADD CONSTRAINT holder_only_direct_payment_accounts
        CHECK (person_id IS NULL OR kind = 'DIRECT_PAYMENT_ACCOUNT'),
    -- NOT VALID: rows from before may lack a holder; every new or changed row must have one.
    ADD CONSTRAINT direct_payment_account_has_holder
        CHECK (kind <> 'DIRECT_PAYMENT_ACCOUNT' OR person_id IS NOT NULL) NOT VALID;
