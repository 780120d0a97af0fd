-- Eligibility and PHB decisions as they stand (docs/adr/0010), and one open budget per person
-- and financial year.
--
-- The decision in force per person and category is the latest by decided_on, ties by
-- recording order (onebudget.shared.standing). `recorded` is the person's event version of
-- the decision (0 when unknown), so a decision delivered late never overrides a later one.
ALTER TABLE allocation.eligibility ADD COLUMN recorded bigint NOT NULL DEFAULT 0;

-- The commissioner's decisions on PHB requests (and their reconsiderations), per category:
-- a budget rests on a granted eligibility and a granted PHB in its cohort.
CREATE TABLE allocation.phb_standing (
    person_id               uuid NOT NULL REFERENCES allocation.people (person_id),
    category                text NOT NULL,
    granted                 boolean NOT NULL,
    decided_on              date NOT NULL,
    right_to_have           boolean NOT NULL,
    recorded                bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (person_id, category)
);

-- One integrated budget per person per financial year: at most one that is not ENDED (a change
-- is a revision of that budget; a new budget in the year follows only an ended one).
CREATE UNIQUE INDEX one_open_budget_per_person_and_year
    ON allocation.budgets (person_id, financial_year) WHERE status <> 'ENDED';
