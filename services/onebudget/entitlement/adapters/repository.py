"""SQL of the entitlement schema. Every function runs on the caller's connection (and so in the
caller's transaction); none commits."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from onebudget.entitlement.domain import errors
from onebudget.shared.errors import AlreadyExists

Row = Any  # an asyncpg.Record
SCHEMA = "entitlement"

_PERSON_COLUMNS = (
    "person_id, nhs_number, given_name, family_name, date_of_birth, commissioner_ods_code,"
    " council_gss_code, state, died_on, consent_withdrawn_on, version, created_at, updated_at"
)


async def insert_person(conn: asyncpg.Connection, person_id: uuid.UUID, **fields: Any) -> Row:
    try:
        row: Row = await conn.fetchrow(
            "INSERT INTO entitlement.people (person_id, nhs_number, given_name, family_name,"
            " date_of_birth, commissioner_ods_code, council_gss_code)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_PERSON_COLUMNS}",
            person_id,
            fields["nhs_number"],
            fields["given_name"],
            fields["family_name"],
            fields["date_of_birth"],
            fields["commissioner_ods_code"],
            fields["council_gss_code"],
        )
    except asyncpg.UniqueViolationError:
        raise already_registered() from None
    return row


def already_registered() -> AlreadyExists:
    """ALREADY_EXISTS PERSON_ALREADY_REGISTERED: the NHS number is registered already."""
    return AlreadyExists(
        reason=errors.PERSON_ALREADY_REGISTERED,
        message="a person with this NHS number is already registered",
    )


async def person_id_by_nhs_number(conn: asyncpg.Connection, nhs_number: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT person_id FROM entitlement.people WHERE nhs_number = $1", nhs_number
    )
    return found


async def get_person(
    conn: asyncpg.Connection | asyncpg.Pool, person_id: uuid.UUID, *, for_update: bool = False
) -> Row | None:
    lock = " FOR UPDATE" if for_update else ""
    row: Row | None = await conn.fetchrow(
        f"SELECT {_PERSON_COLUMNS} FROM entitlement.people WHERE person_id = $1{lock}", person_id
    )
    return row


async def list_people(
    pool: asyncpg.Pool,
    *,
    after: uuid.UUID | None,
    limit: int,
    commissioner: str,
    council: str,
    organisations: list[str] | None = None,
) -> list[Row]:
    """People by id; `organisations` (None: any) keeps those whose commissioner or council is
    one of them (the caller's scope)."""
    rows: list[Row] = await pool.fetch(
        f"SELECT {_PERSON_COLUMNS} FROM entitlement.people"
        " WHERE ($1::uuid IS NULL OR person_id > $1)"
        " AND ($2 = '' OR commissioner_ods_code = $2) AND ($3 = '' OR council_gss_code = $3)"
        " AND ($5::text[] IS NULL OR commissioner_ods_code = ANY($5)"
        " OR council_gss_code = ANY($5))"
        " ORDER BY person_id LIMIT $4",
        after,
        commissioner,
        council,
        limit,
        organisations,
    )
    return rows


async def update_person(
    conn: asyncpg.Connection, person_id: uuid.UUID, changes: dict[str, Any]
) -> Row:
    """Set the changed columns (names come from a fixed allow-list, never from the caller)."""
    assert changes
    assert set(changes) <= _CORRECTABLE
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=2))
    try:
        row: Row = await conn.fetchrow(
            f"UPDATE entitlement.people SET {sets}, version = version + 1, updated_at = now()"
            f" WHERE person_id = $1 RETURNING {_PERSON_COLUMNS}",
            person_id,
            *changes.values(),
        )
    except asyncpg.UniqueViolationError:
        raise already_registered() from None
    return row


_CORRECTABLE = frozenset(
    {
        "nhs_number",
        "given_name",
        "family_name",
        "date_of_birth",
        "commissioner_ods_code",
        "council_gss_code",
    }
)


async def insert_correction(
    conn: asyncpg.Connection,
    person_id: uuid.UUID,
    changed_fields: Sequence[str],
    reason: str,
    request_id: str,
) -> None:
    await conn.execute(
        "INSERT INTO entitlement.person_corrections (person_id, changed_fields, reason,"
        " request_id) VALUES ($1, $2, $3, $4)",
        person_id,
        list(changed_fields),
        reason,
        request_id,
    )


async def bump_person(conn: asyncpg.Connection, person_id: uuid.UUID, **changes: Any) -> Row:
    """Raise the person's version (every event is about the person) and set state columns."""
    assert set(changes) <= {"state", "died_on", "consent_withdrawn_on"}
    sets = "".join(f", {column} = ${i}" for i, column in enumerate(changes, start=2))
    row: Row = await conn.fetchrow(
        f"UPDATE entitlement.people SET version = version + 1, updated_at = now(){sets}"
        f" WHERE person_id = $1 RETURNING {_PERSON_COLUMNS}",
        person_id,
        *changes.values(),
    )
    return row


