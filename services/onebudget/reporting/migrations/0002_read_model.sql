-- The reporting read model: facts from the ALLOCATION, PAYMENT and ENTITLEMENT streams, keyed by
-- their ids, so a redelivery or a different arrival order across streams stores the same rows.
-- Figures are computed from these rows at query time (domain/figures.py); nothing here is a
-- running total. Every table is wiped by RebuildReadModel and refilled by replaying the streams.

-- A close may arrive before the allocation it closes (another aggregate): allocation columns
-- are null until CommissionerAllocationSet arrives.
CREATE TABLE reporting.commissioner_allocations (
    commissioner_ods_code   text     NOT NULL,
    financial_year          smallint NOT NULL,
    allocation_pence        bigint CHECK (allocation_pence >= 0),
    target_basis_points     integer,
    target_pence            bigint,
    allocation_account_id   uuid,
    closed_on               date,
    PRIMARY KEY (commissioner_ods_code, financial_year)
);

CREATE TABLE reporting.ring_fences (
    commissioner_ods_code   text     NOT NULL,
    financial_year          smallint NOT NULL,
    cohort                  text     NOT NULL,  -- '' is the general ring-fence
    basis_points            integer  NOT NULL,
    target_pence            bigint   NOT NULL CHECK (target_pence >= 0),
    account_id              uuid     NOT NULL,
    PRIMARY KEY (commissioner_ods_code, financial_year, cohort)
);

CREATE TABLE reporting.council_pots (
    council_gss_code        text     NOT NULL,
    financial_year          smallint NOT NULL,
    pot_pence               bigint   NOT NULL CHECK (pot_pence >= 0),
    account_id              uuid     NOT NULL,
    PRIMARY KEY (council_gss_code, financial_year)
);

-- Who and what a budget is for: the same on every budget event, so any of them may create it.
CREATE TABLE reporting.budgets (
    budget_id               uuid PRIMARY KEY,
    person_id               uuid     NOT NULL,
    commissioner_ods_code   text     NOT NULL,
    council_gss_code        text     NOT NULL,  -- '' for an NHS-only budget
    financial_year          smallint NOT NULL,
    cohort                  text     NOT NULL,
    child                   boolean  NOT NULL,
    start_date              date,
    end_date                date,
    agreed_on               date,
    ended_on                date
);
CREATE INDEX budgets_commissioner ON reporting.budgets (commissioner_ods_code, financial_year);
CREATE INDEX budgets_council ON reporting.budgets (council_gss_code, financial_year);

-- Money committed to a budget, one row per budget event that changed it (keyed by the budget's
-- version): agreed (+), revised (+/-), ended (- what went back to the funders).
CREATE TABLE reporting.commitments (
    budget_id       uuid    NOT NULL,
    budget_version  bigint  NOT NULL,
    kind            text    NOT NULL,
    on_date         date    NOT NULL,
    nhs_pence       bigint  NOT NULL,
    council_pence   bigint  NOT NULL,
    client_pence    bigint  NOT NULL,
    PRIMARY KEY (budget_id, budget_version)
);

CREATE TABLE reporting.plan_lines (
    budget_id           uuid    NOT NULL,
    plan_line_id        uuid    NOT NULL,
    management_option   text    NOT NULL,
    nhs_pence           bigint  NOT NULL,
    council_pence       bigint  NOT NULL,
    client_pence        bigint  NOT NULL,
    PRIMARY KEY (budget_id, plan_line_id)
);

-- A removal may arrive before the line it removes: kept apart, applied at query time.
CREATE TABLE reporting.plan_line_removals (
    budget_id       uuid NOT NULL,
    plan_line_id    uuid NOT NULL,
    PRIMARY KEY (budget_id, plan_line_id)
);

-- Money paid out of budgets (+) and back from payees (-), one row per payment, return or receipt.
-- move_key: 'paid:<payment_id>' (released, confirmed or instalment: one payment pays once),
-- 'return:<return_id>', 'repaid:<event_id>'.
CREATE TABLE reporting.payment_moves (
    move_key        text    PRIMARY KEY,
    budget_id       uuid    NOT NULL,
    kind            text    NOT NULL,
    on_date         date    NOT NULL,
    nhs_pence       bigint  NOT NULL,
    council_pence   bigint  NOT NULL,
    client_pence    bigint  NOT NULL
);
CREATE INDEX payment_moves_budget ON reporting.payment_moves (budget_id);

-- PHB requests and their latest decision (entitlement), for the request counts.
CREATE TABLE reporting.phb_requests (
    phb_request_id          uuid PRIMARY KEY,
    person_id               uuid    NOT NULL,
    commissioner_ods_code   text    NOT NULL,
    category                text    NOT NULL,
    child                   boolean NOT NULL,
    requested_on            date,
    outcome                 text,
    decided_on              date
);
