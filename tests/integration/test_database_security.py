"""PostgreSQL trusts nobody (issue 14, ADR 16): a password per role (SCRAM-SHA-256), each service
only its own schema, no program run from SQL, and no password in a process's arguments or a log.

The attacks of the issue: `psql` as the `nobody` account got superuser, and `COPY ... TO PROGRAM`
ran commands; the server ran with group root.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import uuid
from pathlib import Path

import asyncpg
import pytest

from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.shared import db
from onebudget.shared.roles import (
    LEGACY_RUNTIME_ROLE,
    SERVICE_ROLES,
    runtime_database_url,
    service_role,
)
from onebudget.shared.runtime.infra import (
    LocalInfra,
    ensure_service_passwords_file,
    project_passwords_file,
)
from onebudget.shared.runtime.postgres import PG_ROLE, PG_SYSTEM_USER, LocalPostgres, _pg_bin_dir
from onebudget.shared.runtime.secrets import read_pgpass
from onebudget.shared.server import prepare_database
from tests.conftest import FreshDatabase


@pytest.fixture
def local_pg(infra: LocalInfra) -> LocalPostgres:
    if infra.postgres is None:
        pytest.skip("ONEBUDGET_DATABASE_URL points at a server these tests did not start")
    return infra.postgres


def _psql_without_password(pg: LocalPostgres, role: str, host: str, home: Path) -> str:
    """psql as `role` with no password file and no prompt: as `nobody` when we are root (any
    local account), else as ourselves. Returns what it printed; fails if it got in."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PGCONNECT_TIMEOUT": "5"}
    done = subprocess.run(
        [
            str(_pg_bin_dir() / "psql"),
            "-w",  # never prompt
            "-h",
            host,
            "-p",
            str(pg.port),
            "-U",
            role,
            "-d",
            "postgres",
            "-tAc",
            "SELECT 'got in as ' || current_user",
        ],
        user="nobody" if os.geteuid() == 0 else None,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode != 0, f"{role} got in without a password: {done.stdout}"
    assert "got in" not in done.stdout
    return done.stderr


@pytest.mark.parametrize("role", [PG_ROLE, "onebudget_payment", LEGACY_RUNTIME_ROLE])
def test_a_local_os_user_with_no_password_is_refused(
    local_pg: LocalPostgres, role: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o777)
    said = _psql_without_password(local_pg, role, "127.0.0.1", home)
    assert "password" in said.lower()


def test_the_server_socket_is_not_open_to_other_users(
    local_pg: LocalPostgres, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o777)
    # Over the Unix socket (in the server's 0700 folder): refused too.
    said = _psql_without_password(local_pg, PG_ROLE, str(local_pg.base_dir), home)
    assert said


async def test_every_rule_of_the_cluster_asks_for_a_scram_password(
    local_pg: LocalPostgres, pg_url: str
) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        methods = {r["auth_method"] for r in await conn.fetch("SELECT * FROM pg_hba_file_rules")}
        errors = await conn.fetchval(
            "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"
        )
        stored = await conn.fetch(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1::text[])",
            [PG_ROLE, *SERVICE_ROLES],
        )
    finally:
        await conn.close()
    assert methods == {"scram-sha-256"}
    assert errors == 0
    # Each role has a password, stored as a SCRAM verifier (never the clear text).
    assert len(stored) == 1 + len(SERVICE_ROLES)
    assert all(r["rolpassword"].startswith("SCRAM-SHA-256$4096:") for r in stored)
    assert "trust" not in (local_pg.data_dir / "pg_hba.conf").read_text().replace("trusted", "")
    # The data, and the password file, are the server's owner's alone.
    assert stat.S_IMODE(local_pg.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(local_pg.base_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(local_pg.passfile.stat().st_mode) == 0o600
    assert set(read_pgpass(local_pg.passfile)) == {PG_ROLE, *SERVICE_ROLES}


def test_no_password_is_in_a_process_arguments_or_the_server_log(local_pg: LocalPostgres) -> None:
    passwords = list(read_pgpass(local_pg.passfile).values())
    assert len(passwords) == 1 + len(SERVICE_ROLES)
    seen = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        seen += 1
        for password in passwords:
            assert password not in cmdline, f"a password in the arguments of pid {proc.name}"
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert seen > 1
    assert "postgres" in ps
    for password in passwords:
        assert password not in ps
    log = local_pg.log_file.read_text(errors="replace")
    for password in passwords:
        assert password not in log


def test_the_server_runs_as_its_own_user_and_group(local_pg: LocalPostgres) -> None:
    pid = int((local_pg.data_dir / "postmaster.pid").read_text().splitlines()[0])
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    uid = int(status["Uid"].split()[0])
    gid = int(status["Gid"].split()[0])
    groups = status["Groups"].split()
    if os.geteuid() != 0:
        # Not root: the server cannot be given another user; it runs as ours (ADR 16).
        assert uid == os.geteuid()
        return
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    assert (uid, gid) == (entry.pw_uid, entry.pw_gid)
    assert gid != 0
    assert groups in ([], [str(entry.pw_gid)])


@pytest.fixture
async def two_services_database(fresh_database: FreshDatabase) -> str:
    url = await fresh_database()
    pool = await db.create_pool(url, min_size=1, max_size=1)
    try:
        for spec in (ENTITLEMENT, PAYMENT, REPORTING):
            await prepare_database(pool, spec)
    finally:
        await pool.close()
    return url


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT count(*) FROM entitlement.outbox",
        "SELECT count(*) FROM entitlement.idempotency",
        "INSERT INTO entitlement.applied_events (consumer, event_id)"
        " VALUES ('x', gen_random_uuid())",
        "DELETE FROM entitlement.idempotency",
        "COPY (SELECT 1) TO PROGRAM 'id'",
        "CREATE SCHEMA intruder",
        "SET ROLE onebudget_entitlement",
        "CREATE ROLE intruder LOGIN PASSWORD 'x'",
        "ALTER ROLE onebudget_payment CREATEROLE",
        "ALTER ROLE onebudget_entitlement PASSWORD 'x'",
    ],
)
async def test_the_payment_role_cannot_touch_the_entitlement_schema_or_run_programs(
    two_services_database: str, statement: str
) -> None:
    conn = await asyncpg.connect(runtime_database_url(two_services_database, "payment"))
    try:
        assert await conn.fetchval("SELECT current_user") == "onebudget_payment"
        assert await conn.fetchval("SELECT count(*) FROM payment.outbox") == 0  # its own: yes
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_reporting_reads_the_ledger_but_cannot_call_its_writing_api(
    two_services_database: str,
) -> None:
    conn = await asyncpg.connect(runtime_database_url(two_services_database, "reporting"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM ledger.transfers") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(
                "SELECT ledger.create_accounts($1, $2, $3, $4, $5, $6, $7)",
                [uuid.uuid4()],
                ["payee"],
                ["x"],
                ["NHS"],
                [2027],
                [False],
                [False],
            )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("SELECT count(*) FROM payment.outbox")
    finally:
        await conn.close()


async def test_the_shared_role_of_adr_13_may_no_longer_log_in(two_services_database: str) -> None:
    conn = await asyncpg.connect(two_services_database)
    try:
        row = await conn.fetchrow(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", LEGACY_RUNTIME_ROLE
        )
        roles = await conn.fetch(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
            " FROM pg_roles WHERE rolname = ANY($1::text[])",
            list(SERVICE_ROLES),
        )
    finally:
        await conn.close()
    assert row is not None
    assert row["rolcanlogin"] is False
    assert len(roles) == len(SERVICE_ROLES)
    for role in roles:
        assert not any(role[k] for k in list(role.keys())[1:]), role["rolname"]


REFUSED_LOGINS = (
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.ClientConfigurationError,
)


@pytest.mark.parametrize("service", ["payment", "reporting"])
async def test_a_services_password_file_holds_its_own_role_only(
    two_services_database: str, service: str
) -> None:
    """What `onebudget up` gives a service (ADR 16, no superuser at run time): a 0600 password
    file with its own role's password, with which it serves as its role and cannot log in as
    the superuser (or another service), nor create a role."""
    passfile = ensure_service_passwords_file(service)
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    assert stat.S_IMODE(passfile.parent.stat().st_mode) == 0o700
    held = read_pgpass(passfile)
    assert set(held) == {service_role(service)}
    superuser_password = read_pgpass(project_passwords_file())[PG_ROLE]
    assert superuser_password not in passfile.read_text()

    own = runtime_database_url(two_services_database, service)
    conn = await asyncpg.connect(own, passfile=str(passfile))
    try:
        assert await conn.fetchval("SELECT current_user") == service_role(service)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE ROLE intruder")
    finally:
        await conn.close()
    other = "entitlement"
    for url in (two_services_database, runtime_database_url(two_services_database, other)):
        with pytest.raises(REFUSED_LOGINS):
            await asyncpg.connect(url, passfile=str(passfile))
