"""The read model's tables (schema `reporting`): idempotent writes of facts, and the reads that
turn them back into domain facts. Every write is an upsert keyed by the fact's id, so applying
the same fact twice, or facts in another order, leaves the same rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from onebudget.reporting.domain import periods
from onebudget.reporting.domain.model import (
    Allocation,
    Budget,
    CouncilPot,
    Movement,
    NhsDraw,
    Option,
    RingFence,
)

READ_MODEL_TABLES = (
    "commissioner_allocations",
    "ring_fences",
    "council_pots",
    "budgets",
    "commitments",
    "nhs_funding",
    "plan_lines",
    "plan_line_removals",
    "payment_moves",
    "phb_requests",
    "funder_returns",
    "nhs_funding_returns",
    "people",
)


# -- writes --------------------------------------------------------------------------------------


async def put_allocation(
    conn: asyncpg.Connection, allocation: Allocation, account_id: uuid.UUID | None
) -> None:
    await conn.execute(
        "INSERT INTO reporting.commissioner_allocations (commissioner_ods_code, financial_year,"
        " allocation_pence, target_basis_points, target_pence, allocation_account_id)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (commissioner_ods_code, financial_year) DO UPDATE SET"
        " allocation_pence = EXCLUDED.allocation_pence,"
        " target_basis_points = EXCLUDED.target_basis_points,"
        " target_pence = EXCLUDED.target_pence,"
        " allocation_account_id = EXCLUDED.allocation_account_id",
        allocation.commissioner,
        allocation.year,
        allocation.allocation_pence,
        allocation.target_basis_points,
        allocation.target_pence,
        account_id,
    )
    await conn.executemany(
        "INSERT INTO reporting.ring_fences (commissioner_ods_code, financial_year, cohort,"
        " basis_points, target_pence, account_id) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT DO NOTHING",
        [
            (
                allocation.commissioner,
                allocation.year,
                f.cohort,
                f.basis_points,
                f.target_pence,
                uuid.UUID(f.account_id),
            )
            for f in allocation.ring_fences
        ],
    )


async def put_close(conn: asyncpg.Connection, ods: str, year: int, closed_on: date) -> None:
    await conn.execute(
        "INSERT INTO reporting.commissioner_allocations (commissioner_ods_code, financial_year,"
        " closed_on) VALUES ($1, $2, $3)"
        " ON CONFLICT (commissioner_ods_code, financial_year) DO UPDATE SET"
        " closed_on = EXCLUDED.closed_on",
        ods,
        year,
        closed_on,
    )


async def put_council_pot(conn: asyncpg.Connection, pot: CouncilPot, account_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO reporting.council_pots VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        pot.council,
        pot.year,
        pot.pot_pence,
        account_id,
    )


async def put_budget(conn: asyncpg.Connection, b: Budget) -> None:
    """Identity columns are the same on every budget event; dates fill in as they arrive."""
    await conn.execute(
        "INSERT INTO reporting.budgets (budget_id, person_id, commissioner_ods_code,"
        " council_gss_code, financial_year, cohort, child, start_date, end_date, agreed_on,"
        " ended_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (budget_id) DO UPDATE SET"
        " start_date = coalesce(EXCLUDED.start_date, budgets.start_date),"
        " end_date = coalesce(EXCLUDED.end_date, budgets.end_date),"
        " agreed_on = coalesce(EXCLUDED.agreed_on, budgets.agreed_on),"
        " ended_on = coalesce(EXCLUDED.ended_on, budgets.ended_on)",
        uuid.UUID(b.budget_id),
        uuid.UUID(b.person_id),
        b.commissioner,
        b.council,
        b.year,
        b.cohort,
        b.child,
        b.start_date,
        b.end_date,
        b.agreed_on,
        b.ended_on,
    )


async def put_commitment(conn: asyncpg.Connection, m: Movement, version: int, kind: str) -> None:
    await conn.execute(
        "INSERT INTO reporting.commitments VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT DO NOTHING",
        uuid.UUID(m.budget_id),
        version,
        kind,
        m.on,
        m.nhs_pence,
        m.council_pence,
        m.client_pence,
    )


async def put_nhs_funding(
    conn: asyncpg.Connection, draws: Sequence[NhsDraw], version: int, accounts: Sequence[str]
) -> None:
    """Where one budget event's NHS money came from or went to (`accounts[i]` is draw i's ledger
    account, "" when the event named none)."""
    assert len(draws) == len(accounts)
    for position, (d, account) in enumerate(zip(draws, accounts, strict=True)):
        await conn.execute(
            "INSERT INTO reporting.nhs_funding VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT DO NOTHING",
            uuid.UUID(d.budget_id),
            version,
            position,
            d.on,
            uuid.UUID(account) if account else None,
            d.ring_fence,
            d.cohort,
            d.pence,
        )


@dataclass(frozen=True)
class LineFact:
    plan_line_id: str
    management_option: str
    nhs_pence: int
    council_pence: int
    client_pence: int


async def put_plan_lines(
    conn: asyncpg.Connection, budget_id: str, lines: Sequence[LineFact]
) -> None:
    await conn.executemany(
        "INSERT INTO reporting.plan_lines VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        [
            (
                uuid.UUID(budget_id),
                uuid.UUID(x.plan_line_id),
                x.management_option,
                x.nhs_pence,
                x.council_pence,
                x.client_pence,
            )
            for x in lines
        ],
    )


async def put_plan_line_removals(
    conn: asyncpg.Connection, budget_id: str, plan_line_ids: Sequence[str]
) -> None:
    await conn.executemany(
        "INSERT INTO reporting.plan_line_removals VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(uuid.UUID(budget_id), uuid.UUID(x)) for x in plan_line_ids],
    )


async def put_payment_move(conn: asyncpg.Connection, key: str, kind: str, m: Movement) -> None:
    await conn.execute(
        "INSERT INTO reporting.payment_moves VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT DO NOTHING",
        key,
        uuid.UUID(m.budget_id),
        kind,
        m.on,
        m.nhs_pence,
        m.council_pence,
        m.client_pence,
    )


async def put_nhs_funding_return(
    conn: asyncpg.Connection, key: str, draws: Sequence[NhsDraw], accounts: Sequence[str]
) -> None:
    """Where one payment event sent a budget's NHS money back (negative draws, by account)."""
    for position, (d, account) in enumerate(zip(draws, accounts, strict=True)):
        await conn.execute(
            "INSERT INTO reporting.nhs_funding_returns VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT DO NOTHING",
            key,
            position,
            uuid.UUID(d.budget_id),
            d.on,
            uuid.UUID(account) if account else None,
            d.ring_fence,
            d.cohort,
            d.pence,
        )


