-- The organisation a payee was registered with (a commissioner's ODS code or a council's GSS
-- code; '' when none was given), so brokers can list an organisation's payees (ListPayees).
ALTER TABLE payment.payees ADD COLUMN organisation_code text NOT NULL DEFAULT '';
CREATE INDEX payees_organisation ON payment.payees (organisation_code, created_at, payee_id);
