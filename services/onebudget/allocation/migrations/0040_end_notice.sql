-- The notice of a requested end (issue 13, item 13): ending a budget is the deepest cut, and a
-- cut needs written notice and reasons (SI 2013/1617 reg 13). Ends before this (and ends on a
-- death or withdrawn consent) have none.
ALTER TABLE allocation.budgets
    ADD COLUMN end_reasons      text[] NOT NULL DEFAULT '{}',
    ADD COLUMN end_notice_date  date;
