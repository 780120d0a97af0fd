"""PostgreSQL plumbing: the connection pool and versioned migrations.

Migrations are plain SQL files named `NNNN_what.sql` inside a package (one package per schema).
They are applied at start-up, in order, each in its own transaction, and recorded in
`public.schema_migrations` with a checksum; a file that changed after it was applied stops
start-up rather than leaving the database and the code silently apart. A transaction-level
advisory lock makes concurrent start-ups (two replicas) apply each migration once.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x0B0D6E7  # advisory lock id for "schema migrations"

_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS public.schema_migrations (
    component   text        NOT NULL,
    version     integer     NOT NULL,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


class MigrationError(RuntimeError):
    """A migration file changed after it was applied, or its name is malformed."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(package: str) -> list[Migration]:
    """The `NNNN_*.sql` files of `package`, in version order."""
    found: list[Migration] = []
    for entry in importlib.resources.files(package).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"bad migration file name {entry.name!r} in {package}")
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {package}")
    return found


async def apply_migrations(pool: asyncpg.Pool, component: str, package: str) -> list[str]:
    """Apply the not-yet-applied migrations of `package`; return the names applied now."""
    return await apply_migration_list(pool, component, load_migrations(package))


async def apply_migration_list(
    pool: asyncpg.Pool, component: str, migrations: list[Migration]
) -> list[str]:
    """Apply the not-yet-applied `migrations` of `component`, in order, each once."""
    applied_now: list[str] = []
    for migration in migrations:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(_BOOTSTRAP)
            row = await conn.fetchrow(
                "SELECT checksum FROM public.schema_migrations"
                " WHERE component = $1 AND version = $2",
                component,
                migration.version,
            )
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"{component} migration {migration.name} changed after it was applied"
                    )
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO public.schema_migrations (component, version, name, checksum)"
                " VALUES ($1, $2, $3, $4)",
                component,
                migration.version,
                migration.name,
                migration.checksum,
            )
            applied_now.append(migration.name)
    return applied_now


async def create_pool(
    url: str, *, min_size: int = 1, max_size: int = 10, command_timeout_s: float = 30.0
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, command_timeout=command_timeout_s
    )
    assert pool is not None
    return pool


def database_url_for(server_url: str, database: str) -> str:
    """The URL of another database on the same server as `server_url`."""
    return f"{server_url.rpartition('/')[0]}/{database}"


async def create_database(server_url: str, database: str) -> str:
    """Create an empty database beside `server_url`'s; return its URL."""
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    return database_url_for(server_url, database)


async def drop_database(server_url: str, database: str) -> None:
    """Drop a database beside `server_url`'s, closing its sessions (tests and benchmarks)."""
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A throw-away database for one run: yields its URL, drops it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = await create_database(server_url, name)
    try:
        yield url
    finally:
        await drop_database(server_url, name)
