"""The tables every service schema has, written once: outbox, idempotency and applied events.

- `outbox`: events written in the same transaction as the state change they describe, append-only
  (never updated). Each row carries its transaction's id (`xid`, xid8); the relay publishes rows
  in (xid, seq) order once their transaction is older than every running one, and records its
  progress once a batch in `outbox_mark` (ADR 21). Rows at or below the mark are kept (audit,
  re-publishing) for the outbox window of shared/retention.py, then pruned. `outbox_pending` is
  the view of the rows above the mark: the backlog every reader counts.
- `idempotency`: one row per client `request_id`, with the response, written in the same
  transaction as the effect (AIP-155): a retry returns the first answer and moves nothing twice;
  kept for the request-id window of shared/retention.py.
- `applied_events`: the event ids a consumer has applied, written in the same transaction as the
  consumer's effect, so a redelivery has no second effect.
- `audit_log` and `audit_head`: the service's audit trail (who did what, when, with what outcome;
  shared/audit.py, ADR 17), appended only through `audit_append`, hash-chained, append-only.
"""

from __future__ import annotations

import re

from onebudget.shared.db import Migration
from onebudget.shared.roles import (
    RUNTIME_ROLE,
    schema_grants,
    service_role,
    service_schema_grants,
)

_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}\Z")


def _check_schema(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"bad schema name {schema!r}")
    return schema


def outbox_channel(schema: str) -> str:
    return f"{_check_schema(schema)}_outbox"


def outbox_backlog_sql(schema: str) -> str:
    """SQL counting `schema`'s events not yet acknowledged by JetStream (the rows above the
    relay's high-water mark, ADR 21): the one backlog query of settling, the bench, chaos and
    the tests."""
    return f"SELECT count(*) FROM {_check_schema(schema)}.outbox_pending"


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
    # One caller per request_id (issue 14, shared/request_keys.py): the subject of the caller
    # who made the first request, given its answer alone; NULL for rows stored before (answered
    # as before). Kept, like the request it names, once written.
    v130 = f"""
ALTER TABLE {s}.idempotency ADD COLUMN actor text;
DROP TRIGGER idempotency_answer_kept ON {s}.idempotency;
CREATE TRIGGER idempotency_answer_kept BEFORE UPDATE ON {s}.idempotency
    FOR EACH ROW
    WHEN (OLD.response IS NOT NULL
          OR (NEW.request_id, NEW.method, NEW.request_hash, NEW.created_at, NEW.actor)
             IS DISTINCT FROM
             (OLD.request_id, OLD.method, OLD.request_hash, OLD.created_at, OLD.actor))
    EXECUTE FUNCTION {s}.refuse_answer_change();
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
        Migration(90, "0090_audit_trail.sql", _audit_trail(s)),
        Migration(130, "0130_request_id_callers.sql", v130),
        Migration(160, "0160_outbox_high_water_mark.sql", _outbox_high_water_mark(s)),
        Migration(190, "0190_audit_append_inline.sql", _audit_append_inline(s)),
    ]


def _outbox_high_water_mark(s: str) -> str:
    """The append-only outbox and the relay's high-water mark (issue 17, ADR 21).

    Each outbox row records the id of the transaction that wrote it (`xid`, the 64-bit xid8:
    no wraparound). The relay reads only rows whose transaction is older than the oldest one
    still running (`xid < pg_snapshot_xmin(pg_current_snapshot())`: every such transaction has
    ended, so no row can still appear below that bound), in (xid, seq) order after its mark,
    and moves the mark (`outbox_mark`, one row) once per acknowledged batch. A sequence value is
    taken before commit, so a mark on `seq` alone would step over a row whose transaction
    commits late; a transaction id below the snapshot's xmin cannot. A long-running writing
    transaction holds xmin back and so delays publication (of every schema), never skips.

    Rows written before this migration get xid 0 (older than any transaction) and the mark
    starts just below the first row never sent, so nothing unsent is skipped; rows sent but
    above it are published again, and JetStream drops the duplicates (Nats-Msg-Id). `sent_at`
    goes: the relay no longer writes to a row it published (one row write fewer per event).
    """
    return f"""
