-- Issue 13 (items 1 and 12 together): NHS money a repayment (or a hold released after the
-- budget ended) sent back from a budget to the account that funded it - a ring-fence or the
-- commissioner's general allocation - read like reporting.nhs_funding's negative rows, so each
-- ring-fence's drawn and balance figures follow the ledger. Keyed by the payment event (payment
-- events carry no budget version), one row per funder account.
CREATE TABLE reporting.nhs_funding_returns (
    return_key  text     NOT NULL,
    position    smallint NOT NULL CHECK (position >= 0),
    budget_id   uuid     NOT NULL,
    on_date     date     NOT NULL,
    account_id  uuid,
    ring_fence  boolean  NOT NULL,
    cohort      text,
    pence       bigint   NOT NULL CHECK (pence <= 0),
    PRIMARY KEY (return_key, position),
    CHECK (ring_fence OR cohort IS NULL OR cohort = '')
);
CREATE INDEX nhs_funding_returns_budget ON reporting.nhs_funding_returns (budget_id);