_DECISION_COLUMNS = (
    "decision_id, seq, person_id, category, outcome, reasons, decided_on, deciding_body,"
    " age_on_decision, created_at"
)


async def insert_decision(conn: asyncpg.Connection, **fields: Any) -> Row:
    row: Row = await conn.fetchrow(
        "INSERT INTO entitlement.eligibility_decisions (decision_id, person_id, category,"
        " outcome, reasons, decided_on, deciding_body, age_on_decision)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_DECISION_COLUMNS}",
        fields["decision_id"],
        fields["person_id"],
        fields["category"],
        fields["outcome"],
        list(fields["reasons"]),
        fields["decided_on"],
        fields["deciding_body"],
        fields["age_on_decision"],
    )
    return row


async def list_decisions(
    conn: asyncpg.Connection | asyncpg.Pool,
    person_id: uuid.UUID,
    *,
    before_seq: int | None = None,
    limit: int | None = None,
) -> list[Row]:
    """Newest first (by recording order)."""
    rows: list[Row] = await conn.fetch(
        f"SELECT {_DECISION_COLUMNS} FROM entitlement.eligibility_decisions"
        " WHERE person_id = $1 AND ($2::bigint IS NULL OR seq < $2)"
        " ORDER BY seq DESC LIMIT $3",
        person_id,
        before_seq,
        limit,
    )
    return rows


async def get_extended_categories(
    conn: asyncpg.Connection | asyncpg.Pool, commissioner: str
) -> Row | None:
    row: Row | None = await conn.fetchrow(
        "SELECT commissioner_ods_code, extended_categories, updated_at"
        " FROM entitlement.commissioner_policies WHERE commissioner_ods_code = $1",
        commissioner,
    )
    return row


async def upsert_policy(conn: asyncpg.Connection, commissioner: str, extended: list[str]) -> Row:
    row: Row = await conn.fetchrow(
        "INSERT INTO entitlement.commissioner_policies (commissioner_ods_code,"
        " extended_categories) VALUES ($1, $2) ON CONFLICT (commissioner_ods_code)"
        " DO UPDATE SET extended_categories = EXCLUDED.extended_categories, updated_at = now()"
        " RETURNING commissioner_ods_code, extended_categories, updated_at",
        commissioner,
        extended,
    )
    return row


_PHB_COLUMNS = (
    "phb_request_id, person_id, category, requested_on, right_to_have, state, reasons,"
    " decided_on, reconsideration_requested_on, reconsideration_grounds, reconsidered,"
    " created_at, updated_at"
)


async def insert_phb_request(conn: asyncpg.Connection, **fields: Any) -> Row:
    row: Row = await conn.fetchrow(
        "INSERT INTO entitlement.phb_requests (phb_request_id, person_id, category,"
        " requested_on, right_to_have, state, reasons, decided_on)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_PHB_COLUMNS}",
        fields["phb_request_id"],
        fields["person_id"],
        fields["category"],
        fields["requested_on"],
        fields["right_to_have"],
        fields["state"],
        list(fields["reasons"]),
        fields["decided_on"],
    )
    return row


async def get_phb_request(
    conn: asyncpg.Connection, phb_request_id: uuid.UUID, *, for_update: bool = False
) -> Row | None:
    lock = " FOR UPDATE" if for_update else ""
    row: Row | None = await conn.fetchrow(
        f"SELECT {_PHB_COLUMNS} FROM entitlement.phb_requests WHERE phb_request_id = $1{lock}",
        phb_request_id,
    )
    return row


async def mark_reconsideration_requested(
    conn: asyncpg.Connection, phb_request_id: uuid.UUID, on: date, grounds: Sequence[str]
) -> Row:
    row: Row = await conn.fetchrow(
        "UPDATE entitlement.phb_requests SET state = 'RECONSIDERATION_REQUESTED',"
        " reconsideration_requested_on = $2, reconsideration_grounds = $3, updated_at = now()"
        f" WHERE phb_request_id = $1 RETURNING {_PHB_COLUMNS}",
        phb_request_id,
        on,
        list(grounds),
    )
    return row


async def record_reconsideration(
    conn: asyncpg.Connection,
    phb_request_id: uuid.UUID,
    state: str,
    reasons: Sequence[str],
    decided_on: date,
) -> Row:
    row: Row = await conn.fetchrow(
        "UPDATE entitlement.phb_requests SET state = $2, reasons = $3, decided_on = $4,"
        " reconsidered = true, updated_at = now()"
        f" WHERE phb_request_id = $1 RETURNING {_PHB_COLUMNS}",
        phb_request_id,
        state,
        list(reasons),
        decided_on,
    )
    return row


