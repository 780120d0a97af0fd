"""SQL of the payment service (schema `payment`). Set-based where a batch calls: one round trip
per statement, whatever the batch size (unnest beats executemany, design.md)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg

from onebudget.payment.domain import stops
from onebudget.payment.domain.model import Budget, BudgetContext, Payee, PayeeKind, PlanLine

SCHEMA = "payment"
Conn: TypeAlias = asyncpg.Connection


# -- idempotency for batches ---------------------------------------------------------------------


# The batch's claim ($1 request ids, $2 methods, $3 digests, $4 callers' subjects): planned with
# index lookups only inside a batch (release.INDEX_LOOKUPS_ONLY), so the look-up of kept payments
# stays one probe of `payments_request` per id however many payments there are.
CLAIM_REQUESTS = (
    "WITH paid AS (SELECT DISTINCT p.request_id FROM payment.payments p"
    "  WHERE p.request_id = ANY($1::text[])),"
    " claimed AS (INSERT INTO payment.idempotency (request_id, method, request_hash, actor)"
    "  SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[]) AS u(r, m, h, a)"
    "  WHERE u.r NOT IN (SELECT request_id FROM paid) ORDER BY r"
    "  ON CONFLICT (request_id) DO NOTHING RETURNING request_id)"
    " SELECT request_id, true AS claimed FROM claimed"
    " UNION ALL SELECT request_id, false FROM paid"
)


async def claim_requests(
    conn: Conn,
    request_ids: Sequence[str],
    methods: Sequence[str],
    digests: Sequence[bytes],
    actors: Sequence[str],
) -> tuple[set[str], set[str]]:
    """Claim request ids (sorted, so two batches lock them in one order): the ones claimed now,
    and the ones a kept payment row already carries (never claimed again, so a retry after the
    request-id window, its idempotency row pruned, cannot pay twice: shared/retention.py).
    `actors`: each request's caller's subject (shared/request_keys.py, one caller per id).
    One round trip, as before."""
    rows = await conn.fetch(
        CLAIM_REQUESTS,
        list(request_ids),
        list(methods),
        list(digests),
        list(actors),
    )
    claimed = {row["request_id"] for row in rows if row["claimed"]}
    return claimed, {row["request_id"] for row in rows if not row["claimed"]}


async def stored_requests(conn: Conn, request_ids: Sequence[str]) -> dict[str, Any]:
    rows = await conn.fetch(
        "SELECT request_id, method, request_hash, response, actor FROM payment.idempotency"
        " WHERE request_id = ANY($1::text[])",
        list(request_ids),
    )
    return {row["request_id"]: row for row in rows}


async def store_responses(
    conn: Conn, request_ids: Sequence[str], responses: Sequence[bytes]
) -> None:
    await conn.execute(
        "UPDATE payment.idempotency i SET response = u.resp"
        " FROM unnest($1::text[], $2::bytea[]) AS u(rid, resp)"
        " WHERE i.request_id = u.rid AND i.request_id = ANY($1::text[])",
        list(request_ids),
        list(responses),
    )


async def drop_claims(conn: Conn, request_ids: Sequence[str]) -> None:
    """A refused command leaves no row behind (its retry is decided afresh)."""
    if request_ids:
        await conn.execute(
            "DELETE FROM payment.idempotency WHERE request_id = ANY($1::text[])",
            list(request_ids),
        )


# -- payees --------------------------------------------------------------------------------------


def _payee(row: Any) -> Payee:
    return Payee(
        payee_id=row["payee_id"],
        kind=PayeeKind(row["kind"]),
        close_family=row["close_family"],
        approved=row["approved_at"] is not None,
        person_id=row["person_id"],
    )


async def insert_payee(
    conn: Conn,
    payee_id: uuid.UUID,
    kind: str,
    name: str,
    close_family: bool,
    person_id: uuid.UUID | None = None,
    organisation_code: str = "",
) -> Any:
    return await conn.fetchrow(
        "INSERT INTO payment.payees (payee_id, kind, name, close_family, person_id,"
        " organisation_code) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        payee_id,
        kind,
        name,
        close_family,
        person_id,
        organisation_code,
    )


@dataclass(frozen=True)
class PayeeFilter:
    """ListPayees' filters; empty / None matches any."""

    organisation_code: str
    person_id: uuid.UUID | None
    kind: str
    # The caller's organisations (issue 14): only payees of one of them, or of none (a payee
    # registered with no organisation and no holder); None: every payee (auditor, system).
    organisations: tuple[str, ...] | None = None


