"""Migrations: applied once, in order, recorded; re-applying is a no-op; edits are refused."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from onebudget.shared import db
from onebudget.shared.db import Migration, MigrationError
from tests.conftest import FreshDatabase

FIRST = Migration(1, "0001_a.sql", "CREATE SCHEMA demo; CREATE TABLE demo.t (x int);")
SECOND = Migration(2, "0002_b.sql", "ALTER TABLE demo.t ADD COLUMN y int;")


async def test_apply_twice_is_idempotent_and_recorded(fresh_database: FreshDatabase) -> None:
    pool = await db.create_pool(await fresh_database())
    try:
        assert await db.apply_migration_list(pool, "demo", [FIRST, SECOND]) == [
            "0001_a.sql",
            "0002_b.sql",
        ]
        assert await db.apply_migration_list(pool, "demo", [FIRST, SECOND]) == []
        rows = await pool.fetch(
            "SELECT version, name FROM public.schema_migrations WHERE component = 'demo'"
            " ORDER BY version"
        )
        assert [(r["version"], r["name"]) for r in rows] == [(1, "0001_a.sql"), (2, "0002_b.sql")]
    finally:
        await pool.close()


async def test_concurrent_start_ups_apply_each_migration_once(
    fresh_database: FreshDatabase,
) -> None:
    pool = await db.create_pool(await fresh_database(), max_size=6)
    try:
        results = await asyncio.gather(
            *(db.apply_migration_list(pool, "demo", [FIRST, SECOND]) for _ in range(4))
        )
        assert sorted(name for applied in results for name in applied) == [
            "0001_a.sql",
            "0002_b.sql",
        ]
    finally:
        await pool.close()


async def test_a_changed_migration_stops_start_up(fresh_database: FreshDatabase) -> None:
    pool = await db.create_pool(await fresh_database())
    try:
        await db.apply_migration_list(pool, "demo", [FIRST])
        edited = Migration(1, "0001_a.sql", FIRST.sql + " -- edited")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await db.apply_migration_list(pool, "demo", [edited])
    finally:
        await pool.close()


def test_every_service_package_has_well_named_migrations() -> None:
    for service in ("entitlement", "allocation", "payment", "reporting"):
        migrations = db.load_migrations(f"onebudget.{service}.migrations")
        assert migrations, service
        versions = [m.version for m in migrations]
        # From 1, strictly increasing; gaps allowed: parallel branches take reserved ranges
        # (allocation and payment 0020 came from issue 13's eligibility branch).
        assert versions[0] == 1, service
        assert versions == sorted(set(versions)), service


async def test_payment_0003_backfills_each_lines_commitment_per_stream(
    fresh_database: FreshDatabase,
) -> None:
    """Lines paid before per-stream commitments existed get them from their payments: released
    and confirmed less returned, live reservations held, cancelled and expired nothing."""
    migrations = db.load_migrations("onebudget.payment.migrations")
    assert [m.name for m in migrations][2] == "0003_committed_per_stream.sql"
    pool = await db.create_pool(await fresh_database())
    try:
        await db.apply_migration_list(pool, "payment", migrations[:2])
        budget, line, idle, payee = (uuid.uuid4() for _ in range(4))
        await pool.execute(
            "INSERT INTO payment.budgets (budget_id, state) VALUES ($1, 'AGREED')", budget
        )
        for line_id, committed in ((line, 1_000 - 100 + 300 + 500), (idle, 0)):
            await pool.execute(
                "INSERT INTO payment.plan_lines (plan_line_id, budget_id, category, cost_pence,"
                " nhs_bp, council_bp, client_bp, committed_pence)"
                " VALUES ($1, $2, 'personal_care', 10000, 6000, 4000, 0, $3)",
                line_id,
                budget,
                committed,
            )
        await pool.execute(
            "INSERT INTO payment.payees (payee_id, kind, name) VALUES ($1, 'PROVIDER', 'p')",
            payee,
        )
        rows = [
            # state, kind, paid (nhs, council), reserved (nhs, council), returned (nhs, council)
            ("RELEASED", "RELEASE", (600, 400), (0, 0), (60, 40)),
            ("RESERVED", "RESERVATION", (0, 0), (180, 120), (0, 0)),
            ("CONFIRMED", "RESERVATION", (300, 200), (301, 200), (0, 0)),
            ("CANCELLED", "RESERVATION", (0, 0), (70, 30), (0, 0)),
            ("EXPIRED", "RESERVATION", (0, 0), (7, 3), (0, 0)),
        ]
        for state, kind, paid, held, back in rows:
            await pool.execute(
                "INSERT INTO payment.payments (payment_id, kind, state, budget_id, plan_line_id,"
                " payee_id, amount_pence, nhs_pence, council_pence, client_pence,"
                " reserved_pence, reserved_nhs_pence, reserved_council_pence,"
                " reserved_client_pence, returned_pence, returned_nhs_pence,"
                " returned_council_pence, returned_client_pence)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, 0, $13, $14,"
                " $15, 0)",
                uuid.uuid4(),
                kind,
                state,
                budget,
                line,
                payee,
                sum(paid),
                *paid,
                sum(held),
                *held,
                sum(back),
                *back,
            )
        assert await db.apply_migration_list(pool, "payment", migrations) == [
            m.name for m in migrations[2:]
        ]
        got = {
            r["plan_line_id"]: tuple(r)[1:]
            for r in await pool.fetch(
                "SELECT plan_line_id, committed_pence, committed_nhs_pence,"
                " committed_council_pence, committed_client_pence FROM payment.plan_lines"
            )
        }
        # NHS: 600 - 60 + 180 + 300; council: 400 - 40 + 120 + 200.
        assert got == {line: (1_700, 1_020, 680, 0), idle: (0, 0, 0, 0)}
    finally:
        await pool.close()


async def test_payment_0030_gives_each_direct_payment_account_its_one_holder(
    fresh_database: FreshDatabase,
) -> None:
    """Accounts from before holders were recorded: one paid (or scheduled) from one person's
    budgets gets that person; one paid from two people's budgets, or never used, gets none."""
    migrations = db.load_migrations("onebudget.payment.migrations")
    index = next(i for i, m in enumerate(migrations) if m.version == 30)
    pool = await db.create_pool(await fresh_database())
    try:
        await db.apply_migration_list(pool, "payment", migrations[:index])
        alice, bob = uuid.uuid4(), uuid.uuid4()
        budgets = {alice: uuid.uuid4(), bob: uuid.uuid4()}
        for person, budget in budgets.items():
            await pool.execute(
                "INSERT INTO payment.budgets (budget_id, state, person_id)"
                " VALUES ($1, 'AGREED', $2)",
                budget,
                person,
            )
        line = uuid.uuid4()
        await pool.execute(
            "INSERT INTO payment.plan_lines (plan_line_id, budget_id, category, cost_pence,"
            " nhs_bp, council_bp, client_bp) VALUES ($1, $2, 'personal_care', 10000, 10000, 0, 0)",
            line,
            budgets[bob],
        )
        paid_once, scheduled, shared, idle, provider = (uuid.uuid4() for _ in range(5))
        for payee, kind in (
            (paid_once, "DIRECT_PAYMENT_ACCOUNT"),
            (scheduled, "DIRECT_PAYMENT_ACCOUNT"),
            (shared, "DIRECT_PAYMENT_ACCOUNT"),
            (idle, "DIRECT_PAYMENT_ACCOUNT"),
            (provider, "PROVIDER"),
        ):
            await pool.execute(
                "INSERT INTO payment.payees (payee_id, kind, name) VALUES ($1, $2, 'p')",
                payee,
                kind,
            )
        for payee, person in (
            (paid_once, alice),
            (paid_once, alice),
            (shared, alice),
            (shared, bob),
            (provider, bob),
        ):
            await pool.execute(
                "INSERT INTO payment.payments (payment_id, kind, state, budget_id, plan_line_id,"
                " payee_id, amount_pence, nhs_pence, council_pence, client_pence)"
                " VALUES ($1, 'RELEASE', 'RELEASED', $2, $3, $4, 100, 100, 0, 0)",
                uuid.uuid4(),
                budgets[person],
                line,
                payee,
            )
        await pool.execute(
            "INSERT INTO payment.schedules (schedule_id, budget_id, plan_line_id, payee_id,"
            " instalment_pence, every_weeks, start_date, state, next_due_date)"
            " VALUES ($1, $2, $3, $4, 100, 4, '2026-04-01', 'ACTIVE', '2026-04-01')",
            uuid.uuid4(),
            budgets[bob],
            line,
            scheduled,
        )
        await db.apply_migration_list(pool, "payment", migrations)
        got = dict(await pool.fetch("SELECT payee_id, person_id FROM payment.payees"))
        assert got == {paid_once: alice, scheduled: bob, shared: None, idle: None, provider: None}
        with pytest.raises(asyncpg.CheckViolationError):  # a new account must name its holder
            await pool.execute(
                "INSERT INTO payment.payees (payee_id, kind, name)"
                " VALUES ($1, 'DIRECT_PAYMENT_ACCOUNT', 'p')",
                uuid.uuid4(),
            )
    finally:
        await pool.close()
