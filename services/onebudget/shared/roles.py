"""The database roles: who may do what to which tables (ADR 13).

Start-up and run time are different people. A service migrates its schemas with the URL it is
given (`ONEBUDGET_DATABASE_URL`: a role that may create schemas and roles, the superuser of the
embedded server), then serves with a role that may only do what serving needs:

- `onebudget_ledger` (NOLOGIN) owns the `ledger` schema, its tables and its functions. Nobody logs
  in as it; the ledger API's functions (`ledger.append_transfers`, `ledger.create_accounts`,
  `ledger.begin_batch`, `ledger.apply_batch`, `ledger.expire_pending`) are SECURITY DEFINER and
  run as it, so they are the only way rows reach ledger tables.
- `onebudget_app` (LOGIN, not a superuser, no CREATEDB / CREATEROLE) is what the four services
  run as: all rights on the rows of their own schemas' tables, SELECT on the ledger's, EXECUTE on
  the ledger API. It holds no INSERT, UPDATE or DELETE on any ledger table, and owns nothing, so
  it cannot drop a trigger or disable one either.

Issue 14 grows this into one role per service with SCRAM passwords: the place to do it is here
(the roles) and in each schema's grants (`plumbing_migrations`), not the services' code, which
only ever sees `runtime_database_url`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

LEDGER_OWNER = "onebudget_ledger"
RUNTIME_ROLE = "onebudget_app"

# Roles are the server's, not a database's: every database of the server (each test's fresh
# one, the benchmarks') shares them, and two may migrate at once, so a role made by another
# start-up meanwhile is not an error. Every migration that names the roles starts with this (the
# ledger's 0050_owned_api.sql spells the same blocks out), so each stands on its own.
ENSURE_ROLES_SQL = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{LEDGER_OWNER}') THEN
        CREATE ROLE {LEDGER_OWNER} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{RUNTIME_ROLE}') THEN
        CREATE ROLE {RUNTIME_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
"""


def schema_grants(schema: str) -> str:
    """SQL giving the run-time role the rows of one service schema: its tables now, and those
    later migrations (run by the same migrating role) create."""
    return (
        ENSURE_ROLES_SQL
        + f"""
GRANT USAGE ON SCHEMA {schema} TO {RUNTIME_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {schema} TO {RUNTIME_ROLE};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {RUNTIME_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
    GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO {RUNTIME_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {RUNTIME_ROLE};
"""
    )


def runtime_database_url(migrate_url: str, explicit: str = "") -> str:
    """The URL a service serves with: `explicit` when given (ONEBUDGET_RUNTIME_DATABASE_URL),
    else `migrate_url`'s server and database as `onebudget_app`, without a password (the
    embedded server trusts loopback; a server that asks for one needs the explicit URL)."""
    if explicit:
        return explicit
    parts = urlsplit(migrate_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{RUNTIME_ROLE}@{host}"))