async def list_payees(
    conn: Conn, f: PayeeFilter, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Any]:
    """Payees matching `f`, oldest first (created_at, payee_id), after the key `after`."""
    clauses: list[str] = []
    args: list[Any] = []

    def add(sql: str, *values: Any) -> None:
        marks = []
        for value in values:
            args.append(value)
            marks.append(f"${len(args)}")
        clauses.append(sql.format(*marks))

    if f.organisation_code:
        add("organisation_code = {}", f.organisation_code)
    if f.person_id is not None:
        add("person_id = {}", f.person_id)
    if f.kind:
        add("kind = {}", f.kind)
    if f.organisations is not None:
        # The same organisations handlers._payee_organisations gives check_scope: the payee's
        # own code, and its holder's budgets' commissioners and councils.
        add(
            "(organisation_code = ANY({0}::text[])"
            " OR (organisation_code = '' AND person_id IS NULL)"
            " OR EXISTS (SELECT 1 FROM payment.budgets b WHERE b.person_id = payees.person_id"
            " AND (b.commissioner_ods_code = ANY({0}::text[])"
            " OR b.council_gss_code = ANY({0}::text[]))))",
            list(f.organisations),
        )
    if after is not None:
        add("(created_at, payee_id) > ({}, {})", after[0], after[1])
    where = " AND ".join(clauses) or "true"
    args.append(limit)
    return list(
        await conn.fetch(
            f"SELECT * FROM payment.payees WHERE {where}"
            f" ORDER BY created_at, payee_id LIMIT ${len(args)}",
            *args,
        )
    )


async def payee_row(conn: Conn, payee_id: uuid.UUID, *, for_update: bool = False) -> Any:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM payment.payees WHERE payee_id = $1{lock}", payee_id)


async def approve_payee(conn: Conn, payee_id: uuid.UUID, reason: str, approver: str) -> Any:
    return await conn.fetchrow(
        "UPDATE payment.payees SET approved_at = now(), approval_reason = $2, approver = $3"
        " WHERE payee_id = $1 RETURNING *",
        payee_id,
        reason,
        approver,
    )


async def payees(conn: Conn, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Payee]:
    rows = await conn.fetch(
        "SELECT payee_id, kind, close_family, approved_at, person_id FROM payment.payees"
        " WHERE payee_id = ANY($1::uuid[])",
        list(ids),
    )
    return {row["payee_id"]: _payee(row) for row in rows}


# -- budgets and plan lines (the read model) -----------------------------------------------------


