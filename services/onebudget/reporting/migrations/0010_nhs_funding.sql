-- Issue 13: the PHB target is a floor. A budget's NHS money may come from its cohort's
-- ring-fence, the general ring-fence and the commissioner's general allocation; allocation's
-- budget events say which (NhsFunding). One row per source per budget event (keyed by the
-- budget's version, like reporting.commitments): pence positive into the budget, negative back.
-- account_id and cohort are null for an event that named no source (before issue 13): that
-- money came from the budget's own ring-fence.
CREATE TABLE reporting.nhs_funding (
    budget_id       uuid     NOT NULL,
    budget_version  bigint   NOT NULL,
    position        smallint NOT NULL CHECK (position >= 0),
    on_date         date     NOT NULL,
    account_id      uuid,
    ring_fence      boolean  NOT NULL,
    cohort          text,
    pence           bigint   NOT NULL,
    PRIMARY KEY (budget_id, budget_version, position),
    CHECK (ring_fence OR cohort IS NULL OR cohort = '')
);
