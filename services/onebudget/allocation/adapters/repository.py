"""SQL for the allocation schema. Every function takes the caller's connection (and so runs in
its transaction); rows come back as asyncpg Records."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import asyncpg

Row = Any  # an asyncpg.Record: column access by name

# Budget columns a command may change (update_budget builds its SET list only from these).
_BUDGET_UPDATABLE = frozenset(
    {
        "status",
        "agreed_nhs_pence",
        "agreed_council_pence",
        "agreed_client_pence",
        "returned_nhs_pence",
        "returned_council_pence",
        "returned_client_pence",
        "agreed_on",
        "ended_on",
        "end_reason",
        "note",
        "end_reasons",
        "end_notice_date",
        "revision",
        "ring_fence_account_id",
        "council_pot_account_id",
    }
)


# -- commissioners and councils -----------------------------------------------------------------


async def insert_commissioner(conn: asyncpg.Connection, ods: str, name: str) -> bool:
    """False when the code is registered already."""
    return bool(
        await conn.fetchval(
            "INSERT INTO allocation.commissioners (ods_code, name) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING RETURNING true",
            ods,
            name,
        )
    )


async def insert_council(conn: asyncpg.Connection, gss: str, name: str) -> bool:
    return bool(
        await conn.fetchval(
            "INSERT INTO allocation.councils (gss_code, name) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING RETURNING true",
            gss,
            name,
        )
    )


async def commissioner_exists(conn: asyncpg.Connection, ods: str) -> bool:
    return bool(
        await conn.fetchval("SELECT true FROM allocation.commissioners WHERE ods_code = $1", ods)
    )


async def council_exists(conn: asyncpg.Connection, gss: str) -> bool:
    return bool(
        await conn.fetchval("SELECT true FROM allocation.councils WHERE gss_code = $1", gss)
    )


# -- allocations --------------------------------------------------------------------------------


async def insert_commissioner_allocation(conn: asyncpg.Connection, **row: Any) -> bool:
    """False when the commissioner's allocation for that year is set already."""
    return bool(
        await conn.fetchval(
            "INSERT INTO allocation.commissioner_allocations (commissioner_ods_code,"
            " financial_year, allocation_pence, phb_target_basis_points, phb_target_pence,"
            " source_account_id, allocation_account_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING true",
            row["ods"],
            row["year"],
            row["allocation_pence"],
            row["target_bp"],
            row["target_pence"],
            row["source_account_id"],
            row["allocation_account_id"],
        )
    )


async def insert_ring_fences(
    conn: asyncpg.Connection, ods: str, year: int, rows: Sequence[tuple[str, int, int, uuid.UUID]]
) -> None:
    """rows: (cohort, basis_points, target_pence, account_id)."""
    await conn.executemany(
        "INSERT INTO allocation.ring_fences (commissioner_ods_code, financial_year, cohort,"
        " basis_points, target_pence, account_id) VALUES ($1, $2, $3, $4, $5, $6)",
        [(ods, year, *r) for r in rows],
    )


async def get_commissioner_allocation(
    conn: asyncpg.Connection, ods: str, year: int, *, lock: str = ""
) -> Row | None:
    """lock: "" (none), "SHARE" (a budget draws on it) or "UPDATE" (the year closes)."""
    assert lock in ("", "SHARE", "UPDATE")
    suffix = f" FOR {lock}" if lock else ""
    return await conn.fetchrow(
        "SELECT * FROM allocation.commissioner_allocations"
        " WHERE commissioner_ods_code = $1 AND financial_year = $2" + suffix,
        ods,
        year,
    )


async def get_ring_fences(conn: asyncpg.Connection, ods: str, year: int) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT * FROM allocation.ring_fences"
            " WHERE commissioner_ods_code = $1 AND financial_year = $2 ORDER BY cohort",
            ods,
            year,
        )
    )


async def close_allocation(conn: asyncpg.Connection, ods: str, year: int, on: date) -> None:
    await conn.execute(
        "UPDATE allocation.commissioner_allocations SET closed_on = $3"
        " WHERE commissioner_ods_code = $1 AND financial_year = $2",
        ods,
        year,
        on,
    )