def _budget(row: Any) -> Budget:
    return Budget(
        budget_id=row["budget_id"],
        person_id=row["person_id"],
        commissioner_ods_code=row["commissioner_ods_code"],
        council_gss_code=row["council_gss_code"],
        state=row["state"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        accounts=(row["nhs_account_id"], row["council_account_id"], row["client_account_id"]),
    )


def _line(row: Any) -> PlanLine:
    return PlanLine(
        plan_line_id=row["plan_line_id"],
        budget_id=row["budget_id"],
        category=row["category"],
        cost_pence=row["cost_pence"],
        basis_points=(row["nhs_bp"], row["council_bp"], row["client_bp"]),
        management_option=row["management_option"],
        allowed_payee_id=row["allowed_payee_id"],
        allowed_payee_kind=row["allowed_payee_kind"],
        agreed=row["agreed"],
        removed=row["removed"],
        committed_pence=row["committed_pence"],
        committed_parts=(
            row["committed_nhs_pence"],
            row["committed_council_pence"],
            row["committed_client_pence"],
        ),
    )


async def budget_owners(conn: Conn, budget_id: uuid.UUID) -> Any:
    """A budget's commissioner, council and person (the scope check's), or None."""
    return await conn.fetchrow(
        "SELECT commissioner_ods_code, council_gss_code, person_id"
        " FROM payment.budgets WHERE budget_id = $1",
        budget_id,
    )


async def person_organisations(conn: Conn, person_id: uuid.UUID) -> list[str]:
    """The commissioners and councils of every budget of the person (the scope check's for a
    direct-payment account): empty when payment knows no budget of theirs."""
    rows = await conn.fetch(
        "SELECT DISTINCT commissioner_ods_code, council_gss_code"
        " FROM payment.budgets WHERE person_id = $1",
        person_id,
    )
    return [code for row in rows for code in row if code]


async def budget_of(conn: Conn, table: str, key: str, value: uuid.UUID) -> uuid.UUID | None:
    """The budget a payment, schedule or repayment (`table` "payments", "schedules" or
    "repayments", keyed by `key`) is of, for the scope check; None when there is no such row.
    A row's budget never changes, so this is read outside the command's transaction."""
    assert (table, key) in _BUDGET_KEYED
    found: uuid.UUID | None = await conn.fetchval(
        f"SELECT budget_id FROM payment.{table} WHERE {key} = $1", value
    )
    return found


_BUDGET_KEYED = {
    ("payments", "payment_id"),
    ("schedules", "schedule_id"),
    ("repayments", "repayment_id"),
}


async def budgets(conn: Conn, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, BudgetContext]:
    """Each budget with whether its payments are stopped (stops.stop_grounds decides)."""
    rows = await conn.fetch(
        "SELECT b.*, s.why AS person_stop, o.grounds AS open_grounds,"
        " o.stopped_on AS open_stopped_on, e.granted AS eligibility_granted"
        " FROM payment.budgets b"
        " LEFT JOIN payment.stopped_people s ON s.person_id = b.person_id"
        " LEFT JOIN payment.payment_stops o ON o.budget_id = b.budget_id AND o.resumed_on IS NULL"
        " LEFT JOIN payment.eligibility e ON e.person_id = b.person_id AND e.category = b.cohort"
        " WHERE b.budget_id = ANY($1::uuid[])",
        list(ids),
    )
    found = {}
    for row in rows:
        grounds = stops.stop_grounds(
            row["person_stop"], _open_stop(row), row["eligibility_granted"]
        )
        found[row["budget_id"]] = BudgetContext(
            _budget(row), grounds is not None, stop_grounds=grounds or ""
        )
    return found


def _open_stop(row: Any) -> stops.OpenStop | None:
    if row["open_grounds"] is None:
        return None
    return stops.OpenStop(stops.StopGrounds(row["open_grounds"]), row["open_stopped_on"])


async def plan_lines(
    conn: Conn, ids: Sequence[uuid.UUID], *, for_update: bool = False
) -> dict[uuid.UUID, PlanLine]:
    """Lines locked in id order when `for_update` (their committed_pence is about to change)."""
    lock = " ORDER BY plan_line_id FOR UPDATE" if for_update else ""
    rows = await conn.fetch(
        f"SELECT * FROM payment.plan_lines WHERE plan_line_id = ANY($1::uuid[]){lock}",
        sorted(set(ids)),
    )
    return {row["plan_line_id"]: _line(row) for row in rows}


async def add_committed(
    conn: Conn, line_ids: Sequence[uuid.UUID], deltas: Sequence[Sequence[int]]
) -> None:
    """Add per-stream deltas (NHS, council, client pence; negative frees) to lines' commitments."""
    if line_ids:
        await conn.execute(
            "UPDATE payment.plan_lines l SET committed_pence = l.committed_pence + u.n + u.c + u.k,"
            " committed_nhs_pence = l.committed_nhs_pence + u.n,"
            " committed_council_pence = l.committed_council_pence + u.c,"
            " committed_client_pence = l.committed_client_pence + u.k"
            " FROM (SELECT id, sum(n)::bigint AS n, sum(c)::bigint AS c, sum(k)::bigint AS k"
            " FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[])"
            " AS x(id, n, c, k) GROUP BY id) u WHERE l.plan_line_id = u.id"
            " AND l.plan_line_id = ANY($1::uuid[])",
            list(line_ids),
            [d[0] for d in deltas],
            [d[1] for d in deltas],
            [d[2] for d in deltas],
        )


# -- payments ------------------------------------------------------------------------------------

PAYMENT_COLUMNS = (
    "payment_id",
    "request_id",
    "kind",
    "state",
    "budget_id",
    "plan_line_id",
    "payee_id",
    "amount_pence",
    "nhs_pence",
    "council_pence",
    "client_pence",
    "reserved_pence",
    "reserved_nhs_pence",
    "reserved_council_pence",
    "reserved_client_pence",
    "service_period_start",
    "service_period_end",
    "broker_reference",
    "schedule_id",
    "instalment_no",
    "expires_at",
    "created_at",
)
_PAYMENT_TYPES = (
    "uuid",
    "text",
    "text",
    "text",
    "uuid",
    "uuid",
    "uuid",
    "bigint",
    "bigint",
    "bigint",
    "bigint",
    "bigint",
    "bigint",
    "bigint",
    "bigint",
    "date",
    "date",
    "text",
    "uuid",
    "int",
    "timestamptz",
    "timestamptz",
)
_INSERT_PAYMENTS = (
    f"INSERT INTO payment.payments ({', '.join(PAYMENT_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(_PAYMENT_TYPES))
    + ")"
)


async def insert_payments(conn: Conn, rows: Sequence[dict[str, Any]]) -> None:
    """Insert payment rows (dicts keyed by PAYMENT_COLUMNS) in one statement."""
    if rows:
        await conn.execute(_INSERT_PAYMENTS, *[[r[c] for r in rows] for c in PAYMENT_COLUMNS])


# A batch of releases and reservations: one row per command in `u`, the rest derived in SQL
# (kind, state, which columns hold the money, the plan-line totals, the subject), so the
# statement takes 16 arrays, not 29: asyncpg checks every element of every array it encodes.
RELEASE_COLUMNS = (
    "payment_id uuid",
    "request_id text",
    "reserve boolean",
    "budget_id uuid",
    "plan_line_id uuid",
    "payee_id uuid",
    "amount bigint",
    "nhs bigint",
    "council bigint",
    "client bigint",
    "period_start date",
    "period_end date",
    "reference text",
    "event_id uuid",
    "envelope bytea",
    "response bytea",
)
_R = len(RELEASE_COLUMNS)
_UNNEST = ", ".join(f"${i + 1}::{c.split()[1]}[]" for i, c in enumerate(RELEASE_COLUMNS))
_NAMES = ", ".join(c.split()[0] for c in RELEASE_COLUMNS)


def _held(column: str) -> str:
    return f"CASE WHEN reserve THEN {column} ELSE 0 END"


def _paid(column: str) -> str:
    return f"CASE WHEN reserve THEN 0 ELSE {column} END"


_WRITE_RELEASES = f"""
WITH u AS (
    SELECT * FROM unnest({_UNNEST}) AS u({_NAMES})),
payments AS (
    INSERT INTO payment.payments ({", ".join(PAYMENT_COLUMNS)})
    SELECT payment_id, request_id,
        CASE WHEN reserve THEN 'RESERVATION' ELSE 'RELEASE' END,
        CASE WHEN reserve THEN 'RESERVED' ELSE 'RELEASED' END,
        budget_id, plan_line_id, payee_id,
        {_paid("amount")}, {_paid("nhs")}, {_paid("council")}, {_paid("client")},
        {_held("amount")}, {_held("nhs")}, {_held("council")}, {_held("client")},
        period_start, period_end, reference, NULL, NULL,
        CASE WHEN reserve THEN ${_R + 2}::timestamptz END, ${_R + 1}::timestamptz
    FROM u),
lines AS (
    UPDATE payment.plan_lines l SET committed_pence = l.committed_pence + t.n + t.c + t.k,
        committed_nhs_pence = l.committed_nhs_pence + t.n,
        committed_council_pence = l.committed_council_pence + t.c,
        committed_client_pence = l.committed_client_pence + t.k
    FROM (SELECT plan_line_id AS id, sum(nhs)::bigint AS n, sum(council)::bigint AS c,
        sum(client)::bigint AS k FROM u GROUP BY plan_line_id) t
    WHERE l.plan_line_id = t.id AND l.plan_line_id = ANY($5::uuid[])),
events AS (
    INSERT INTO payment.outbox (event_id, subject, envelope)
    SELECT event_id, CASE WHEN reserve THEN ${_R + 4}::text ELSE ${_R + 3}::text END, envelope
    FROM u)
UPDATE payment.idempotency i SET response = u.response FROM u
WHERE i.request_id = u.request_id AND i.request_id = ANY($2::text[])
"""
# The `= ANY(...)` beside each join: the rows to change are found through the primary key. With
# the join alone, the planner (which guesses 10 rows for an unnest) hashes the batch and scans
# the whole table, and the plan is kept for the life of the prepared statement, so a table that
# grows (idempotency: one row per request ever made) costs more on every batch.


async def write_releases(
    conn: Conn,
    columns: Sequence[Sequence[Any]],
    at: tuple[datetime, datetime],
    subjects: tuple[str, str],
) -> None:
    """A batch's writes in one round trip: payment rows, plan-line totals, outbox events (the
    transactional outbox: the caller's transaction) and idempotency responses. `columns` has
    one list per RELEASE_COLUMNS name, in that order; `at` is (created_at, expires_at of the
    reservations); `subjects` is (a release's, a reservation's)."""
    assert conn.is_in_transaction(), "outbox rows must commit with their state change"
    assert len(columns) == _R
    await conn.execute(_WRITE_RELEASES, *columns, *at, *subjects)


async def payment_row(conn: Conn, payment_id: uuid.UUID, *, for_update: bool = False) -> Any:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT * FROM payment.payments WHERE payment_id = $1{lock}", payment_id
    )