async def put_funder_return(conn: asyncpg.Connection, key: str, m: Movement) -> None:
    """What a repayment receipt sent back from the budget to its funders (negative pence)."""
    await conn.execute(
        "INSERT INTO reporting.funder_returns VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT DO NOTHING",
        key,
        uuid.UUID(m.budget_id),
        m.on,
        m.nhs_pence,
        m.council_pence,
        m.client_pence,
    )


async def put_birth_date(
    conn: asyncpg.Connection, person_id: str, date_of_birth: date, *, correction: bool
) -> None:
    """A person's date of birth: registration records it once; a correction replaces it."""
    action = "UPDATE SET date_of_birth = EXCLUDED.date_of_birth" if correction else "NOTHING"
    await conn.execute(
        "INSERT INTO reporting.people (person_id, date_of_birth) VALUES ($1, $2)"
        f" ON CONFLICT (person_id) DO {action}",
        uuid.UUID(person_id),
        date_of_birth,
    )


async def put_phb_request(
    conn: asyncpg.Connection,
    request_id: str,
    person_id: str,
    ods: str,
    category: str,
    child: bool,
    requested_on: date | None,
) -> None:
    await conn.execute(
        "INSERT INTO reporting.phb_requests (phb_request_id, person_id, commissioner_ods_code,"
        " category, child, requested_on) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (phb_request_id) DO UPDATE SET requested_on = EXCLUDED.requested_on",
        uuid.UUID(request_id),
        uuid.UUID(person_id),
        ods,
        category,
        child,
        requested_on,
    )


async def put_phb_decision(
    conn: asyncpg.Connection,
    request_id: str,
    person_id: str,
    ods: str,
    category: str,
    child: bool,
    outcome: str,
    decided_on: date | None,
) -> None:
    """The latest decision wins (a reconsideration is decided after the refusal it revisits)."""
    await conn.execute(
        "INSERT INTO reporting.phb_requests (phb_request_id, person_id, commissioner_ods_code,"
        " category, child, outcome, decided_on) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (phb_request_id) DO UPDATE SET outcome = EXCLUDED.outcome,"
        " decided_on = EXCLUDED.decided_on"
        " WHERE phb_requests.decided_on IS NULL OR phb_requests.decided_on <= EXCLUDED.decided_on",
        uuid.UUID(request_id),
        uuid.UUID(person_id),
        ods,
        category,
        child,
        outcome,
        decided_on,
    )