async def insert_council_allocation(conn: asyncpg.Connection, **row: Any) -> bool:
    return bool(
        await conn.fetchval(
            "INSERT INTO allocation.council_allocations (council_gss_code, financial_year,"
            " pot_pence, source_account_id, account_id) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT DO NOTHING RETURNING true",
            row["gss"],
            row["year"],
            row["pot_pence"],
            row["source_account_id"],
            row["account_id"],
        )
    )


async def get_council_allocation(conn: asyncpg.Connection, gss: str, year: int) -> Row | None:
    return await conn.fetchrow(
        "SELECT * FROM allocation.council_allocations"
        " WHERE council_gss_code = $1 AND financial_year = $2",
        gss,
        year,
    )


# -- people and eligibility (from entitlement's events) -----------------------------------------


async def upsert_person(
    conn: asyncpg.Connection, person_id: uuid.UUID, commissioner: str, council: str, **extra: Any
) -> None:
    """Record the latest commissioner and council; `child` / `state` only when given."""
    await conn.execute(
        "INSERT INTO allocation.people AS p (person_id, commissioner_ods_code, council_gss_code,"
        " child, state) VALUES ($1, $2, $3, coalesce($4, false), coalesce($5, 'ACTIVE'))"
        " ON CONFLICT (person_id) DO UPDATE SET"
        " commissioner_ods_code = coalesce(nullif($2, ''), p.commissioner_ods_code),"
        " council_gss_code = coalesce(nullif($3, ''), p.council_gss_code),"
        " child = coalesce($4, p.child), state = coalesce($5, p.state), updated_at = now()",
        person_id,
        commissioner,
        council,
        extra.get("child"),
        extra.get("state"),
    )


async def get_eligibility(
    conn: asyncpg.Connection, person_id: uuid.UUID, category: str
) -> Row | None:
    """The decision in force in the category, locked until the transaction ends."""
    return await conn.fetchrow(
        "SELECT * FROM allocation.eligibility WHERE person_id = $1 AND category = $2 FOR UPDATE",
        person_id,
        category,
    )


async def set_eligibility(
    conn: asyncpg.Connection,
    person_id: uuid.UUID,
    category: str,
    granted: bool,
    decided_on: date | None,
    child: bool,
    recorded: int = 0,
) -> None:
    """Store the decision in force (the caller decided it holds: shared/standing.py)."""
    await conn.execute(
        "INSERT INTO allocation.eligibility (person_id, category, granted, decided_on, child,"
        " recorded) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (person_id, category) DO UPDATE"
        " SET granted = EXCLUDED.granted, decided_on = EXCLUDED.decided_on,"
        " child = EXCLUDED.child, recorded = EXCLUDED.recorded",
        person_id,
        category,
        granted,
        decided_on,
        child,
        recorded,
    )


async def get_phb(conn: asyncpg.Connection, person_id: uuid.UUID, category: str) -> Row | None:
    """The PHB decision in force in the category, locked until the transaction ends."""
    return await conn.fetchrow(
        "SELECT * FROM allocation.phb_standing WHERE person_id = $1 AND category = $2 FOR UPDATE",
        person_id,
        category,
    )


async def set_phb(
    conn: asyncpg.Connection,
    person_id: uuid.UUID,
    category: str,
    granted: bool,
    decided_on: date,
    right_to_have: bool,
    recorded: int,
) -> None:
    """Store the PHB decision in force (the caller decided it holds: shared/standing.py)."""
    await conn.execute(
        "INSERT INTO allocation.phb_standing (person_id, category, granted, decided_on,"
        " right_to_have, recorded) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (person_id, category) DO UPDATE SET granted = EXCLUDED.granted,"
        " decided_on = EXCLUDED.decided_on, right_to_have = EXCLUDED.right_to_have,"
        " recorded = EXCLUDED.recorded",
        person_id,
        category,
        granted,
        decided_on,
        right_to_have,
        recorded,
    )