_REVIEW_COLUMNS = (
    "s.kind, s.subject_id, s.person_id, s.budget_id, s.nhs_funded, s.started_on,"
    " s.last_completed_on, s.window_opens_on, s.due_on, p.commissioner_ods_code,"
    " p.council_gss_code"
)


async def insert_review_subject(
    conn: asyncpg.Connection, *, once_per_budget: bool = False, **fields: Any
) -> bool:
    """First start wins: a second event for the same subject changes nothing; with
    `once_per_budget`, neither does one for a budget that already has a subject of this kind."""
    unless = (
        " WHERE NOT EXISTS (SELECT 1 FROM entitlement.review_subjects"
        " WHERE kind = $1 AND budget_id = $4)"
        if once_per_budget
        else ""
    )
    inserted: bool | None = await conn.fetchval(
        "INSERT INTO entitlement.review_subjects (kind, subject_id, person_id, budget_id,"
        " nhs_funded, started_on, window_opens_on, due_on)"
        " SELECT $1, $2, $3::uuid, $4, $5, $6::date, $7::date, $8::date"
        f"{unless} ON CONFLICT DO NOTHING RETURNING true",
        fields["kind"],
        fields["subject_id"],
        fields["person_id"],
        fields["budget_id"],
        fields["nhs_funded"],
        fields["started_on"],
        fields["window_opens_on"],
        fields["due_on"],
    )
    return bool(inserted)


async def get_review_subject(
    conn: asyncpg.Connection, kind: str, subject_id: str, *, for_update: bool = False
) -> Row | None:
    lock = " FOR UPDATE OF s" if for_update else ""
    row: Row | None = await conn.fetchrow(
        f"SELECT {_REVIEW_COLUMNS} FROM entitlement.review_subjects s"
        " LEFT JOIN entitlement.people p USING (person_id)"
        f" WHERE s.kind = $1 AND s.subject_id = $2{lock}",
        kind,
        subject_id,
    )
    return row


async def completed_review_dates(
    conn: asyncpg.Connection, kind: str, subject_id: str
) -> list[date]:
    rows = await conn.fetch(
        "SELECT completed_on FROM entitlement.reviews_completed"
        " WHERE kind = $1 AND subject_id = $2",
        kind,
        subject_id,
    )
    return [r["completed_on"] for r in rows]


async def insert_completed_review(
    conn: asyncpg.Connection, review_id: uuid.UUID, kind: str, subject_id: str, on: date
) -> None:
    await conn.execute(
        "INSERT INTO entitlement.reviews_completed (review_id, kind, subject_id, completed_on)"
        " VALUES ($1, $2, $3, $4)",
        review_id,
        kind,
        subject_id,
        on,
    )


async def set_review_schedule(
    conn: asyncpg.Connection,
    kind: str,
    subject_id: str,
    *,
    last_completed_on: date | None,
    window_opens_on: date,
    due_on: date,
) -> None:
    await conn.execute(
        "UPDATE entitlement.review_subjects SET last_completed_on = $3, window_opens_on = $4,"
        " due_on = $5 WHERE kind = $1 AND subject_id = $2",
        kind,
        subject_id,
        last_completed_on,
        window_opens_on,
        due_on,
    )


async def list_reviews_due(
    pool: asyncpg.Pool,
    *,
    commissioner: str,
    due_from: date,
    due_to: date,
    after: tuple[date, str, str] | None,
    limit: int,
) -> list[Row]:
    """Reviews of active people (not deceased, consent not withdrawn) whose budget has not
    ended (domain/reviews.py: review_is_due), earliest due first."""
    after_due, after_kind, after_subject = after if after else (None, "", "")
    rows: list[Row] = await pool.fetch(
        f"SELECT {_REVIEW_COLUMNS} FROM entitlement.review_subjects s"
        " JOIN entitlement.people p USING (person_id)"
        " WHERE p.commissioner_ods_code = $1 AND p.state = 'ACTIVE'"
        " AND NOT EXISTS (SELECT 1 FROM entitlement.ended_budgets e"
        " WHERE e.budget_id = s.budget_id)"
        " AND s.due_on BETWEEN $2 AND $3"
        " AND ($4::date IS NULL OR (s.due_on, s.kind, s.subject_id) > ($4, $5, $6))"
        " ORDER BY s.due_on, s.kind, s.subject_id LIMIT $7",
        commissioner,
        due_from,
        due_to,
        after_due,
        after_kind,
        after_subject,
        limit,
    )
    return rows


