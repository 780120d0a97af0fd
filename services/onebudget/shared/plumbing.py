"""The tables every service schema has, written once: outbox, idempotency and applied events.

- `outbox`: events written in the same transaction as the state change they describe; the relay
  publishes them in `seq` order and stamps `sent_at`. Rows are kept after sending (audit,
  re-publishing) for the outbox window of shared/retention.py, then pruned.
- `idempotency`: one row per client `request_id`, with the response, written in the same
  transaction as the effect (AIP-155): a retry returns the first answer and moves nothing twice;
  kept for the request-id window of shared/retention.py.
- `applied_events`: the event ids a consumer has applied, written in the same transaction as the
  consumer's effect, so a redelivery has no second effect.
"""

from __future__ import annotations

import re

from onebudget.shared.db import Migration
from onebudget.shared.roles import schema_grants, service_schema_grants

_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}\Z")


def _check_schema(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"bad schema name {schema!r}")
    return schema


def outbox_channel(schema: str) -> str:
    return f"{_check_schema(schema)}_outbox"


def plumbing_migrations(schema: str) -> list[Migration]:
    s = _check_schema(schema)
    v1 = f"""
CREATE SCHEMA IF NOT EXISTS {s};

CREATE TABLE {s}.outbox (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    subject     text        NOT NULL,
    envelope    bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at     timestamptz
);
-- The relay reads only unsent rows, oldest first.
CREATE INDEX outbox_unsent ON {s}.outbox (seq) WHERE sent_at IS NULL;

-- Wake the relay at commit (NOTIFY is delivered only if the transaction commits).
CREATE FUNCTION {s}.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{outbox_channel(s)}', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON {s}.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.outbox_notify();

-- An event is a fact: once written, only its sent_at stamp may change.
CREATE FUNCTION {s}.outbox_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'outbox rows are not deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.event_id <> OLD.event_id OR NEW.subject <> OLD.subject
       OR NEW.envelope <> OLD.envelope OR NEW.seq <> OLD.seq THEN
        RAISE EXCEPTION 'outbox events are immutable'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER outbox_guard BEFORE UPDATE OR DELETE ON {s}.outbox
    FOR EACH ROW EXECUTE FUNCTION {s}.outbox_guard();

CREATE TABLE {s}.idempotency (
    request_id    text        PRIMARY KEY,
    method        text        NOT NULL,
    request_hash  bytea       NOT NULL,
    response      bytea,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {s}.applied_events (
    consumer    text        NOT NULL,
    event_id    uuid        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
"""
    # Request ids in one spelling (shared/request_keys.py): rows stored before the rule in
    # another accepted spelling (upper case, no hyphens, braces, urn:uuid:) move to the
    # lower-case hyphenated one, so their retries, canonicalised, find them. Where spellings of
    # one UUID already took several rows (the fault this rule ends), the canonically spelled or
    # else the oldest keeps the id; the others' retries are then refused REQUEST_ID_REUSED
    # (their digest is not the keeper's), which moves nothing.
    v2 = f"""
WITH spelled AS (
    SELECT request_id, created_at,
           lower(regexp_replace(request_id, '^(urn:uuid:)?[{{]?|[}}]?$|-', '', 'gi')) AS hex
    FROM {s}.idempotency
), canon AS (
    SELECT request_id, created_at,
           substr(hex, 1, 8) || '-' || substr(hex, 9, 4) || '-' || substr(hex, 13, 4) || '-'
           || substr(hex, 17, 4) || '-' || substr(hex, 21, 12) AS canonical
    FROM spelled WHERE hex ~ '^[0-9a-f]{{32}}$'
), ranked AS (
    SELECT request_id, canonical,
           row_number() OVER (PARTITION BY canonical
                              ORDER BY request_id = canonical DESC, created_at, request_id) AS n
    FROM canon
), dropped AS (
    DELETE FROM {s}.idempotency i USING ranked r
    WHERE i.request_id = r.request_id AND r.n > 1
)
UPDATE {s}.idempotency i SET request_id = r.canonical FROM ranked r
WHERE i.request_id = r.request_id AND r.n = 1 AND r.request_id <> r.canonical;
"""
    # A stored answer is what every retry of its request gets back: once written, it and the
    # request it answers (id, method, digest) never change, so nobody can make a retry return a
    # forged answer (ADR 13). A row is still deleted when its command is refused (no answer yet)
    # and when retention forgets an old request_id: forgetting replays nothing.
    v51 = f"""
CREATE FUNCTION {s}.refuse_answer_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'request %: a stored answer is never changed', OLD.request_id
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER idempotency_answer_kept BEFORE UPDATE ON {s}.idempotency
    FOR EACH ROW
    WHEN (OLD.response IS NOT NULL
          OR (NEW.request_id, NEW.method, NEW.request_hash, NEW.created_at)
             IS DISTINCT FROM (OLD.request_id, OLD.method, OLD.request_hash, OLD.created_at))
    EXECUTE FUNCTION {s}.refuse_answer_change();
"""
    # Retention (shared/retention.py): an outbox row may be deleted once it was sent (never
    # before: an unsent event would be lost), still never changed; block-range indexes on the
    # creation times (rows arrive in time order, so a BRIN index is a few pages and costs the
    # hot path nearly nothing) let the pruner find old rows without reading the whole table.
    v60 = f"""
CREATE OR REPLACE FUNCTION {s}.outbox_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.sent_at IS NULL THEN
            RAISE EXCEPTION 'unsent outbox rows are not deleted'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.event_id <> OLD.event_id OR NEW.subject <> OLD.subject
       OR NEW.envelope <> OLD.envelope OR NEW.seq <> OLD.seq THEN
        RAISE EXCEPTION 'outbox events are immutable'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE INDEX outbox_created ON {s}.outbox USING brin (created_at);
CREATE INDEX idempotency_created ON {s}.idempotency USING brin (created_at);
"""
    return [
        Migration(1, "0001_plumbing.sql", v1),
        Migration(2, "0002_canonical_request_ids.sql", v2),
        # The service serves as the run-time role (shared/roles.py): its own rows, all of them.
        Migration(50, "0050_runtime_grants.sql", schema_grants(s)),
        Migration(51, "0051_answers_kept.sql", v51),
        Migration(60, "0060_retention.sql", v60),
        # One role per service (ADR 16): the schema's rows are its own service's role's only.
        Migration(80, "0080_service_role_grants.sql", service_schema_grants(s)),
    ]