async def wipe(conn: asyncpg.Connection) -> None:
    """Empty the read model and forget which events were applied (a replay refills both)."""
    tables = ", ".join(f"reporting.{t}" for t in (*READ_MODEL_TABLES, "applied_events"))
    await conn.execute(f"TRUNCATE {tables}")


async def set_rebuild_targets(
    conn: asyncpg.Connection, targets: dict[str, tuple[int, int]]
) -> None:
    """Record what a rebuild replays: per stream, (first, last) sequence at its start."""
    await conn.execute("DELETE FROM reporting.rebuild_targets")
    await conn.executemany(
        "INSERT INTO reporting.rebuild_targets (stream, first_seq, target_seq) VALUES ($1, $2, $3)",
        [(stream, first, last) for stream, (first, last) in targets.items()],
    )


async def rebuild_targets(conn: asyncpg.Connection) -> dict[str, tuple[int, int]]:
    rows = await conn.fetch("SELECT stream, first_seq, target_seq FROM reporting.rebuild_targets")
    return {r["stream"]: (r["first_seq"], r["target_seq"]) for r in rows}


async def clear_rebuild_targets(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM reporting.rebuild_targets")


# -- reads ---------------------------------------------------------------------------------------


async def commissioner_known(conn: asyncpg.Connection, ods: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM reporting.commissioner_allocations"
            " WHERE commissioner_ods_code = $1)",
            ods,
        )
    )


async def get_allocation(conn: asyncpg.Connection, ods: str, year: int) -> Allocation | None:
    row = await conn.fetchrow(
        "SELECT * FROM reporting.commissioner_allocations"
        " WHERE commissioner_ods_code = $1 AND financial_year = $2"
        " AND allocation_pence IS NOT NULL",
        ods,
        year,
    )
    if row is None:
        return None
    fences = await conn.fetch(
        "SELECT cohort, basis_points, target_pence, account_id FROM reporting.ring_fences"
        " WHERE commissioner_ods_code = $1 AND financial_year = $2 ORDER BY cohort",
        ods,
        year,
    )
    return Allocation(
        commissioner=ods,
        year=year,
        allocation_pence=row["allocation_pence"],
        target_basis_points=row["target_basis_points"],
        target_pence=row["target_pence"],
        ring_fences=tuple(
            RingFence(f["cohort"], f["basis_points"], f["target_pence"], str(f["account_id"]))
            for f in fences
        ),
        closed_on=row["closed_on"],
    )


async def get_council_pot(conn: asyncpg.Connection, gss: str, year: int) -> CouncilPot | None:
    row = await conn.fetchrow(
        "SELECT pot_pence FROM reporting.council_pots"
        " WHERE council_gss_code = $1 AND financial_year = $2",
        gss,
        year,
    )
    return None if row is None else CouncilPot(gss, year, row["pot_pence"])


_BUDGETS = """
SELECT b.*, max(p.date_of_birth) AS date_of_birth,
    coalesce(array_agg(DISTINCT l.management_option) FILTER (WHERE l.nhs_pence > 0), '{}')
        AS nhs_options,
    coalesce(array_agg(DISTINCT l.management_option)
        FILTER (WHERE l.council_pence + l.client_pence > 0), '{}') AS council_options
FROM reporting.budgets b
LEFT JOIN reporting.people p ON p.person_id = b.person_id
LEFT JOIN reporting.plan_lines l ON l.budget_id = b.budget_id AND NOT EXISTS (
    SELECT 1 FROM reporting.plan_line_removals r
    WHERE r.budget_id = l.budget_id AND r.plan_line_id = l.plan_line_id)
WHERE b.OWNER_COLUMN = $1 AND b.financial_year = $2
GROUP BY b.budget_id
ORDER BY b.budget_id
"""


def _options(values: Sequence[str]) -> frozenset[Option]:
    return frozenset(Option(v) for v in values if v in Option.__members__)