async def standings(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[Row]:
    """Per category: the eligibility and PHB decisions in force (either may be missing)."""
    return list(
        await conn.fetch(
            "SELECT coalesce(e.category, p.category) AS category,"
            " e.granted AS eligibility_granted, e.decided_on AS eligibility_decided_on,"
            " e.recorded AS eligibility_recorded, coalesce(e.child, false) AS child,"
            " p.granted AS phb_granted, p.decided_on AS phb_decided_on,"
            " p.recorded AS phb_recorded"
            " FROM (SELECT * FROM allocation.eligibility WHERE person_id = $1) e"
            " FULL JOIN (SELECT * FROM allocation.phb_standing WHERE person_id = $1) p"
            " ON p.category = e.category ORDER BY 1",
            person_id,
        )
    )


async def lock_person(conn: asyncpg.Connection, person_id: uuid.UUID) -> Row | None:
    """The person's row, locked: their budget creations run one after the other."""
    return await conn.fetchrow(
        "SELECT * FROM allocation.people WHERE person_id = $1 FOR UPDATE", person_id
    )


async def open_budget_ids_in_year(
    conn: asyncpg.Connection, person_id: uuid.UUID, year: int
) -> list[str]:
    rows = await conn.fetch(
        "SELECT budget_id FROM allocation.budgets WHERE person_id = $1 AND financial_year = $2"
        " AND status <> 'ENDED' ORDER BY created_at",
        person_id,
        year,
    )
    return [str(r["budget_id"]) for r in rows]


async def get_person(conn: asyncpg.Connection, person_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow("SELECT * FROM allocation.people WHERE person_id = $1", person_id)


# -- budgets and plan lines ---------------------------------------------------------------------


async def insert_budget(conn: asyncpg.Connection, row: Mapping[str, Any]) -> Row:
    columns = list(row)
    placeholders = ", ".join(f"${i + 1}" for i in range(len(columns)))
    result = await conn.fetchrow(
        f"INSERT INTO allocation.budgets ({', '.join(columns)}) VALUES ({placeholders})"
        " RETURNING *",
        *row.values(),
    )
    assert result is not None
    return result


async def get_budget(
    conn: asyncpg.Connection, budget_id: uuid.UUID, *, for_update: bool = False
) -> Row | None:
    suffix = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        "SELECT * FROM allocation.budgets WHERE budget_id = $1" + suffix, budget_id
    )


async def update_budget(
    conn: asyncpg.Connection, budget_id: uuid.UUID, versions: int, changes: Mapping[str, Any]
) -> Row:
    """Apply `changes` and move the version on by `versions` (one per event written)."""
    assert set(changes) <= _BUDGET_UPDATABLE, set(changes) - _BUDGET_UPDATABLE
    assert versions >= 1
    sets = [f"{column} = ${i + 3}" for i, column in enumerate(changes)]
    result = await conn.fetchrow(
        f"UPDATE allocation.budgets SET {', '.join([*sets, 'version = version + $2'])},"
        " updated_at = now() WHERE budget_id = $1 RETURNING *",
        budget_id,
        versions,
        *changes.values(),
    )
    assert result is not None
    return result


async def open_budgets_of(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT * FROM allocation.budgets WHERE person_id = $1 AND status <> 'ENDED'"
            " ORDER BY budget_id FOR UPDATE",
            person_id,
        )
    )


async def list_budgets(
    conn: asyncpg.Connection, filters: Mapping[str, Any], after: uuid.UUID | None, limit: int
) -> list[Row]:
    """Budgets matching every non-empty filter, in budget_id order, after the page key."""
    allowed = {"commissioner_ods_code", "council_gss_code", "person_id", "status", "financial_year"}
    assert set(filters) <= allowed
    clauses = [f"{column} = ${i + 3}" for i, column in enumerate(filters)]
    clauses.append("($1::uuid IS NULL OR budget_id > $1)")
    return list(
        await conn.fetch(
            f"SELECT * FROM allocation.budgets WHERE {' AND '.join(clauses)}"
            " ORDER BY budget_id LIMIT $2",
            after,
            limit,
            *filters.values(),
        )
    )


