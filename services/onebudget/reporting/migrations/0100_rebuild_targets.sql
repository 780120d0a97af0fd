-- What a RebuildReadModel replays (issue 16): per stream, its first and last sequence when the
-- rebuild began. While rows are here the reports answer UNAVAILABLE READ_MODEL_REBUILDING with
-- the progress; they are deleted once every consumer has passed its target
-- (domain/rebuilding.py).
CREATE TABLE reporting.rebuild_targets (
    stream      text PRIMARY KEY,
    first_seq   bigint NOT NULL CHECK (first_seq >= 0),
    target_seq  bigint NOT NULL CHECK (target_seq >= 0),
    started_at  timestamptz NOT NULL DEFAULT now()
);