async def update_payment(conn: Conn, payment_id: uuid.UUID, **fields: Any) -> Any:
    names = list(fields)
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    return await conn.fetchrow(
        f"UPDATE payment.payments SET {sets}, version = version + 1 WHERE payment_id = $1"
        " RETURNING *",
        payment_id,
        *[fields[n] for n in names],
    )


@dataclass(frozen=True)
class PaymentFilter:
    budget_id: uuid.UUID | None
    payee_id: uuid.UUID | None
    broker_reference: str
    period_start: date | None
    period_end: date | None
    # The caller's organisations (issue 14): only payments from budgets whose commissioner or
    # council is one of them; None: every payment (auditor, system).
    organisations: tuple[str, ...] | None = None


async def list_payments(
    conn: Conn, f: PaymentFilter, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Any]:
    clauses: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if f.budget_id is not None:
        add("budget_id = ?", f.budget_id)
    if f.payee_id is not None:
        add("payee_id = ?", f.payee_id)
    if f.broker_reference:
        add("broker_reference = ?", f.broker_reference)
    if f.period_start is not None:
        add("coalesce(service_period_end, service_period_start) >= ?", f.period_start)
    if f.period_end is not None:
        add("service_period_start <= ?", f.period_end)
    if f.organisations is not None:
        # The organisations handlers._check_scope gives check_scope: the budget's commissioner
        # and council.
        add(
            "budget_id IN (SELECT b.budget_id FROM payment.budgets b"
            " WHERE b.commissioner_ods_code = ANY(?::text[])",
            list(f.organisations),
        )
        clauses[-1] += f" OR b.council_gss_code = ANY(${len(args)}::text[]))"
    if after is not None:
        add("(created_at, payment_id) > (?", after[0])
        clauses[-1] += f", ${len(args) + 1})"
        args.append(after[1])
    where = " AND ".join(clauses) or "true"
    args.append(limit)
    return list(
        await conn.fetch(
            f"SELECT * FROM payment.payments WHERE {where}"
            f" ORDER BY created_at, payment_id LIMIT ${len(args)}",
            *args,
        )
    )