async def insert_plan_line(conn: asyncpg.Connection, row: Mapping[str, Any]) -> None:
    columns = list(row)
    placeholders = ", ".join(f"${i + 1}" for i in range(len(columns)))
    await conn.execute(
        f"INSERT INTO allocation.plan_lines ({', '.join(columns)}) VALUES ({placeholders})",
        *row.values(),
    )


async def plan_lines(conn: asyncpg.Connection, budget_id: uuid.UUID) -> list[Row]:
    """The budget's active lines, in the order they were added."""
    return list(
        await conn.fetch(
            "SELECT * FROM allocation.plan_lines WHERE budget_id = $1 AND NOT removed"
            " ORDER BY position",
            budget_id,
        )
    )


async def remove_plan_lines(
    conn: asyncpg.Connection, ids: Sequence[uuid.UUID], revision: int
) -> None:
    await conn.execute(
        "UPDATE allocation.plan_lines SET removed = true, removed_in_revision = $2"
        " WHERE plan_line_id = ANY($1::uuid[])",
        list(ids),
        revision,
    )


async def insert_revision(conn: asyncpg.Connection, budget_id: uuid.UUID, **row: Any) -> None:
    await conn.execute(
        "INSERT INTO allocation.budget_revisions (budget_id, revision, reasons, notice_date,"
        " nhs_delta_pence, council_delta_pence, client_delta_pence)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        budget_id,
        row["revision"],
        row["reasons"],
        row["notice_date"],
        row["nhs_delta"],
        row["council_delta"],
        row["client_delta"],
    )


# -- set-based reads and writes of ImportBudgets: one statement each for a whole batch ----------


