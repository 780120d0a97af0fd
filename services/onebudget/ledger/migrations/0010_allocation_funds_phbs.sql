-- Issue 13: the PHB target is a floor, not a ceiling. A budget's NHS money comes first from its
-- cohort's ring-fence, then the general ring-fence, then the commissioner's general allocation;
-- so the general NHS allocation funds budgets directly (and takes back what it funded, on a cut
-- or an end). Same colour both ways. Mirrors ledger.domain.FUNDING_ROUTES.
INSERT INTO ledger.funding_routes VALUES
    ('allocation', 'NHS', 'budget', 'NHS'),
    ('budget', 'NHS', 'allocation', 'NHS');