async def reserved_due(conn: Conn, limit_max: int) -> list[Any]:
    """Reservations whose hold ran out, locked (another replica's expiry task skips them)."""
    return list(
        await conn.fetch(
            "SELECT * FROM payment.payments WHERE state = 'RESERVED' AND expires_at <= now()"
            " ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED",
            limit_max,
        )
    )


# -- returns and repayments ----------------------------------------------------------------------


async def insert_return(
    conn: Conn, return_id: uuid.UUID, payment_id: uuid.UUID, parts: Sequence[int], reason: str
) -> Any:
    return await conn.fetchrow(
        "INSERT INTO payment.returns (return_id, payment_id, amount_pence, nhs_pence,"
        " council_pence, client_pence, reason) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        return_id,
        payment_id,
        sum(parts),
        *parts,
        reason,
    )


async def add_returned(conn: Conn, payment_id: uuid.UUID, parts: Sequence[int]) -> Any:
    return await conn.fetchrow(
        "UPDATE payment.payments SET returned_pence = returned_pence + $2 + $3 + $4,"
        " returned_nhs_pence = returned_nhs_pence + $2,"
        " returned_council_pence = returned_council_pence + $3,"
        " returned_client_pence = returned_client_pence + $4, version = version + 1"
        " WHERE payment_id = $1 RETURNING *",
        payment_id,
        *parts,
    )


def _claimed(stream: str) -> str:
    """What repayments claim of a stream: all of it, or only what was received once written off."""
    return (
        f"coalesce(sum(CASE WHEN state = 'WRITTEN_OFF' THEN received_{stream}_pence"
        f" ELSE {stream}_pence END), 0)::bigint"
    )


