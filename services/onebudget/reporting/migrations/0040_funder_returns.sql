-- Money a received repayment sent back from a budget to its funders (RepaymentReceived's
-- returned_to_funders, issue 13 item 12), one row per receipt: it lowers what the budget holds
-- from each funder, as an end's or a cut's return does (read with reporting.commitments).
CREATE TABLE reporting.funder_returns (
    move_key        text    PRIMARY KEY,
    budget_id       uuid    NOT NULL,
    on_date         date    NOT NULL,
    nhs_pence       bigint  NOT NULL,
    council_pence   bigint  NOT NULL,
    client_pence    bigint  NOT NULL
);
CREATE INDEX funder_returns_budget ON reporting.funder_returns (budget_id);
