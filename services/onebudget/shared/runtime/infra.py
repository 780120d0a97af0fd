"""Start what the process needs: PostgreSQL and NATS, unless their URLs are given.

When `ONEBUDGET_DATABASE_URL` / `ONEBUDGET_NATS_URL` are set, those servers are used as they are.
Otherwise an embedded PostgreSQL and a NATS server with JetStream start under `.onebudget/<name>/`
on free loopback ports, and `stop()` stops exactly what was started here. The embedded server
asks every client for a password (ADR 16): this process, and the services it starts, find them in
the project's password file (`.onebudget/pgpass`, 0600; the same passwords for every embedded
server of the project), which `start()` names in PGPASSFILE (libpq's and asyncpg's variable).
The embedded NATS serves TLS only, with a certificate of the project's CA (shared/runtime/
certs.py), which this process and the services it starts verify it with (ONEBUDGET_TLS_CA_FILE).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from onebudget.shared.bus import (
    OPERATOR_USER,
    PASSWORD_FILE_VARIABLE,
    USER_VARIABLE,
    nats_user,
)
from onebudget.shared.roles import SERVICES, service_role
from onebudget.shared.runtime.certs import local_ca
from onebudget.shared.runtime.nats import LocalNats, LocalNatsCluster
from onebudget.shared.runtime.ports import pid_alive
from onebudget.shared.runtime.postgres import LocalPostgres
from onebudget.shared.runtime.secrets import (
    ensure_passwords,
    ensure_secret_file,
    pgpass_text,
    stat_mode,
    write_private,
)
from onebudget.shared.sealing import KEY_FILE_VARIABLE, new_key_text
from onebudget.shared.tls import CA_FILE_VARIABLE

NATS_CERTIFICATE_NAME = "nats"  # the embedded NATS server's certificate: .onebudget/tls/nats.pem


def project_state_dir() -> Path:
    """`.onebudget/` in the project (git-ignored), or ONEBUDGET_STATE_DIR."""
    explicit = os.environ.get("ONEBUDGET_STATE_DIR")
    if explicit:
        return Path(explicit).resolve()
    return Path.cwd().resolve() / ".onebudget"


def project_passwords_file() -> Path:
    """The password file (0600) of every embedded PostgreSQL of the project: one superuser
    password and one per service role, made once (ADR 16); PGPASSFILE names it."""
    return project_state_dir() / "pgpass"


def service_passwords_file(service: str) -> Path:
    """The password file (0600) of one service's process (ADR 16): only its own role's
    password, never the superuser's; `onebudget up` names it in that service's PGPASSFILE."""
    return project_state_dir() / "pgpass.d" / service


def ensure_service_passwords_file(service: str) -> Path:
    """Write `service_passwords_file(service)` from the project's password file: the one line
    of the service's role (made if missing; rewritten when it or its mode differs)."""
    role = service_role(service)
    passwords = ensure_passwords(project_passwords_file(), (role,))
    path = service_passwords_file(service)
    text = pgpass_text({role: passwords[role]})
    if not path.exists() or stat_mode(path) != 0o600 or path.read_text() != text:
        write_private(path, text)
    path.parent.chmod(0o700)
    return path


NATS_USERS = (OPERATOR_USER, *(nats_user(s) for s in SERVICES))


def nats_password_file(user: str) -> Path:
    """The file (0600) holding the password of NATS user `user` on the project's embedded
    servers (ONEBUDGET_NATS_PASSWORD_FILE)."""
    return project_state_dir() / "nats-credentials" / user


def project_nats_users() -> dict[str, str]:
    """Every NATS user's password (made once, ADR 16), each also in its own password file."""
    passwords = ensure_passwords(project_state_dir() / "nats-passwords", NATS_USERS)
    for user in NATS_USERS:
        path = nats_password_file(user)
        if not path.exists() or stat_mode(path) != 0o600 or path.read_text() != passwords[user]:
            write_private(path, passwords[user])
    return passwords


