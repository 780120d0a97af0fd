"""The database roles: who may do what to which tables (ADR 13, ADR 16).

Start-up and run time are different people. A service migrates its schemas with the URL it is
given (`ONEBUDGET_DATABASE_URL`: a role that may create schemas and roles, the superuser of the
embedded server), then serves with a role that may only do what serving needs:

- `onebudget_ledger` (NOLOGIN) owns the `ledger` schema, its tables and its functions. Nobody logs
  in as it; the ledger API's functions (`ledger.append_transfers`, `ledger.create_accounts`,
  `ledger.begin_batch`, `ledger.apply_batch`, `ledger.expire_pending`) are SECURITY DEFINER and
  run as it, so they are the only way rows reach ledger tables.
- One LOGIN role per service (ADR 16): `onebudget_entitlement`, `onebudget_allocation`,
  `onebudget_payment`, `onebudget_reporting` (not superusers, no CREATEDB / CREATEROLE), each
  with its own SCRAM-SHA-256 password. Each holds all rights on the rows of its own schema's
  tables and nothing on another service's schema (plumbing migration 80).
- The ledger's users are two NOLOGIN groups (ledger migration 0080): `onebudget_ledger_reader`
  (SELECT on the ledger's tables: reporting) and `onebudget_ledger_writer` (the reader's rights
  and EXECUTE on the ledger API: allocation and payment). Neither holds INSERT, UPDATE or DELETE
  on a ledger table, and they own nothing, so they cannot drop or disable a trigger either.
- `onebudget_app`, the one run-time role of ADR 13, is NOLOGIN from migration 80 on and holds no
  rights on a service schema or the ledger.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

LEDGER_OWNER = "onebudget_ledger"
LEGACY_RUNTIME_ROLE = "onebudget_app"  # ADR 13's one role; NOLOGIN since migration 80
LEDGER_READER = "onebudget_ledger_reader"
LEDGER_WRITER = "onebudget_ledger_writer"
# The services, each with the login role it serves as (its schema has the service's name).
SERVICES = ("entitlement", "allocation", "payment", "reporting")


def service_role(service: str) -> str:
    """The LOGIN role `service` (one of SERVICES) serves as: `onebudget_<service>`."""
    if service not in SERVICES:
        raise ValueError(f"no database role for service {service!r}")
    return f"onebudget_{service}"


SERVICE_ROLES = tuple(service_role(s) for s in SERVICES)


def _ensure_role(name: str, options: str) -> str:
    return f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
        CREATE ROLE {name} {options};
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;"""


_LOGIN = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION"

# Roles are the server's, not a database's: every database of the server (each test's fresh
# one, the benchmarks') shares them, and two may migrate at once, so a role made by another
# start-up meanwhile is not an error. Every migration that names the roles starts with this (the
# ledger's 0050_owned_api.sql spells the same blocks out), so each stands on its own. (Applied
# migrations are checked by their text: ADR 13's blocks below stay exactly as they were.)
RUNTIME_ROLE = LEGACY_RUNTIME_ROLE
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
# The per-service roles and the ledger's two groups (a role made here has no password: the
# embedded server's start-up gives each its own, shared/runtime/postgres.py; elsewhere the
# database administrator does).
ENSURE_SERVICE_ROLES_SQL = "".join(_ensure_role(role, _LOGIN) for role in SERVICE_ROLES) + "".join(
    _ensure_role(group, "NOLOGIN") for group in (LEDGER_READER, LEDGER_WRITER)
)


def schema_grants(schema: str) -> str:
    """SQL giving the run-time role the rows of one service schema: its tables now, and those
    later migrations (run by the same migrating role) create. (Plumbing migration 50, ADR 13;
    taken back by `service_schema_grants`, migration 80.)"""
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


def service_schema_grants(schema: str) -> str:
    """SQL giving the service named like `schema` (its own role only) the rows of its schema:
    its tables now, and those later migrations (run by the same migrating role) create; and
    taking them from ADR 13's shared role, which may no longer log in (plumbing migration 80)."""
    role = service_role(schema)
    old = LEGACY_RUNTIME_ROLE
    return (
        ENSURE_ROLES_SQL
        + ENSURE_SERVICE_ROLES_SQL
        + f"""
GRANT USAGE ON SCHEMA {schema} TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {schema} TO {role};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
    GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role};
REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {old};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {old};
REVOKE ALL ON SCHEMA {schema} FROM {old};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {old};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {old};
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{old}' AND rolcanlogin) THEN
        ALTER ROLE {old} NOLOGIN;
    END IF;
END $$;
"""
    )


def runtime_database_url(migrate_url: str, service: str, explicit: str = "") -> str:
    """The URL `service` serves with: `explicit` when given (ONEBUDGET_RUNTIME_DATABASE_URL),
    else `migrate_url`'s server and database as the service's own role, without a password in
    the URL: the client finds it in the password file PGPASSFILE names (the embedded server's
    is written 0600 under `.onebudget/`; shared/runtime/postgres.py)."""
    if explicit:
        return explicit
    parts = urlsplit(migrate_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{service_role(service)}@{host}"))