def _json_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as a JSON array (uuids and dates as text) for jsonb_populate_recordset."""
    return json.dumps([dict(r) for r in rows], default=str)


async def people_for_update(
    conn: asyncpg.Connection, person_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Row]:
    """The people known (from entitlement's events), locked in person_id order: their budget
    creations run one after the other (as lock_person)."""
    rows = await conn.fetch(
        "SELECT * FROM allocation.people WHERE person_id = ANY($1::uuid[])"
        " ORDER BY person_id FOR UPDATE",
        list(person_ids),
    )
    return {r["person_id"]: r for r in rows}


async def standings_of_people(
    conn: asyncpg.Connection, person_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row]]:
    """`standings` of each person (the same columns), in one statement."""
    rows = await conn.fetch(
        "SELECT coalesce(e.person_id, p.person_id) AS person_id,"
        " coalesce(e.category, p.category) AS category,"
        " e.granted AS eligibility_granted, e.decided_on AS eligibility_decided_on,"
        " e.recorded AS eligibility_recorded, coalesce(e.child, false) AS child,"
        " p.granted AS phb_granted, p.decided_on AS phb_decided_on,"
        " p.recorded AS phb_recorded"
        " FROM (SELECT * FROM allocation.eligibility WHERE person_id = ANY($1::uuid[])) e"
        " FULL JOIN (SELECT * FROM allocation.phb_standing WHERE person_id = ANY($1::uuid[])) p"
        " ON p.person_id = e.person_id AND p.category = e.category ORDER BY 1, 2",
        list(person_ids),
    )
    found: dict[uuid.UUID, list[Row]] = {}
    for r in rows:
        found.setdefault(r["person_id"], []).append(r)
    return found


async def open_budget_ids_of_people(
    conn: asyncpg.Connection, person_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, int], list[str]]:
    """`open_budget_ids_in_year` of each person, by (person, year)."""
    rows = await conn.fetch(
        "SELECT person_id, financial_year, budget_id FROM allocation.budgets"
        " WHERE person_id = ANY($1::uuid[]) AND status <> 'ENDED' ORDER BY created_at",
        list(person_ids),
    )
    found: dict[tuple[uuid.UUID, int], list[str]] = {}
    for r in rows:
        found.setdefault((r["person_id"], r["financial_year"]), []).append(str(r["budget_id"]))
    return found


async def known_organisations(
    conn: asyncpg.Connection, ods_codes: Sequence[str], gss_codes: Sequence[str]
) -> tuple[set[str], set[str]]:
    """The registered commissioners and councils among those named."""
    commissioners = await conn.fetch(
        "SELECT ods_code FROM allocation.commissioners WHERE ods_code = ANY($1::text[])",
        list(ods_codes),
    )
    councils = await conn.fetch(
        "SELECT gss_code FROM allocation.councils WHERE gss_code = ANY($1::text[])",
        list(gss_codes),
    )
    return {r["ods_code"] for r in commissioners}, {r["gss_code"] for r in councils}


async def allocations_for_update(
    conn: asyncpg.Connection, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], Row]:
    """The commissioners' allocations of (ODS code, year), locked FOR UPDATE in key order (as
    a budget drawing NHS money locks its own) with their ring-fences: (allocation, fences)."""
    ordered = sorted(set(keys))
    rows = await conn.fetch(
        "SELECT a.* FROM allocation.commissioner_allocations a"
        " JOIN unnest($1::text[], $2::int[]) AS k(ods, year)"
        " ON a.commissioner_ods_code = k.ods AND a.financial_year = k.year"
        " ORDER BY a.commissioner_ods_code, a.financial_year FOR UPDATE OF a",
        [k[0] for k in ordered],
        [k[1] for k in ordered],
    )
    return {(r["commissioner_ods_code"], r["financial_year"]): r for r in rows}


async def ring_fences_of(
    conn: asyncpg.Connection, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], list[Row]]:
    """`get_ring_fences` of each (ODS code, year)."""
    ordered = sorted(set(keys))
    rows = await conn.fetch(
        "SELECT f.* FROM allocation.ring_fences f"
        " JOIN unnest($1::text[], $2::int[]) AS k(ods, year)"
        " ON f.commissioner_ods_code = k.ods AND f.financial_year = k.year ORDER BY f.cohort",
        [k[0] for k in ordered],
        [k[1] for k in ordered],
    )
    found: dict[tuple[str, int], list[Row]] = {}
    for r in rows:
        found.setdefault((r["commissioner_ods_code"], r["financial_year"]), []).append(r)
    return found


async def council_allocations_of(
    conn: asyncpg.Connection, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], Row]:
    """`get_council_allocation` of each (GSS code, year)."""
    ordered = sorted(set(keys))
    rows = await conn.fetch(
        "SELECT c.* FROM allocation.council_allocations c"
        " JOIN unnest($1::text[], $2::int[]) AS k(gss, year)"
        " ON c.council_gss_code = k.gss AND c.financial_year = k.year",
        [k[0] for k in ordered],
        [k[1] for k in ordered],
    )
    return {(r["council_gss_code"], r["financial_year"]): r for r in rows}


async def insert_budgets(conn: asyncpg.Connection, rows: Sequence[Mapping[str, Any]]) -> list[Row]:
    """Insert budget rows (all with the same columns) in one statement; the rows inserted."""
    if not rows:
        return []
    columns = ", ".join(rows[0])
    return list(
        await conn.fetch(
            f"INSERT INTO allocation.budgets ({columns}) SELECT {columns}"
            " FROM jsonb_populate_recordset(NULL::allocation.budgets, $1::jsonb) RETURNING *",
            _json_rows(rows),
        )
    )


async def insert_plan_lines(conn: asyncpg.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert plan lines (all with the same columns) in one statement, positioned in the order
    given."""
    if not rows:
        return
    columns = ", ".join(rows[0])
    await conn.execute(
        f"INSERT INTO allocation.plan_lines ({columns}) SELECT {columns}"
        " FROM jsonb_populate_recordset(NULL::allocation.plan_lines, $1::jsonb)"
        " WITH ORDINALITY AS r ORDER BY r.ordinality",
        _json_rows(rows),
    )