@dataclass
class LocalInfra:
    name: str
    fresh: bool = False
    tuned_for_tests: bool = False
    nats_cluster_size: int = 1  # 1: one JetStream server; 3 or more: a cluster on loopback
    database_url: str = ""
    nats_url: str = ""
    postgres: LocalPostgres | None = field(default=None, repr=False)
    nats: LocalNats | LocalNatsCluster | None = field(default=None, repr=False)

    def start(self) -> LocalInfra:
        base = project_state_dir() / self.name
        # The key that seals personal data in events (shared/sealing.py), made once per project.
        if not os.environ.get(KEY_FILE_VARIABLE):
            key = ensure_secret_file(project_state_dir() / "personal-data.key", new_key_text)
            os.environ[KEY_FILE_VARIABLE] = str(key)
        self.database_url = os.environ.get("ONEBUDGET_DATABASE_URL", "")
        self.nats_url = os.environ.get("ONEBUDGET_NATS_URL", "")
        try:
            if not self.database_url:
                self.postgres = LocalPostgres(
                    base / "postgres",
                    tuned_for_tests=self.tuned_for_tests,
                    passwords_file=project_passwords_file(),
                )
                self.postgres.start(fresh=self.fresh)
                self.database_url = self.postgres.url
                os.environ["PGPASSFILE"] = str(project_passwords_file())
            if not self.nats_url:
                users = project_nats_users()
                # NATS over TLS (ADR 16): clients verify the server with the project's CA.
                certificate = local_ca().server_certificate(NATS_CERTIFICATE_NAME)
                os.environ.setdefault(CA_FILE_VARIABLE, str(certificate.ca_file))
                self.nats = (
                    LocalNatsCluster(
                        base / "nats", self.nats_cluster_size, users=users, tls=certificate
                    )
                    if self.nats_cluster_size > 1
                    else LocalNats(base / "nats", users=users, tls=certificate)
                )
                self.nats.start(fresh=self.fresh)
                self.nats_url = self.nats.url
                # This process speaks as the operator; each service it starts as itself.
                os.environ[USER_VARIABLE] = OPERATOR_USER
                os.environ[PASSWORD_FILE_VARIABLE] = str(nats_password_file(OPERATOR_USER))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop what this object started, NATS first (it holds no state we need)."""
        if self.nats is not None:
            self.nats.stop()
            self.nats = None
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None

    def remove_state(self) -> None:
        """Delete `.onebudget/<name>/` (after stop): for throw-away test servers."""
        shutil.rmtree(project_state_dir() / self.name, ignore_errors=True)


def sweep_dead_test_infra() -> None:
    """Stop and delete the servers of `test-<pid>` folders whose test process is gone."""
    root = project_state_dir()
    if not root.exists():
        return
    for folder in root.glob("test-*"):
        pid_text = folder.name.removeprefix("test-")
        if not pid_text.isdigit() or pid_alive(int(pid_text)):
            continue
        stop_everything_under(folder)
        shutil.rmtree(folder, ignore_errors=True)


def stop_everything_under(folder: Path) -> None:
    """Stop every service process, PostgreSQL and NATS server whose state lives under `folder`,
    however deep (a stack a test started under its own folder included): what a process that
    was killed outright (SIGKILL, a crash) could not stop itself."""
    for pid_file in folder.rglob("pids/*.pid"):
        stop_child(pid_file)
    for data in folder.rglob("postmaster.pid"):
        LocalPostgres(data.parent.parent).stop_leftover()
    for pid_file in folder.rglob("nats-server.pid"):
        LocalNats(pid_file.parent).stop_leftover()


def stop_child(pid_file: Path) -> None:
    """SIGTERM, then SIGKILL, the OneBudget process named by `pid_file` (checked by its command
    line, so a recycled pid of another program is never touched), and remove the file."""
    with contextlib.suppress(ValueError, OSError):
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if pid_alive(pid) and b"onebudget" in cmdline:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + CHILD_STOP_S
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


CHILD_STOP_S = 10.0