async def end_budget_reviews(conn: asyncpg.Connection, budget_id: str, ended_on: date) -> None:
    """A budget ended: none of its reviews is due any more (the first end recorded wins)."""
    await conn.execute(
        "INSERT INTO entitlement.ended_budgets (budget_id, ended_on) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING",
        budget_id,
        ended_on,
    )


# -- set-based writes of ImportPeople: one statement per table for a whole batch ----------------


def _reasons_json(reasons: Sequence[str]) -> str:
    """A list of reasons as JSON text: one element of a text[] parameter (a ragged text[][]
    cannot be passed); `_REASONS_SQL` turns it back into the text[]."""
    return json.dumps(list(reasons))


def _reasons_sql(column: str) -> str:
    return f"ARRAY(SELECT jsonb_array_elements_text({column}::jsonb))"


async def insert_new_people(
    conn: asyncpg.Connection, people: Sequence[dict[str, Any]]
) -> list[Row]:
    """Insert people (keys: person_id, nhs_number, given_name, family_name, date_of_birth,
    commissioner_ods_code, council_gss_code, version) in one statement. A person whose NHS
    number is registered already (before, or by a transaction committing meanwhile) is skipped:
    the rows returned are those inserted."""
    rows: list[Row] = await conn.fetch(
        "INSERT INTO entitlement.people (person_id, nhs_number, given_name, family_name,"
        " date_of_birth, commissioner_ods_code, council_gss_code, version)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::date[],"
        " $6::text[], $7::text[], $8::bigint[])"
        f" ON CONFLICT (nhs_number) DO NOTHING RETURNING {_PERSON_COLUMNS}",
        *(
            [p[k] for p in people]
            for k in (
                "person_id",
                "nhs_number",
                "given_name",
                "family_name",
                "date_of_birth",
                "commissioner_ods_code",
                "council_gss_code",
                "version",
            )
        ),
    )
    return rows


async def insert_decisions(
    conn: asyncpg.Connection, decisions: Sequence[dict[str, Any]]
) -> list[Row]:
    """Insert eligibility decisions (insert_decision's keys) in one statement, recorded in the
    order given."""
    rows: list[Row] = await conn.fetch(
        "INSERT INTO entitlement.eligibility_decisions (decision_id, person_id, category,"
        " outcome, reasons, decided_on, deciding_body, age_on_decision)"
        f" SELECT u.d, u.p, u.c, u.o, {_reasons_sql('u.r')}, u.on_, u.b, u.a"
        " FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::date[],"
        " $7::text[], $8::integer[]) WITH ORDINALITY AS u(d, p, c, o, r, on_, b, a, n)"
        f" ORDER BY u.n RETURNING {_DECISION_COLUMNS}",
        [d["decision_id"] for d in decisions],
        [d["person_id"] for d in decisions],
        [d["category"] for d in decisions],
        [d["outcome"] for d in decisions],
        [_reasons_json(d["reasons"]) for d in decisions],
        [d["decided_on"] for d in decisions],
        [d["deciding_body"] for d in decisions],
        [d["age_on_decision"] for d in decisions],
    )
    return rows


async def insert_phb_requests(
    conn: asyncpg.Connection, requests: Sequence[dict[str, Any]]
) -> list[Row]:
    """Insert decided PHB requests (insert_phb_request's keys) in one statement."""
    rows: list[Row] = await conn.fetch(
        "INSERT INTO entitlement.phb_requests (phb_request_id, person_id, category,"
        " requested_on, right_to_have, state, reasons, decided_on)"
        f" SELECT u.i, u.p, u.c, u.q, u.r2h, u.s, {_reasons_sql('u.r')}, u.d"
        " FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::boolean[],"
        " $6::text[], $7::text[], $8::date[]) AS u(i, p, c, q, r2h, s, r, d)"
        f" RETURNING {_PHB_COLUMNS}",
        [r["phb_request_id"] for r in requests],
        [r["person_id"] for r in requests],
        [r["category"] for r in requests],
        [r["requested_on"] for r in requests],
        [r["right_to_have"] for r in requests],
        [r["state"] for r in requests],
        [_reasons_json(r["reasons"]) for r in requests],
        [r["decided_on"] for r in requests],
    )
    return rows


async def extended_categories_of(
    conn: asyncpg.Connection, commissioners: Sequence[str]
) -> dict[str, list[str]]:
    """Each named commissioner's extended categories (absent: none set)."""
    rows = await conn.fetch(
        "SELECT commissioner_ods_code, extended_categories FROM entitlement.commissioner_policies"
        " WHERE commissioner_ods_code = ANY($1::text[])",
        list(commissioners),
    )
    return {r["commissioner_ods_code"]: list(r["extended_categories"]) for r in rows}
