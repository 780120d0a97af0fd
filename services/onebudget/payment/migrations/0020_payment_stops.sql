-- Stopping and resuming payments (NHS (Direct Payments) Regulations 2013 reg 17; docs/adr/0010).
--
-- A budget's payments are stopped while any of these holds (payment/domain/stops.py decides):
-- the person died or withdrew consent (stopped_people; consent comes back with a new granted
-- PHB), a stop recorded by StopPayments is open (ineligibility, misuse, fraud), or the
-- eligibility the budget rests on (its cohort) is refused by the decision in force.

-- The budget's cohort (allocation's BudgetCreated): which eligibility it rests on.
ALTER TABLE payment.budgets ADD COLUMN cohort text NOT NULL DEFAULT '';

-- The person's event version of the stop: a later granted PHB lifts a withdrawal of consent.
ALTER TABLE payment.stopped_people ADD COLUMN recorded bigint NOT NULL DEFAULT 0;

-- Eligibility decisions in force per person and category (entitlement's EligibilityDecided),
-- the latest by decided_on, ties by recording order (onebudget.shared.standing).
CREATE TABLE payment.eligibility (
    person_id   uuid NOT NULL,
    category    text NOT NULL,
    granted     boolean NOT NULL,
    decided_on  date NOT NULL,
    recorded    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (person_id, category)
);

CREATE TABLE payment.payment_stops (
    stop_id         uuid PRIMARY KEY,
    budget_id       uuid NOT NULL REFERENCES payment.budgets (budget_id),
    grounds         text NOT NULL CHECK (grounds IN ('INELIGIBILITY', 'MISUSE', 'FRAUD')),
    reasons         text[] NOT NULL CHECK (cardinality(reasons) >= 1),
    stopped_on      date NOT NULL,
    resumed_on      date,
    resume_reasons  text[] NOT NULL DEFAULT '{}',
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT resumed_after_stopped CHECK (resumed_on IS NULL OR resumed_on >= stopped_on)
);
-- At most one open stop per budget.
CREATE UNIQUE INDEX payment_stops_open ON payment.payment_stops (budget_id)
    WHERE resumed_on IS NULL;
