-- People, eligibility decisions, commissioner policies, PHB requests and reviews.
-- The database states the invariants again (style.md, 3): the service checks them first and
-- answers with a typed error; these constraints catch a bug that slips past.

CREATE DOMAIN entitlement.category AS text CHECK (VALUE IN (
    'CHC', 'CHILDRENS_CC', 'S117', 'WHEELCHAIR', 'JOINT_PACKAGE', 'LONG_TERM_CONDITION',
    'MENTAL_HEALTH', 'LOCAL_OFFER'));
CREATE DOMAIN entitlement.ods_code AS text CHECK (VALUE ~ '^([A-Z0-9]{3}|[A-Z0-9]{5})$');
CREATE DOMAIN entitlement.gss_council_code AS text CHECK (VALUE ~ '^E(06|08|09|10)[0-9]{6}$');
CREATE DOMAIN entitlement.reasons AS text[]
    CHECK (cardinality(VALUE) <= 20 AND array_position(VALUE, NULL) IS NULL);

CREATE TABLE entitlement.people (
    person_id             uuid        PRIMARY KEY,
    nhs_number            text        NOT NULL UNIQUE CHECK (nhs_number ~ '^[0-9]{10}$'),
    given_name            text        NOT NULL CHECK (length(given_name) BETWEEN 1 AND 200),
    family_name           text        NOT NULL CHECK (length(family_name) BETWEEN 1 AND 200),
    date_of_birth         date        NOT NULL,
    commissioner_ods_code entitlement.ods_code NOT NULL,
    council_gss_code      entitlement.gss_council_code NOT NULL,
    state                 text        NOT NULL DEFAULT 'ACTIVE'
        CHECK (state IN ('ACTIVE', 'CONSENT_WITHDRAWN', 'DECEASED')),
    died_on               date        CHECK (died_on >= date_of_birth),
    consent_withdrawn_on  date,
    version               bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'DECEASED') = (died_on IS NOT NULL)),
    CHECK (state <> 'CONSENT_WITHDRAWN' OR consent_withdrawn_on IS NOT NULL)
);
CREATE INDEX people_by_commissioner ON entitlement.people (commissioner_ods_code, person_id);
CREATE INDEX people_by_council ON entitlement.people (council_gss_code, person_id);

-- Why each correction was made (the values live in people; events carry only field names).
CREATE TABLE entitlement.person_corrections (
    correction_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id      uuid        NOT NULL REFERENCES entitlement.people,
    changed_fields text[]      NOT NULL CHECK (cardinality(changed_fields) >= 1),
    reason         text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    request_id     text        NOT NULL,
    corrected_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE entitlement.eligibility_decisions (
    decision_id      uuid        PRIMARY KEY,
    seq              bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    person_id        uuid        NOT NULL REFERENCES entitlement.people,
    category         entitlement.category NOT NULL,
    outcome          text        NOT NULL CHECK (outcome IN ('GRANTED', 'REFUSED')),
    reasons          entitlement.reasons NOT NULL DEFAULT '{}',
    decided_on       date        NOT NULL,
    deciding_body    text        NOT NULL CHECK (length(deciding_body) BETWEEN 1 AND 200),
    age_on_decision  integer     NOT NULL CHECK (age_on_decision >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (outcome = 'GRANTED' OR cardinality(reasons) >= 1),
    CHECK (category <> 'CHC' OR age_on_decision >= 18),
    CHECK (category <> 'CHILDRENS_CC' OR age_on_decision < 18)
);
CREATE INDEX eligibility_by_person ON entitlement.eligibility_decisions (person_id, seq);

-- Categories a commissioner adds to the statutory right to have (absent row: none added).
CREATE TABLE entitlement.commissioner_policies (
    commissioner_ods_code entitlement.ods_code PRIMARY KEY,
    extended_categories   text[]      NOT NULL CHECK (extended_categories <@ ARRAY[
        'CHC', 'CHILDRENS_CC', 'S117', 'WHEELCHAIR', 'JOINT_PACKAGE', 'LONG_TERM_CONDITION',
        'MENTAL_HEALTH', 'LOCAL_OFFER']::text[]),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE entitlement.phb_requests (
    phb_request_id               uuid        PRIMARY KEY,
    person_id                    uuid        NOT NULL REFERENCES entitlement.people,
    category                     entitlement.category NOT NULL,
    requested_on                 date        NOT NULL,
    right_to_have                boolean     NOT NULL,
    state                        text        NOT NULL
        CHECK (state IN ('GRANTED', 'REFUSED', 'RECONSIDERATION_REQUESTED')),
    reasons                      entitlement.reasons NOT NULL,
    decided_on                   date        NOT NULL CHECK (decided_on >= requested_on),
    reconsideration_requested_on date,
    reconsideration_grounds      entitlement.reasons NOT NULL DEFAULT '{}',
    reconsidered                 boolean     NOT NULL DEFAULT false,
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now(),
    -- A refusal always has reasons; so does any decision where no right applies.
    CHECK (state = 'GRANTED' OR cardinality(reasons) >= 1),
    CHECK (right_to_have OR cardinality(reasons) >= 1),
    CHECK (state <> 'RECONSIDERATION_REQUESTED' OR reconsideration_requested_on IS NOT NULL),
    CHECK (NOT reconsidered OR reconsideration_requested_on IS NOT NULL)
);
CREATE INDEX phb_requests_by_person ON entitlement.phb_requests (person_id);

-- What is reviewed: a direct payment (subject = schedule id) or a care plan (subject = budget
-- id), learned from other services' events. due_on is computed by the domain and stored so that
-- "reviews due" is one indexed range scan.
CREATE TABLE entitlement.review_subjects (
    kind              text    NOT NULL CHECK (kind IN ('DIRECT_PAYMENT', 'CARE_PLAN')),
    subject_id        text    NOT NULL CHECK (length(subject_id) BETWEEN 1 AND 100),
    person_id         uuid    NOT NULL,
    budget_id         text    NOT NULL,
    nhs_funded        boolean NOT NULL,
    started_on        date    NOT NULL,
    last_completed_on date    CHECK (last_completed_on >= started_on),
    window_opens_on   date    NOT NULL CHECK (window_opens_on >= started_on),
    due_on            date    NOT NULL CHECK (due_on > started_on),
    -- The rules' outer limits (3 or 6 months, 8 weeks, 12 months), stated again.
    CHECK (due_on <= coalesce(last_completed_on + interval '12 months',
        started_on + CASE kind WHEN 'CARE_PLAN' THEN interval '8 weeks'
                     ELSE CASE WHEN nhs_funded THEN interval '3 months'
                               ELSE interval '6 months' END END)),
    PRIMARY KEY (kind, subject_id)
);
CREATE INDEX review_subjects_due ON entitlement.review_subjects (due_on, kind, subject_id);

CREATE TABLE entitlement.reviews_completed (
    review_id    uuid        PRIMARY KEY,
    kind         text        NOT NULL,
    subject_id   text        NOT NULL,
    completed_on date        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (kind, subject_id) REFERENCES entitlement.review_subjects
);
CREATE INDEX reviews_completed_by_subject ON entitlement.reviews_completed (kind, subject_id);