async def net_paid(conn: Conn, budget_id: uuid.UUID, payee_id: uuid.UUID) -> list[int]:
    """What the payee kept from the budget per stream: paid, less returns, less what earlier
    repayments already claim (all but the written-off part)."""
    row = await conn.fetchrow(
        "SELECT"
        " coalesce(sum(nhs_pence - returned_nhs_pence), 0)::bigint AS nhs,"
        " coalesce(sum(council_pence - returned_council_pence), 0)::bigint AS council,"
        " coalesce(sum(client_pence - returned_client_pence), 0)::bigint AS client"
        " FROM payment.payments WHERE budget_id = $1 AND payee_id = $2",
        budget_id,
        payee_id,
    )
    claimed = await conn.fetchrow(
        f"SELECT {_claimed('nhs')} AS nhs, {_claimed('council')} AS council,"
        f" {_claimed('client')} AS client"
        " FROM payment.repayments WHERE budget_id = $1 AND payee_id = $2",
        budget_id,
        payee_id,
    )
    assert row is not None
    assert claimed is not None
    return [max(0, row[k] - claimed[k]) for k in ("nhs", "council", "client")]


async def insert_repayment(conn: Conn, **f: Any) -> Any:
    names = list(f)
    return await conn.fetchrow(
        f"INSERT INTO payment.repayments ({', '.join(names)})"
        f" VALUES ({', '.join(f'${i + 1}' for i in range(len(names)))}) RETURNING *",
        *[f[n] for n in names],
    )


async def repayment_row(conn: Conn, repayment_id: uuid.UUID, *, for_update: bool = False) -> Any:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT * FROM payment.repayments WHERE repayment_id = $1{lock}", repayment_id
    )


async def add_received(conn: Conn, repayment_id: uuid.UUID, parts: Sequence[int]) -> Any:
    return await conn.fetchrow(
        "UPDATE payment.repayments SET received_pence = received_pence + $2 + $3 + $4,"
        " received_nhs_pence = received_nhs_pence + $2,"
        " received_council_pence = received_council_pence + $3,"
        " received_client_pence = received_client_pence + $4,"
        " state = CASE WHEN received_pence + $2 + $3 + $4 = amount_pence THEN 'REPAID'"
        " ELSE state END, version = version + 1"
        " WHERE repayment_id = $1 RETURNING *",
        repayment_id,
        *parts,
    )


async def write_off(conn: Conn, repayment_id: uuid.UUID, reason: str, approver: str) -> Any:
    return await conn.fetchrow(
        "UPDATE payment.repayments SET state = 'WRITTEN_OFF',"
        " written_off_pence = amount_pence - received_pence, write_off_reason = $2,"
        " approver = $3, version = version + 1 WHERE repayment_id = $1 RETURNING *",
        repayment_id,
        reason,
        approver,
    )


# -- schedules -----------------------------------------------------------------------------------


async def insert_schedule(conn: Conn, **f: Any) -> Any:
    names = list(f)
    return await conn.fetchrow(
        f"INSERT INTO payment.schedules ({', '.join(names)})"
        f" VALUES ({', '.join(f'${i + 1}' for i in range(len(names)))}) RETURNING *",
        *[f[n] for n in names],
    )


async def schedule_row(conn: Conn, schedule_id: uuid.UUID, *, for_update: bool = False) -> Any:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT * FROM payment.schedules WHERE schedule_id = $1{lock}", schedule_id
    )


async def update_schedule(conn: Conn, schedule_id: uuid.UUID, **fields: Any) -> Any:
    names = list(fields)
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    return await conn.fetchrow(
        f"UPDATE payment.schedules SET {sets}, version = version + 1 WHERE schedule_id = $1"
        " RETURNING *",
        schedule_id,
        *[fields[n] for n in names],
    )


async def schedules_behind(conn: Conn, today: date) -> int:
    """Active schedules with an instalment due on or before `today` (England) that the scheduler
    may pay and has not paid yet: on an agreed budget, within its end, with no open stop, no
    death or withdrawn consent, no refused eligibility (the grounds stops.stop_grounds reads).
    0 once the scheduler has caught up (shared/settling.py)."""
    found = await conn.fetchval(
        "SELECT count(*) FROM payment.schedules s"
        " JOIN payment.budgets b ON b.budget_id = s.budget_id"
        " LEFT JOIN payment.stopped_people p ON p.person_id = b.person_id"
        " LEFT JOIN payment.payment_stops o ON o.budget_id = b.budget_id AND o.resumed_on IS NULL"
        " LEFT JOIN payment.eligibility e ON e.person_id = b.person_id AND e.category = b.cohort"
        " WHERE s.state = 'ACTIVE' AND s.next_due_date <= $1"
        " AND (s.end_date IS NULL OR s.next_due_date <= s.end_date)"
        " AND b.state = 'AGREED' AND (b.end_date IS NULL OR s.next_due_date <= b.end_date)"
        " AND p.person_id IS NULL AND o.budget_id IS NULL AND e.granted IS DISTINCT FROM false",
        today,
    )
    return int(found)


