-- A payment row says what was paid, to whom, from which budget and line: once written, that never
-- changes (ADR 13, issue 15 item 9: a payment row could be changed freely). What may change is
-- what the lifecycle moves, and only forwards:
--   * a reservation (RESERVED) is confirmed (CONFIRMED, with the amount and its split decided
--     then), cancelled or expires; no other state ever changes;
--   * the money returned by a payee only grows (returns and reclaims);
--   * the version only grows.
-- Payments are never deleted. The guard fires only when a row breaks one of these (its WHEN
-- clause is the rule), so the lifecycle's own updates cost no PL/pgSQL call.

CREATE FUNCTION payment.refuse_payment_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'payment rows are not deleted' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RAISE EXCEPTION 'payment %: what a payment says is never changed (state % -> %)',
        OLD.payment_id, OLD.state, NEW.state USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER payments_kept BEFORE DELETE OR TRUNCATE ON payment.payments
    FOR EACH STATEMENT EXECUTE FUNCTION payment.refuse_payment_change();

CREATE TRIGGER payments_move_forward BEFORE UPDATE ON payment.payments
    FOR EACH ROW
    WHEN ((NEW.payment_id, NEW.request_id, NEW.kind, NEW.budget_id, NEW.plan_line_id, NEW.payee_id,
           NEW.reserved_pence, NEW.reserved_nhs_pence, NEW.reserved_council_pence,
           NEW.reserved_client_pence, NEW.service_period_start, NEW.service_period_end,
           NEW.broker_reference, NEW.schedule_id, NEW.instalment_no, NEW.created_at)
          IS DISTINCT FROM
          (OLD.payment_id, OLD.request_id, OLD.kind, OLD.budget_id, OLD.plan_line_id, OLD.payee_id,
           OLD.reserved_pence, OLD.reserved_nhs_pence, OLD.reserved_council_pence,
           OLD.reserved_client_pence, OLD.service_period_start, OLD.service_period_end,
           OLD.broker_reference, OLD.schedule_id, OLD.instalment_no, OLD.created_at)
       OR (NEW.state IS DISTINCT FROM OLD.state
           AND NOT (OLD.state = 'RESERVED' AND NEW.state IN ('CONFIRMED', 'CANCELLED', 'EXPIRED')))
       OR ((NEW.amount_pence, NEW.nhs_pence, NEW.council_pence, NEW.client_pence)
           IS DISTINCT FROM (OLD.amount_pence, OLD.nhs_pence, OLD.council_pence, OLD.client_pence)
           AND NOT (OLD.state = 'RESERVED' AND NEW.state = 'CONFIRMED'))
       OR NEW.returned_pence < OLD.returned_pence
       OR NEW.returned_nhs_pence < OLD.returned_nhs_pence
       OR NEW.returned_council_pence < OLD.returned_council_pence
       OR NEW.returned_client_pence < OLD.returned_client_pence
       OR NEW.version < OLD.version)
    EXECUTE FUNCTION payment.refuse_payment_change();