def _budget(row: asyncpg.Record) -> Budget:
    return Budget(
        budget_id=str(row["budget_id"]),
        person_id=str(row["person_id"]),
        commissioner=row["commissioner_ods_code"],
        council=row["council_gss_code"],
        year=row["financial_year"],
        cohort=row["cohort"],
        child=row["child"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        agreed_on=row["agreed_on"],
        ended_on=row["ended_on"],
        nhs_options=_options(row["nhs_options"]),
        council_options=_options(row["council_options"]),
        date_of_birth=row["date_of_birth"],
    )


@dataclass(frozen=True)
class BudgetFacts:
    budgets: list[Budget]
    commitments: list[Movement]
    nhs_draws: list[NhsDraw]


async def _nhs_draws(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> list[NhsDraw]:
    rows = await conn.fetch(
        "SELECT budget_id, on_date, ring_fence, cohort, pence FROM reporting.nhs_funding"
        " WHERE budget_id = ANY($1::uuid[])"
        " UNION ALL"
        # A return names its ring-fence by account; its cohort is the one under which that
        # account funded the budget, read now (not when the return was applied: events may
        # arrive in any order, the budget's own after the return's).
        " SELECT r.budget_id, r.on_date, r.ring_fence,"
        "  CASE WHEN r.ring_fence THEN (SELECT f.cohort FROM reporting.nhs_funding f"
        "   WHERE f.budget_id = r.budget_id AND f.account_id = r.account_id AND f.ring_fence"
        "   LIMIT 1) ELSE '' END,"
        "  r.pence FROM reporting.nhs_funding_returns r"
        " WHERE r.budget_id = ANY($1::uuid[])",
        ids,
    )
    return [
        NhsDraw(str(r["budget_id"]), r["on_date"], r["ring_fence"], r["cohort"], r["pence"])
        for r in rows
    ]


async def _movements(conn: asyncpg.Connection, table: str, ids: list[uuid.UUID]) -> list[Movement]:
    rows = await conn.fetch(
        f"SELECT budget_id, on_date, nhs_pence, council_pence, client_pence FROM reporting.{table}"
        " WHERE budget_id = ANY($1::uuid[])",
        ids,
    )
    return [
        Movement(
            str(r["budget_id"]), r["on_date"], r["nhs_pence"], r["council_pence"], r["client_pence"]
        )
        for r in rows
    ]


async def budget_facts(
    conn: asyncpg.Connection, *, year: int, commissioner: str = "", council: str = ""
) -> BudgetFacts:
    """The commissioner's (or council's) budgets for the year, with their commitments and NHS
    draws (payments: `payments_by_period`)."""
    assert bool(commissioner) != bool(council)
    owner = "commissioner_ods_code" if commissioner else "council_gss_code"
    rows = await conn.fetch(_BUDGETS.replace("OWNER_COLUMN", owner), commissioner or council, year)
    budgets = [_budget(r) for r in rows]
    ids = [uuid.UUID(b.budget_id) for b in budgets]
    # What a repayment sent back to the funders leaves the budget as an end's return does.
    commitments = await _movements(conn, "commitments", ids)
    commitments += await _movements(conn, "funder_returns", ids)
    return BudgetFacts(budgets, commitments, await _nhs_draws(conn, ids))


# Payments summed per period in PostgreSQL: the thresholds are the day after each cutoff, so
# width_bucket puts a day in bucket k when it lies after k cutoffs (0: up to Q1's end, ..., 4:
# after the year's end). Each sum is dated by its latest day, which lies after the same
# cutoffs as every day it sums.
_PAYMENTS_BY_PERIOD = """
SELECT max(on_date) AS on_date, sum(nhs_pence)::bigint AS nhs_pence,
    sum(council_pence)::bigint AS council_pence, sum(client_pence)::bigint AS client_pence
FROM reporting.payment_moves
WHERE budget_id = ANY($1::uuid[])
GROUP BY width_bucket(on_date, $2::date[])
ORDER BY 1
"""


async def payments_by_period(
    conn: asyncpg.Connection, budgets: Sequence[Budget], year: int
) -> list[Movement]:
    """Money paid out of `budgets` (+) and back (-), in pence per stream, summed over the
    budgets per period between two of `periods.cutoffs(year)`: at most five movements, each
    dated by the latest day it sums and naming no budget (budget_id ""). Every total a figure
    takes of them up to a cutoff, or of all of them, is the total of the payments themselves;
    a report reads five rows, not every payment of the year (issue 17: 2 million)."""
    thresholds = [cutoff + timedelta(days=1) for cutoff in periods.cutoffs(year)]
    rows = await conn.fetch(
        _PAYMENTS_BY_PERIOD, [uuid.UUID(b.budget_id) for b in budgets], thresholds
    )
    return [
        Movement("", r["on_date"], r["nhs_pence"], r["council_pence"], r["client_pence"])
        for r in rows
    ]
