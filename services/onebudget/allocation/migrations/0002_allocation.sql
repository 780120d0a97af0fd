-- Allocation: commissioners, councils, allocations and ring-fences, integrated budgets and their
-- care plans, and what entitlement told us about people. Money is in the ledger; these rows say
-- what it is for, and repeat the money rules as constraints (design.md, invariants stated twice).

CREATE TABLE allocation.commissioners (
    ods_code    text PRIMARY KEY CHECK (ods_code ~ '^([A-Z0-9]{3}|[A-Z0-9]{5})$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE allocation.councils (
    gss_code    text PRIMARY KEY CHECK (gss_code ~ '^E(06|08|09|10)[0-9]{6}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE allocation.commissioner_allocations (
    commissioner_ods_code   text NOT NULL REFERENCES allocation.commissioners (ods_code),
    financial_year          smallint NOT NULL CHECK (financial_year BETWEEN 2013 AND 2099),
    allocation_pence        bigint NOT NULL CHECK (allocation_pence > 0),
    phb_target_basis_points integer NOT NULL CHECK (phb_target_basis_points BETWEEN 0 AND 10000),
    phb_target_pence        bigint NOT NULL CHECK (phb_target_pence >= 0),
    source_account_id       uuid NOT NULL UNIQUE,
    allocation_account_id   uuid NOT NULL UNIQUE,
    closed_on               date,
    created_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (commissioner_ods_code, financial_year),
    -- The stated rounding rule: share_of, half up to the penny.
    CONSTRAINT target_is_share_of_allocation CHECK (
        phb_target_pence = (allocation_pence * phb_target_basis_points + 5000) / 10000),
    CONSTRAINT closed_after_year_end CHECK (
        closed_on IS NULL OR closed_on > make_date(financial_year + 1, 3, 31))
);

CREATE TABLE allocation.ring_fences (
    commissioner_ods_code   text NOT NULL,
    financial_year          smallint NOT NULL,
    -- '' is the general ring-fence (overall target less the cohort targets).
    cohort                  text NOT NULL CHECK (cohort IN ('', 'CHC', 'CHILDRENS_CC', 'S117',
                                'WHEELCHAIR', 'JOINT_PACKAGE', 'LONG_TERM_CONDITION',
                                'MENTAL_HEALTH', 'LOCAL_OFFER')),
    basis_points            integer NOT NULL CHECK (basis_points BETWEEN 0 AND 10000),
    target_pence            bigint NOT NULL CHECK (target_pence >= 0),
    account_id              uuid NOT NULL UNIQUE,
    PRIMARY KEY (commissioner_ods_code, financial_year, cohort),
    FOREIGN KEY (commissioner_ods_code, financial_year)
        REFERENCES allocation.commissioner_allocations (commissioner_ods_code, financial_year)
);

CREATE TABLE allocation.council_allocations (
    council_gss_code    text NOT NULL REFERENCES allocation.councils (gss_code),
    financial_year      smallint NOT NULL CHECK (financial_year BETWEEN 2013 AND 2099),
    pot_pence           bigint NOT NULL CHECK (pot_pence > 0),
    source_account_id   uuid NOT NULL UNIQUE,
    account_id          uuid NOT NULL UNIQUE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (council_gss_code, financial_year)
);

-- People and eligibility as entitlement's events describe them (never read from its tables).
CREATE TABLE allocation.people (
    person_id               uuid PRIMARY KEY,
    commissioner_ods_code   text NOT NULL DEFAULT '',
    council_gss_code        text NOT NULL DEFAULT '',
    child                   boolean NOT NULL DEFAULT false,
    state                   text NOT NULL DEFAULT 'ACTIVE'
                                CHECK (state IN ('ACTIVE', 'CONSENT_WITHDRAWN', 'DECEASED')),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE allocation.eligibility (
    person_id               uuid NOT NULL REFERENCES allocation.people (person_id),
    category                text NOT NULL,
    granted                 boolean NOT NULL,
    decided_on              date,
    child                   boolean NOT NULL DEFAULT false,
    seq                     bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (person_id, category)
);

CREATE TABLE allocation.budgets (
    budget_id                   uuid PRIMARY KEY,
    person_id                   uuid NOT NULL REFERENCES allocation.people (person_id),
    commissioner_ods_code       text NOT NULL REFERENCES allocation.commissioners (ods_code),
    council_gss_code            text REFERENCES allocation.councils (gss_code),
    cohort                      text NOT NULL,
    financial_year              smallint NOT NULL CHECK (financial_year BETWEEN 2013 AND 2099),
    start_date                  date NOT NULL,
    end_date                    date NOT NULL,
    child                       boolean NOT NULL,
    status                      text NOT NULL CHECK (status IN ('DRAFT', 'AGREED', 'ENDED')),
    indicative_nhs_pence        bigint NOT NULL CHECK (indicative_nhs_pence >= 0),
    indicative_council_pence    bigint NOT NULL CHECK (indicative_council_pence >= 0),
    client_contribution_pence   bigint NOT NULL CHECK (client_contribution_pence >= 0),
    nhs_account_id              uuid NOT NULL UNIQUE,
    council_account_id          uuid UNIQUE,
    client_account_id           uuid UNIQUE,
    contribution_account_id     uuid UNIQUE,
    -- The funder accounts the agreement drew from (cuts and the end return money there).
    ring_fence_account_id       uuid,
    council_pot_account_id      uuid,
    agreed_nhs_pence            bigint NOT NULL DEFAULT 0 CHECK (agreed_nhs_pence >= 0),
    agreed_council_pence        bigint NOT NULL DEFAULT 0 CHECK (agreed_council_pence >= 0),
    agreed_client_pence         bigint NOT NULL DEFAULT 0 CHECK (agreed_client_pence >= 0),
    returned_nhs_pence          bigint NOT NULL DEFAULT 0 CHECK (returned_nhs_pence >= 0),
    returned_council_pence      bigint NOT NULL DEFAULT 0 CHECK (returned_council_pence >= 0),
    returned_client_pence       bigint NOT NULL DEFAULT 0 CHECK (returned_client_pence >= 0),
    agreed_on                   date,
    ended_on                    date,
    end_reason                  text CHECK (end_reason IN ('REQUESTED', 'PERSON_DIED',
                                    'CONSENT_WITHDRAWN')),
    note                        text NOT NULL DEFAULT '',
    revision                    integer NOT NULL DEFAULT 0 CHECK (revision >= 0),
    version                     bigint NOT NULL CHECK (version >= 1),
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT period_in_order CHECK (start_date <= end_date),
    CONSTRAINT period_in_year CHECK (
        start_date >= make_date(financial_year, 4, 1)
        AND end_date <= make_date(financial_year + 1, 3, 31)),
    -- The client contribution applies to the council stream only (no charge on NHS money).
    CONSTRAINT nhs_only_has_no_council_money CHECK (
        council_gss_code IS NOT NULL OR (
            council_account_id IS NULL AND client_account_id IS NULL
            AND indicative_council_pence = 0 AND client_contribution_pence = 0
            AND agreed_council_pence = 0 AND agreed_client_pence = 0)),
    CONSTRAINT council_streams_with_council CHECK (
        council_gss_code IS NULL OR (council_account_id IS NOT NULL
            AND client_account_id IS NOT NULL AND contribution_account_id IS NOT NULL)),
    CONSTRAINT agreed_has_date CHECK (status <> 'AGREED' OR agreed_on IS NOT NULL),
    CONSTRAINT ended_has_reason CHECK ((status = 'ENDED') = (end_reason IS NOT NULL)),
    CONSTRAINT draft_moved_nothing CHECK (status <> 'DRAFT' OR (
        agreed_nhs_pence = 0 AND agreed_council_pence = 0 AND agreed_client_pence = 0))
);
CREATE INDEX budgets_person ON allocation.budgets (person_id);
CREATE INDEX budgets_commissioner ON allocation.budgets (commissioner_ods_code, financial_year);
CREATE INDEX budgets_council ON allocation.budgets (council_gss_code, financial_year);

CREATE TABLE allocation.plan_lines (
    plan_line_id                uuid PRIMARY KEY,
    budget_id                   uuid NOT NULL REFERENCES allocation.budgets (budget_id),
    position                    bigint GENERATED ALWAYS AS IDENTITY,
    description                 text NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
    category                    text NOT NULL CHECK (category ~ '^[a-z][a-z0-9_]{0,39}$'),
    cost_per_occurrence_pence   bigint NOT NULL CHECK (cost_per_occurrence_pence > 0),
    frequency                   text NOT NULL CHECK (frequency IN ('ONE_OFF', 'DAILY', 'WEEKLY',
                                    'FOUR_WEEKLY', 'MONTHLY', 'QUARTERLY', 'ANNUAL')),
    occurrences                 integer NOT NULL CHECK (occurrences > 0),
    cost_pence                  bigint NOT NULL,
    nhs_basis_points            integer NOT NULL CHECK (nhs_basis_points >= 0),
    council_basis_points        integer NOT NULL CHECK (council_basis_points >= 0),
    client_basis_points         integer NOT NULL CHECK (client_basis_points >= 0),
    nhs_pence                   bigint NOT NULL CHECK (nhs_pence >= 0),
    council_pence               bigint NOT NULL CHECK (council_pence >= 0),
    client_pence                bigint NOT NULL CHECK (client_pence >= 0),
    management_option           text NOT NULL CHECK (management_option IN ('NOTIONAL',
                                    'THIRD_PARTY', 'DIRECT_PAYMENT')),
    allowed_payee_id            text NOT NULL DEFAULT '',
    allowed_payee_kind          text NOT NULL DEFAULT '',
    added_in_revision           integer NOT NULL DEFAULT 0,
    removed                     boolean NOT NULL DEFAULT false,
    removed_in_revision         integer,
    CONSTRAINT cost_is_rate_times_occurrences CHECK (
        cost_pence = cost_per_occurrence_pence * occurrences),
    CONSTRAINT split_is_whole CHECK (
        nhs_basis_points + council_basis_points + client_basis_points = 10000),
    CONSTRAINT split_sums_to_cost CHECK (nhs_pence + council_pence + client_pence = cost_pence),
    CONSTRAINT has_payee_rule CHECK (allowed_payee_id <> '' OR allowed_payee_kind <> '')
);
CREATE INDEX plan_lines_budget ON allocation.plan_lines (budget_id, position);

CREATE TABLE allocation.budget_revisions (
    budget_id           uuid NOT NULL REFERENCES allocation.budgets (budget_id),
    revision            integer NOT NULL CHECK (revision >= 1),
    reasons             text[] NOT NULL CHECK (cardinality(reasons) >= 1),
    notice_date         date NOT NULL,
    nhs_delta_pence     bigint NOT NULL,
    council_delta_pence bigint NOT NULL,
    client_delta_pence  bigint NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (budget_id, revision)
);