async def next_due_schedule(conn: Conn, today: date, skip: Collection[uuid.UUID] = ()) -> Any:
    """One due schedule, locked, other than those in `skip` (held back for this run); another
    replica skips it (FOR UPDATE SKIP LOCKED)."""
    return await conn.fetchrow(
        "SELECT * FROM payment.schedules WHERE state = 'ACTIVE' AND next_due_date <= $1"
        " AND schedule_id <> ALL($2::uuid[])"
        " ORDER BY next_due_date, schedule_id LIMIT 1 FOR UPDATE SKIP LOCKED",
        today,
        list(skip),
    )


async def flag_backdated(conn: Conn, schedule_id: uuid.UUID, held: int) -> None:
    """Record how many back-dated instalments a run left for later (no event, so the version,
    which numbers the schedule's events, stays)."""
    await conn.execute(
        "UPDATE payment.schedules SET backdated_held = $2 WHERE schedule_id = $1",
        schedule_id,
        held,
    )


async def insert_instalment(conn: Conn, **f: Any) -> bool:
    """False when the instalment exists already (it was paid or refused once)."""
    names = list(f)
    done = await conn.fetchval(
        f"INSERT INTO payment.instalments ({', '.join(names)})"
        f" VALUES ({', '.join(f'${i + 1}' for i in range(len(names)))})"
        " ON CONFLICT DO NOTHING RETURNING true",
        *[f[n] for n in names],
    )
    return bool(done)


async def paid_instalments(conn: Conn, schedule_id: uuid.UUID) -> list[Any]:
    return list(
        await conn.fetch(
            "SELECT i.due_date, p.* FROM payment.instalments i"
            " JOIN payment.payments p ON p.payment_id = i.payment_id"
            " WHERE i.schedule_id = $1 ORDER BY i.instalment_no",
            schedule_id,
        )
    )


# -- stopping --------------------------------------------------------------------------------


async def stop_person(
    conn: Conn, person_id: uuid.UUID, why: str, on: date, recorded: int = 0
) -> bool:
    done = await conn.fetchval(
        "INSERT INTO payment.stopped_people (person_id, why, stopped_on, recorded)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
        person_id,
        why,
        on,
        recorded,
    )
    return bool(done)


async def person_stop(conn: Conn, person_id: uuid.UUID) -> Any:
    return await conn.fetchrow(
        "SELECT * FROM payment.stopped_people WHERE person_id = $1 FOR UPDATE", person_id
    )


