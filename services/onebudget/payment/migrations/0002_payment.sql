-- Payees, the read model of budgets and plan lines (from allocation's events), payments,
-- schedules and their instalments, returns and repayments. Money is bigint pence; each money
-- rule is checked here again (a Python bug fails a transaction rather than corrupting money).

CREATE TABLE payment.payees (
    payee_id            uuid PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN
        ('PROVIDER', 'PERSONAL_ASSISTANT', 'DIRECT_PAYMENT_ACCOUNT', 'THIRD_PARTY_ORGANISATION')),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    close_family        boolean NOT NULL DEFAULT false,
    approved_at         timestamptz,
    approval_reason     text,
    approver            text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT family_only_personal_assistants CHECK (NOT close_family OR kind = 'PERSONAL_ASSISTANT'),
    CONSTRAINT approval_complete CHECK (
        (approved_at IS NULL) = (approval_reason IS NULL) AND (approved_at IS NULL) = (approver IS NULL)),
    CONSTRAINT approval_only_family CHECK (approved_at IS NULL OR close_family)
);

-- Read model of allocation's budgets: state, funders and the ledger account of each stream.
CREATE TABLE payment.budgets (
    budget_id               uuid PRIMARY KEY,
    person_id               uuid,
    commissioner_ods_code   text NOT NULL DEFAULT '',
    council_gss_code        text NOT NULL DEFAULT '',
    state                   text NOT NULL CHECK (state IN ('DRAFT', 'AGREED', 'ENDED')),
    start_date              date,
    end_date                date,
    nhs_account_id          uuid,
    council_account_id      uuid,
    client_account_id       uuid,
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budgets_person ON payment.budgets (person_id);

CREATE TABLE payment.plan_lines (
    plan_line_id        uuid PRIMARY KEY,
    budget_id           uuid NOT NULL REFERENCES payment.budgets (budget_id),
    category            text NOT NULL,
    cost_pence          bigint NOT NULL CHECK (cost_pence >= 0),
    nhs_bp              integer NOT NULL CHECK (nhs_bp >= 0),
    council_bp          integer NOT NULL CHECK (council_bp >= 0),
    client_bp           integer NOT NULL CHECK (client_bp >= 0),
    management_option   text NOT NULL DEFAULT '',
    allowed_payee_id    uuid,
    allowed_payee_kind  text NOT NULL DEFAULT '',
    agreed              boolean NOT NULL DEFAULT false,
    removed             boolean NOT NULL DEFAULT false,
    -- What payments hold against the line: released + reserved + confirmed - returned. Only
    -- this service writes it; the events that change the line leave it alone.
    committed_pence     bigint NOT NULL DEFAULT 0 CHECK (committed_pence >= 0),
    CONSTRAINT split_is_whole CHECK (nhs_bp + council_bp + client_bp = 10000)
);
CREATE INDEX plan_lines_budget ON payment.plan_lines (budget_id);

-- People whose payments stopped (death, consent withdrawn), from entitlement's events.
CREATE TABLE payment.stopped_people (
    person_id   uuid PRIMARY KEY,
    why         text NOT NULL CHECK (why IN ('DEATH', 'CONSENT_WITHDRAWN')),
    stopped_on  date NOT NULL
);

CREATE TABLE payment.schedules (
    schedule_id         uuid PRIMARY KEY,
    budget_id           uuid NOT NULL REFERENCES payment.budgets (budget_id),
    plan_line_id        uuid NOT NULL REFERENCES payment.plan_lines (plan_line_id),
    payee_id            uuid NOT NULL REFERENCES payment.payees (payee_id),
    instalment_pence    bigint NOT NULL CHECK (instalment_pence > 0),
    every_weeks         integer NOT NULL CHECK (every_weeks BETWEEN 1 AND 52),
    start_date          date NOT NULL,
    end_date            date,
    state               text NOT NULL CHECK (state IN ('ACTIVE', 'STOPPED', 'ENDED')),
    next_instalment_no  integer NOT NULL DEFAULT 1 CHECK (next_instalment_no >= 1),
    next_due_date       date NOT NULL,
    offset_outstanding_pence bigint NOT NULL DEFAULT 0 CHECK (offset_outstanding_pence >= 0),
    instalments_paid    integer NOT NULL DEFAULT 0,
    stop_reason         text NOT NULL DEFAULT '',
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ends_after_start CHECK (end_date IS NULL OR end_date >= start_date)
);
-- The scheduler's query: active schedules that are due.
CREATE INDEX schedules_due ON payment.schedules (next_due_date) WHERE state = 'ACTIVE';
CREATE INDEX schedules_budget ON payment.schedules (budget_id);

CREATE TABLE payment.payments (
    payment_id          uuid PRIMARY KEY,
    request_id          text,
    kind                text NOT NULL CHECK (kind IN ('RELEASE', 'RESERVATION', 'INSTALMENT')),
    state               text NOT NULL CHECK (state IN
        ('RELEASED', 'RESERVED', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
    budget_id           uuid NOT NULL,
    plan_line_id        uuid NOT NULL,
    payee_id            uuid NOT NULL REFERENCES payment.payees (payee_id),
    -- The money paid (released, confirmed or the instalment) and its exact split.
    amount_pence        bigint NOT NULL CHECK (amount_pence >= 0),
    nhs_pence           bigint NOT NULL CHECK (nhs_pence >= 0),
    council_pence       bigint NOT NULL CHECK (council_pence >= 0),
    client_pence        bigint NOT NULL CHECK (client_pence >= 0),
    reserved_pence      bigint NOT NULL DEFAULT 0 CHECK (reserved_pence >= 0),
    reserved_nhs_pence      bigint NOT NULL DEFAULT 0,
    reserved_council_pence  bigint NOT NULL DEFAULT 0,
    reserved_client_pence   bigint NOT NULL DEFAULT 0,
    returned_pence      bigint NOT NULL DEFAULT 0 CHECK (returned_pence >= 0),
    returned_nhs_pence      bigint NOT NULL DEFAULT 0,
    returned_council_pence  bigint NOT NULL DEFAULT 0,
    returned_client_pence   bigint NOT NULL DEFAULT 0,
    service_period_start date,
    service_period_end  date,
    broker_reference    text NOT NULL DEFAULT '',
    schedule_id         uuid REFERENCES payment.schedules (schedule_id),
    instalment_no       integer,
    expires_at          timestamptz,
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT split_sums CHECK (nhs_pence + council_pence + client_pence = amount_pence),
    CONSTRAINT reserved_split_sums CHECK (
        reserved_nhs_pence + reserved_council_pence + reserved_client_pence = reserved_pence),
    CONSTRAINT returned_split_sums CHECK (
        returned_nhs_pence + returned_council_pence + returned_client_pence = returned_pence),
    CONSTRAINT returned_within_paid CHECK (returned_pence <= amount_pence
        AND returned_nhs_pence <= nhs_pence AND returned_council_pence <= council_pence
        AND returned_client_pence <= client_pence),
    CONSTRAINT paid_within_reserved CHECK (kind <> 'RESERVATION' OR amount_pence <= reserved_pence),
    CONSTRAINT instalment_named CHECK ((kind = 'INSTALMENT') = (schedule_id IS NOT NULL)
        AND (schedule_id IS NULL) = (instalment_no IS NULL))
);
CREATE INDEX payments_budget ON payment.payments (budget_id, created_at, payment_id);
CREATE INDEX payments_payee ON payment.payments (payee_id, created_at, payment_id);
CREATE INDEX payments_broker ON payment.payments (broker_reference, created_at, payment_id);
CREATE INDEX payments_list ON payment.payments (created_at, payment_id);
CREATE INDEX payments_reserved ON payment.payments (expires_at) WHERE state = 'RESERVED';

-- Exactly once per instalment: the scheduler inserts this row with the instalment's payment (or
-- its failure) in one transaction; a second replica or a restart finds it and moves nothing.
CREATE TABLE payment.instalments (
    schedule_id     uuid NOT NULL REFERENCES payment.schedules (schedule_id),
    instalment_no   integer NOT NULL CHECK (instalment_no >= 1),
    due_date        date NOT NULL,
    scheduled_pence bigint NOT NULL CHECK (scheduled_pence > 0),
    offset_pence    bigint NOT NULL DEFAULT 0 CHECK (offset_pence >= 0),
    payment_id      uuid REFERENCES payment.payments (payment_id),
    failure         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, instalment_no),
    CONSTRAINT paid_or_failed_or_offset CHECK (
        (payment_id IS NOT NULL)::int + (failure IS NOT NULL)::int <= 1),
    CONSTRAINT offset_within_instalment CHECK (offset_pence <= scheduled_pence)
);

CREATE TABLE payment.returns (
    return_id       uuid PRIMARY KEY,
    payment_id      uuid NOT NULL REFERENCES payment.payments (payment_id),
    amount_pence    bigint NOT NULL CHECK (amount_pence > 0),
    nhs_pence       bigint NOT NULL CHECK (nhs_pence >= 0),
    council_pence   bigint NOT NULL CHECK (council_pence >= 0),
    client_pence    bigint NOT NULL CHECK (client_pence >= 0),
    reason          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT split_sums CHECK (nhs_pence + council_pence + client_pence = amount_pence)
);

CREATE TABLE payment.repayments (
    repayment_id    uuid PRIMARY KEY,
    budget_id       uuid NOT NULL,
    plan_line_id    uuid,
    payee_id        uuid NOT NULL REFERENCES payment.payees (payee_id),
    grounds         text NOT NULL,
    reasons         text[] NOT NULL DEFAULT '{}',
    amount_pence    bigint NOT NULL CHECK (amount_pence > 0),
    nhs_pence       bigint NOT NULL CHECK (nhs_pence >= 0),
    council_pence   bigint NOT NULL CHECK (council_pence >= 0),
    client_pence    bigint NOT NULL CHECK (client_pence >= 0),
    received_pence  bigint NOT NULL DEFAULT 0 CHECK (received_pence >= 0),
    received_nhs_pence      bigint NOT NULL DEFAULT 0 CHECK (received_nhs_pence >= 0),
    received_council_pence  bigint NOT NULL DEFAULT 0 CHECK (received_council_pence >= 0),
    received_client_pence   bigint NOT NULL DEFAULT 0 CHECK (received_client_pence >= 0),
    written_off_pence bigint NOT NULL DEFAULT 0 CHECK (written_off_pence >= 0),
    due_date        date NOT NULL,
    repayer         text NOT NULL,
    state           text NOT NULL CHECK (state IN ('OPEN', 'REPAID', 'WRITTEN_OFF')),
    write_off_reason text,
    approver        text,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT split_sums CHECK (nhs_pence + council_pence + client_pence = amount_pence),
    CONSTRAINT received_split_sums CHECK (
        received_nhs_pence + received_council_pence + received_client_pence = received_pence),
    CONSTRAINT settled_within_amount CHECK (received_pence + written_off_pence <= amount_pence)
);
CREATE INDEX repayments_budget ON payment.repayments (budget_id);