ALTER TABLE {s}.outbox ADD COLUMN xid xid8 NOT NULL DEFAULT '0'::xid8;
ALTER TABLE {s}.outbox ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
-- The relay's read: after the mark, in (xid, seq) order.
CREATE INDEX outbox_order ON {s}.outbox (xid, seq);

-- One row: the last (xid, seq) JetStream acknowledged; moved forward only, once a batch.
CREATE TABLE {s}.outbox_mark (
    id        smallint    PRIMARY KEY CHECK (id = 1),
    xid       xid8        NOT NULL,
    seq       bigint      NOT NULL,
    moved_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO {s}.outbox_mark (id, xid, seq)
SELECT 1, '0'::xid8, coalesce((SELECT min(seq) - 1 FROM {s}.outbox WHERE sent_at IS NULL),
                              (SELECT max(seq) FROM {s}.outbox), 0);

CREATE FUNCTION {s}.outbox_mark_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR (NEW.xid, NEW.seq) < (OLD.xid, OLD.seq) THEN
        RAISE EXCEPTION 'the outbox mark only moves forward (% refused)', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER outbox_mark_forward BEFORE INSERT OR UPDATE OR DELETE ON {s}.outbox_mark
    FOR EACH ROW EXECUTE FUNCTION {s}.outbox_mark_forward();

-- Append-only: an event is never updated; only a row at or below the mark (published) may be
-- deleted (retention).
CREATE OR REPLACE FUNCTION {s}.outbox_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM {s}.outbox_mark m
                       WHERE (OLD.xid, OLD.seq) <= (m.xid, m.seq)) THEN
            RAISE EXCEPTION 'unsent outbox rows (above the relay''s mark) are not deleted'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'outbox events are immutable: the outbox is append-only'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

ALTER TABLE {s}.outbox DROP COLUMN sent_at;

-- The backlog: rows committed (or in flight) above the mark, not yet acknowledged.
CREATE VIEW {s}.outbox_pending AS
SELECT o.seq, o.xid, o.event_id, o.subject, o.created_at
FROM {s}.outbox o, {s}.outbox_mark m
WHERE (o.xid, o.seq) > (m.xid, m.seq);
"""


def _audit_field_sql(value: str) -> str:
    """`audit_field(value)` spelled out: the text's UTF-8 length as 4 bytes, then its bytes."""
    return f"(int4send(octet_length(convert_to({value}, 'UTF8'))) || convert_to({value}, 'UTF8'))"


def _audit_append_inline(s: str) -> str:
    """`audit_append` with each record's content built in the statement itself (issue 17).

    The function of migration 0090 hashed `audit_content(...)` per record: a SQL function with
    a sub-query, so never inlined, and run by the SQL-function executor once per record (about
    200 µs a record on this machine: a payment batch of 500 spent 100 ms of PostgreSQL's time
    in it, as much as its ledger writes). The same bytes are now built in the one query that
    digests the batch (the organisations from a lateral unnest, each field length-prefixed as
    `audit_field` does), so the chain, the hashes and `audit verify` are unchanged;
    `audit_content` stays as the reference definition (tests compare the two)."""
    f = _audit_field_sql
    return f"""
CREATE OR REPLACE FUNCTION {s}.audit_append(
    subjects text[], roles text[], organisations text[], client_ids text[], methods text[],
    request_ids text[], resources text[], outcomes text[], reasons text[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n integer := coalesce(cardinality(methods), 0);
    now_at timestamptz := clock_timestamp();
    base bigint;
    h bytea;
    digests bytea[];
    prevs bytea[] := '{{}}';
    hashes bytea[] := '{{}}';
BEGIN
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    SELECT last_seq, last_hash INTO base, h FROM {s}.audit_head WHERE id = 1 FOR UPDATE;
    -- What audit_content(now_at, ...) gives for each record, spelled out (see above).
    SELECT array_agg(sha256(
               int8send((extract(epoch FROM now_at) * 1000000)::bigint)
               || {f("u.subject")} || {f("u.role")} || int4send(cardinality(o.list))
               || coalesce((SELECT string_agg({f("x.o")}, ''::bytea ORDER BY x.j)
                            FROM unnest(o.list) WITH ORDINALITY AS x(o, j)), ''::bytea)
               || {f("u.client_id")} || {f("u.method")} || {f("u.request_id")}
               || {f("u.resource")} || {f("u.outcome")} || {f("u.reason")}) ORDER BY u.k)
      INTO digests
      FROM unnest(subjects, roles, organisations, client_ids, methods, request_ids, resources,
                  outcomes, reasons)
           WITH ORDINALITY AS u(subject, role, orgs, client_id, method, request_id, resource,
                                outcome, reason, k)
      CROSS JOIN LATERAL (SELECT coalesce(string_to_array(nullif(u.orgs, ''), ','),
                                          '{{}}'::text[]) AS list) o;
    FOR i IN 1..n LOOP
        prevs[i] := h;
        h := sha256(h || int8send(base + i) || digests[i]);
        hashes[i] := h;
    END LOOP;
    INSERT INTO {s}.audit_log (seq, at, subject, role, organisations, client_id, method,
                               request_id, resource, outcome, reason, prev_hash, hash)
    SELECT base + u.k, now_at, u.subject, u.role,
           coalesce(string_to_array(nullif(u.orgs, ''), ','), '{{}}'::text[]), u.client_id,
           u.method, u.request_id, u.resource, u.outcome, u.reason, prevs[u.k], hashes[u.k]
      FROM unnest(subjects, roles, organisations, client_ids, methods, request_ids, resources,
                  outcomes, reasons)
           WITH ORDINALITY AS u(subject, role, orgs, client_id, method, request_id, resource,
                                outcome, reason, k);
    UPDATE {s}.audit_head SET last_seq = base + n, last_hash = h WHERE id = 1;
    RETURN base + n;
END $$;
"""