async def lift_person_stop(conn: Conn, person_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM payment.stopped_people WHERE person_id = $1", person_id)


async def get_eligibility(conn: Conn, person_id: uuid.UUID, category: str) -> Any:
    return await conn.fetchrow(
        "SELECT * FROM payment.eligibility WHERE person_id = $1 AND category = $2 FOR UPDATE",
        person_id,
        category,
    )


async def set_eligibility(
    conn: Conn, person_id: uuid.UUID, category: str, granted: bool, on: date, recorded: int
) -> None:
    await conn.execute(
        "INSERT INTO payment.eligibility (person_id, category, granted, decided_on, recorded)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (person_id, category) DO UPDATE SET"
        " granted = EXCLUDED.granted, decided_on = EXCLUDED.decided_on,"
        " recorded = EXCLUDED.recorded",
        person_id,
        category,
        granted,
        on,
        recorded,
    )


async def budget_for_stop(conn: Conn, budget_id: uuid.UUID) -> Any:
    """The budget (locked), its open stop and the eligibility decision in its cohort."""
    return await conn.fetchrow(
        "SELECT b.state, b.person_id, o.stop_id, o.grounds AS open_grounds,"
        " o.stopped_on AS open_stopped_on, e.granted AS eligibility_granted"
        " FROM payment.budgets b"
        " LEFT JOIN payment.payment_stops o ON o.budget_id = b.budget_id AND o.resumed_on IS NULL"
        " LEFT JOIN payment.eligibility e ON e.person_id = b.person_id AND e.category = b.cohort"
        " WHERE b.budget_id = $1 FOR UPDATE OF b",
        budget_id,
    )


async def insert_stop(conn: Conn, **f: Any) -> Any:
    return await conn.fetchrow(
        "INSERT INTO payment.payment_stops (stop_id, budget_id, grounds, reasons, stopped_on)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING *",
        f["stop_id"],
        f["budget_id"],
        f["grounds"],
        f["reasons"],
        f["stopped_on"],
    )


async def resume_stop(
    conn: Conn, stop_id: uuid.UUID, resumed_on: date, reasons: Sequence[str]
) -> Any:
    return await conn.fetchrow(
        "UPDATE payment.payment_stops SET resumed_on = $2, resume_reasons = $3,"
        " version = version + 1 WHERE stop_id = $1 RETURNING *",
        stop_id,
        resumed_on,
        list(reasons),
    )


async def person_budget_ids(conn: Conn, person_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await conn.fetch("SELECT budget_id FROM payment.budgets WHERE person_id = $1", person_id)
    return [row["budget_id"] for row in rows]


async def active_schedules(conn: Conn, budget_ids: Sequence[uuid.UUID]) -> list[Any]:
    return list(
        await conn.fetch(
            "SELECT * FROM payment.schedules WHERE budget_id = ANY($1::uuid[])"
            " AND state = 'ACTIVE' ORDER BY schedule_id FOR UPDATE",
            list(budget_ids),
        )
    )


async def open_reservations(conn: Conn, budget_ids: Sequence[uuid.UUID]) -> list[Any]:
    return list(
        await conn.fetch(
            "SELECT * FROM payment.payments WHERE budget_id = ANY($1::uuid[])"
            " AND state = 'RESERVED' ORDER BY payment_id FOR UPDATE",
            list(budget_ids),
        )
    )


# -- read model writes (from allocation's events) ------------------------------------------------


async def upsert_budget(conn: Conn, **f: Any) -> None:
    """Insert or update a budget; a None field keeps its stored value (a new budget without a
    state is a DRAFT)."""
    f = {k: v for k, v in f.items() if v is not None or k == "state"}
    f.setdefault("state", None)
    names = list(f)
    values = [
        f"coalesce(${i + 1}::text, 'DRAFT')" if n == "state" else f"${i + 1}"
        for i, n in enumerate(names)
    ]
    updates = ", ".join(
        f"{n} = coalesce(EXCLUDED.{n}, payment.budgets.{n})"
        if n != "state"
        else f"state = coalesce(${i + 1}::text, payment.budgets.state)"
        for i, n in enumerate(names)
        if n != "budget_id"
    )
    await conn.execute(
        f"INSERT INTO payment.budgets ({', '.join(names)}) VALUES ({', '.join(values)})"
        f" ON CONFLICT (budget_id) DO UPDATE SET {updates}, updated_at = now()",
        *[f[n] for n in names],
    )


async def upsert_plan_line(conn: Conn, **f: Any) -> None:
    names = list(f)
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n != "plan_line_id")
    await conn.execute(
        f"INSERT INTO payment.plan_lines ({', '.join(names)})"
        f" VALUES ({', '.join(f'${i + 1}' for i in range(len(names)))})"
        f" ON CONFLICT (plan_line_id) DO UPDATE SET {updates}",
        *[f[n] for n in names],
    )


async def set_lines_agreed(conn: Conn, budget_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE payment.plan_lines SET agreed = true WHERE budget_id = $1 AND NOT removed",
        budget_id,
    )


async def remove_plan_line(conn: Conn, plan_line_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE payment.plan_lines SET removed = true WHERE plan_line_id = $1", plan_line_id
    )


async def close_year(conn: Conn, ods: str, year: int, closed_on: date) -> None:
    """Record a commissioner's closed financial year (FinancialYearClosed; once)."""
    await conn.execute(
        "INSERT INTO payment.closed_years (commissioner_ods_code, financial_year, closed_on)"
        " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        ods,
        year,
        closed_on,
    )


async def closed_years(conn: Conn, ods: Sequence[str]) -> frozenset[tuple[str, int]]:
    """(commissioner, financial year) pairs allocation has closed, for these commissioners."""
    rows = await conn.fetch(
        "SELECT commissioner_ods_code, financial_year FROM payment.closed_years"
        " WHERE commissioner_ods_code = ANY($1::text[])",
        list(ods),
    )
    return frozenset((r["commissioner_ods_code"], int(r["financial_year"])) for r in rows)
