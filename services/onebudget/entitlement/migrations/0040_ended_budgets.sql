-- Budgets that have ended (allocation's BudgetEnded, issue 13 items 13-14): nothing of an ended
-- budget is reviewed any more, neither its care plan nor its direct payments. Kept apart from
-- review_subjects so an end that arrives before the agreement it ends still counts.
CREATE TABLE entitlement.ended_budgets (
    budget_id   text PRIMARY KEY CHECK (length(budget_id) BETWEEN 1 AND 100),
    ended_on    date NOT NULL
);