def _audit_trail(s: str) -> str:
    """The audit trail of one service schema (ADR 17; shared/audit.py is the Python side).

    One row per mutating call: who (subject, role, organisations, client), what (method,
    request_id, resource), when (the database's clock at the append) and the outcome ("OK", or
    the refusal's status code and reason). `seq` is the record's position in the chain (1, 2,
    ...: no gaps, assigned under the head's row lock); `hash` = SHA-256(prev_hash || seq as 8
    bytes || SHA-256(content)), content as `audit_content` encodes it (length-prefixed UTF-8,
    so no field can run into the next). The run-time role may read and append, never update,
    delete or truncate (no grant, and the triggers refuse even the owner)."""
    genesis = "'\\x" + "00" * 32 + "'"
    return f"""
CREATE TABLE {s}.audit_log (
    seq            bigint      PRIMARY KEY,
    at             timestamptz NOT NULL,
    subject        text        NOT NULL,
    role           text        NOT NULL,
    organisations  text[]      NOT NULL,
    client_id      text        NOT NULL,
    method         text        NOT NULL,
    request_id     text        NOT NULL,
    resource       text        NOT NULL,
    outcome        text        NOT NULL,
    reason         text        NOT NULL,
    prev_hash      bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash           bytea       NOT NULL CHECK (octet_length(hash) = 32)
);
-- Auditors page by time, actor and resource (ListAuditRecords); rows arrive in time order.
CREATE INDEX audit_log_at ON {s}.audit_log USING brin (at);
CREATE INDEX audit_log_subject ON {s}.audit_log (subject, seq);
CREATE INDEX audit_log_resource ON {s}.audit_log (resource, seq);

-- The chain head: every append locks it first (one writer at a time per schema, a fixed order).
-- `trail_id` names this trail among others on one bus (its anchors' subject), made once.
CREATE TABLE {s}.audit_head (
    id         smallint PRIMARY KEY CHECK (id = 1),
    last_seq   bigint   NOT NULL,
    last_hash  bytea    NOT NULL,
    trail_id   uuid     NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO {s}.audit_head (id, last_seq, last_hash) VALUES (1, 0, {genesis});

CREATE FUNCTION {s}.audit_field(value text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS
$$ SELECT int4send(octet_length(convert_to(value, 'UTF8'))) || convert_to(value, 'UTF8') $$;

-- What a record's hash covers besides its position and predecessor (shared/audit.content).
CREATE FUNCTION {s}.audit_content(
    at timestamptz, subject text, role text, organisations text[], client_id text,
    method text, request_id text, resource text, outcome text, reason text
) RETURNS bytea LANGUAGE sql STABLE STRICT AS $$
SELECT int8send((extract(epoch FROM at) * 1000000)::bigint)
    || {s}.audit_field(subject) || {s}.audit_field(role)
    || int4send(cardinality(organisations))
    || coalesce((SELECT string_agg({s}.audit_field(o), ''::bytea ORDER BY k)
                 FROM unnest(organisations) WITH ORDINALITY AS u(o, k)), ''::bytea)
    || {s}.audit_field(client_id) || {s}.audit_field(method) || {s}.audit_field(request_id)
    || {s}.audit_field(resource) || {s}.audit_field(outcome) || {s}.audit_field(reason)
$$;

-- Append records (one per call; a payment batch's in one call), chained to the head, at one
-- instant. `organisations` are each record's codes joined by ',' (ODS and GSS codes have none).
-- Returns the last position written. Call it last in the transaction: it holds the head's row
-- lock until the commit, so every other lock is taken before it (ledger head, then audit head).
CREATE FUNCTION {s}.audit_append(
    subjects text[], roles text[], organisations text[], client_ids text[], methods text[],
    request_ids text[], resources text[], outcomes text[], reasons text[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n integer := coalesce(cardinality(methods), 0);
    now_at timestamptz := clock_timestamp();
    base bigint;
    h bytea;
    digests bytea[];
    prevs bytea[] := '{{}}';
    hashes bytea[] := '{{}}';
BEGIN
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    SELECT last_seq, last_hash INTO base, h FROM {s}.audit_head WHERE id = 1 FOR UPDATE;
    SELECT array_agg(sha256({s}.audit_content(now_at, u.subject, u.role,
               coalesce(string_to_array(nullif(u.orgs, ''), ','), '{{}}'::text[]), u.client_id,
               u.method, u.request_id, u.resource, u.outcome, u.reason)) ORDER BY u.k)
      INTO digests
      FROM unnest(subjects, roles, organisations, client_ids, methods, request_ids, resources,
                  outcomes, reasons)
           WITH ORDINALITY AS u(subject, role, orgs, client_id, method, request_id, resource,
                                outcome, reason, k);
    FOR i IN 1..n LOOP
        prevs[i] := h;
        h := sha256(h || int8send(base + i) || digests[i]);
        hashes[i] := h;
    END LOOP;
    INSERT INTO {s}.audit_log (seq, at, subject, role, organisations, client_id, method,
                               request_id, resource, outcome, reason, prev_hash, hash)
    SELECT base + u.k, now_at, u.subject, u.role,
           coalesce(string_to_array(nullif(u.orgs, ''), ','), '{{}}'::text[]), u.client_id,
           u.method, u.request_id, u.resource, u.outcome, u.reason, prevs[u.k], hashes[u.k]
      FROM unnest(subjects, roles, organisations, client_ids, methods, request_ids, resources,
                  outcomes, reasons)
           WITH ORDINALITY AS u(subject, role, orgs, client_id, method, request_id, resource,
                                outcome, reason, k);
    UPDATE {s}.audit_head SET last_seq = base + n, last_hash = h WHERE id = 1;
    RETURN base + n;
END $$;

-- Append-only: no record is changed, deleted or truncated, by anyone (the owner included, while
-- the triggers are on); the head only moves forward.
CREATE FUNCTION {s}.audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON {s}.audit_log
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON {s}.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.audit_refuse();
CREATE TRIGGER audit_head_kept BEFORE INSERT OR DELETE ON {s}.audit_head
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_refuse();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON {s}.audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.audit_refuse();
CREATE TRIGGER audit_head_forward BEFORE UPDATE ON {s}.audit_head
    FOR EACH ROW WHEN (NEW.last_seq < OLD.last_seq OR NEW.id <> OLD.id
                       OR NEW.trail_id <> OLD.trail_id)
    EXECUTE FUNCTION {s}.audit_refuse();

-- The run-time roles read and append; the default privileges of migrations 50 (ADR 13's shared
-- role) and 80 (the service's own role, ADR 16) gave them more.
REVOKE UPDATE, DELETE, TRUNCATE ON {s}.audit_log FROM {RUNTIME_ROLE}, {service_role(s)};
REVOKE INSERT, DELETE, TRUNCATE ON {s}.audit_head FROM {RUNTIME_ROLE}, {service_role(s)};
"""
