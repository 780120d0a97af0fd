"""Migrations: applied once, in order, recorded; re-applying is a no-op; edits are refused."""

from __future__ import annotations

import asyncio

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
        assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
