"""`onebudget up`: PostgreSQL, NATS and the four services on this machine, until Ctrl-C.

Each service runs in its own process (`python -m onebudget.<service>`), as in production, so the
stack uses both cores. Ports are the defaults when free, otherwise free ones; the table of where
each service listens is printed once all report SERVING on the standard health check, and
written to the stack's state file (`shared/runtime/stack_state.py`) where the CLI finds it.

`up` supervises its children: one that exits is reaped (no zombie), logged, and started again
after a backoff (1, 2, 4, 8, 16 s); a child that exits more than RESTARTS_MAX times within
CRASH_WINDOW_S makes `up` give up loudly (StackFailed: the stack stops, `up` exits 1).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from onebudget.shared.bus import OPERATOR_USER, nats_user
from onebudget.shared.channels import open_channel
from onebudget.shared.config import MIGRATE_COMMAND
from onebudget.shared.roles import runtime_database_url
from onebudget.shared.runtime.certs import local_ca
from onebudget.shared.runtime.infra import (
    LocalInfra,
    ensure_service_passwords_file,
    nats_password_file,
    project_passwords_file,
    project_state_dir,
    stop_child,
)
from onebudget.shared.runtime.issuer import JwksServer, LocalIssuer, issuer_dir
from onebudget.shared.runtime.ports import free_port
from onebudget.shared.runtime.stack_state import (
    DEFAULT_ADDRESSES,
    StackState,
    remove_state,
    service_url,
    write_state,
)
from onebudget.shared.sealing import KEY_FILE_VARIABLE
from onebudget.shared.tls import CA_FILE_VARIABLE

# The default port of each service: the one table in stack_state, which clients read too.
SERVICES: dict[str, int] = {
    name: int(address.rsplit(":", 1)[1]) for name, address in DEFAULT_ADDRESSES.items()
}
KEY_HOLDERS = ("entitlement", "reporting")  # hold the personal-data key (shared/sealing.py)
RESTARTS_MAX = 5  # exits of one child within CRASH_WINDOW_S that `up` restarts
CRASH_WINDOW_S = 300.0
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0)


class StackFailed(RuntimeError):
    """A child of `up` keeps exiting: restarting it again would hide the fault."""


def describe_exit(code: int) -> str:
    """`-9` -> "killed by SIGKILL", `3` -> "exit code 3"."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


DASHBOARD_PORT = 8050
DASHBOARD_MODULE = "onebudget.reporting.entrypoints.dashboard"
READY_TIMEOUT_S = 60.0
MIGRATE_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0


def _port_or_free(preferred: int) -> int:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def wait_serving(address: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Block until the standard gRPC health check answers SERVING."""
    deadline = time.monotonic() + timeout_s
    with open_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"service at {address} not SERVING after {timeout_s}s")


def wait_http(url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Block until `url` answers 200."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:  # noqa: S310 (loopback)
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer after {timeout_s}s")


@dataclass
class Stack:
    name: str = "run"
    fresh: bool = False
    nats_cluster_size: int = 1
    infra: LocalInfra | None = None
    addresses: dict[str, str] = field(default_factory=dict)
    dashboard_url: str = ""
    metrics: dict[str, str] = field(default_factory=dict)  # /metrics URL per service
    restarts: dict[str, int] = field(default_factory=dict)
    tls_ca: str = ""  # the CA file the services' certificates are verified with
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _how: dict[str, tuple[str, dict[str, str], Path]] = field(default_factory=dict)
    _exits: dict[str, list[float]] = field(default_factory=dict)  # monotonic times, per child
    _restart_at: dict[str, float] = field(default_factory=dict)
    # The local token issuer (issue 14): its key under the state dir, its JWKS served here.
    issuer: LocalIssuer | None = None
    jwks: JwksServer | None = None

    def env(self) -> dict[str, str]:
        assert self.infra is not None
        assert self.issuer is not None
        assert self.jwks is not None
        env = dict(os.environ)
        env["ONEBUDGET_OIDC_ISSUER"] = self.issuer.issuer
        env["ONEBUDGET_OIDC_JWKS_URL"] = self.jwks.jwks_url
        env["ONEBUDGET_DATABASE_URL"] = self.infra.database_url
        env["ONEBUDGET_NATS_URL"] = self.infra.nats_url
        env["ONEBUDGET_STREAM_REPLICAS"] = str(self.nats_cluster_size)
        for service, address in self.addresses.items():
            env[f"ONEBUDGET_{service.upper()}_ADDRESS"] = address
        return env

    def start(self) -> None:
        # Children a killed run of this stack left behind (their pid files) are stopped first.
        for pid_file in (project_state_dir() / self.name).glob("pids/*.pid"):
            stop_child(pid_file)
        # gRPC over TLS (ADR 16): the project's CA, a certificate per service; this process and
        # its children verify the services with the CA.
        ca = local_ca()
        os.environ[CA_FILE_VARIABLE] = str(ca.ca_file)
        self.tls_ca = str(ca.ca_file)
        self.infra = LocalInfra(
            self.name, fresh=self.fresh, nats_cluster_size=self.nats_cluster_size
        ).start()
        try:
            if self.issuer is None:
                self.issuer = LocalIssuer(issuer_dir())
            self.jwks = self.issuer.serve()
            for service, preferred in SERVICES.items():
                port = _port_or_free(preferred)
                self.addresses[service] = f"127.0.0.1:{port}"
            logs = project_state_dir() / self.name / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            # Every service's migrations first, as the migrating role, in processes of their
            # own that end before any service starts (ADR 16); the services never see its URL.
            self.migrate(logs)
            for service, address in self.addresses.items():
                metrics_port = free_port()
                self.metrics[service] = f"http://127.0.0.1:{metrics_port}/metrics"
                certificate = ca.server_certificate(service)
                self._spawn(
                    service,
                    f"onebudget.{service}",
                    {
                        f"ONEBUDGET_{service.upper()}_PORT": address.rsplit(":", 1)[1],
                        f"ONEBUDGET_{service.upper()}_METRICS_PORT": str(metrics_port),
                        "ONEBUDGET_TLS_CERT_FILE": str(certificate.cert_file),
                        "ONEBUDGET_TLS_KEY_FILE": str(certificate.key_file),
                        **self._nats_credentials(service),
                        **self._database_credentials(service),
                        # Only the services that seal or open personal data hold its key.
                        **(
                            {}
                            if service in ("entitlement", "reporting")
                            else {KEY_FILE_VARIABLE: ""}
                        ),
                    },
                    logs,
                )
            for address in self.addresses.values():
                wait_serving(address)
            self._start_dashboard(logs)
            self.write_state()
        except BaseException:
            self.stop()
            raise

    def migrate(self, logs: Path) -> None:
        """Run `python -m onebudget.<service> migrate` for every service, at once (migrations
        take their own locks, as when the services migrated at start-up), with this process's
        environment: the migrating URL and, for the embedded server, the project's password
        file. Each writes `<service>-migrate.log`. Raises RuntimeError naming the log of a
        service whose migrations failed or took longer than MIGRATE_TIMEOUT_S (all together)."""
        children: dict[str, subprocess.Popen[bytes]] = {}
        env = self.env()
        for service in SERVICES:
            with (logs / f"{service}-migrate.log").open("ab") as log:
                children[service] = subprocess.Popen(
                    [sys.executable, "-m", f"onebudget.{service}", MIGRATE_COMMAND],
                    env=env,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
        failed = []
        try:
            deadline = time.monotonic() + MIGRATE_TIMEOUT_S
            for service, child in children.items():
                try:
                    code = child.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    code = None  # killed below
                if code != 0:
                    failed.append(service)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.kill()
                    child.wait()
        if failed:
            names = ", ".join(str(logs / f"{s}-migrate.log") for s in failed)
            raise RuntimeError(f"migrations failed for {', '.join(failed)}; see {names}")

    def _database_credentials(self, service: str) -> dict[str, str]:
        """What a service serves the database with (ADR 16): its own role's URL (no password in
        it) and, on the embedded server, a password file holding that role's password only, so
        no service process knows the superuser's; migrations were done (`migrate`)."""
        assert self.infra is not None
        url = runtime_database_url(
            self.infra.database_url,
            service,
            os.environ.get("ONEBUDGET_RUNTIME_DATABASE_URL", "").strip(),
        )
        credentials = {"ONEBUDGET_DATABASE_URL": url, "ONEBUDGET_MIGRATE": "false"}
        if self.infra.postgres is not None:
            credentials["PGPASSFILE"] = str(ensure_service_passwords_file(service))
        return credentials

    def _nats_credentials(self, service: str) -> dict[str, str]:
        """A service speaks on the embedded NATS as its own user (ADR 16)."""
        assert self.infra is not None
        if self.infra.nats is None:
            return {}  # ONEBUDGET_NATS_URL's server: the environment's credentials, if any
        user = nats_user(service)
        return {
            "ONEBUDGET_NATS_USER": user,
            "ONEBUDGET_NATS_PASSWORD_FILE": str(nats_password_file(user)),
        }

    def write_state(self) -> Path:
        """Write where everything listens (and the restarts so far) for the CLI to find."""
        assert self.infra is not None
        return write_state(
            StackState(
                pid=os.getpid(),
                services=dict(self.addresses),
                dashboard=self.dashboard_url,
                postgresql=self.infra.database_url,
                nats=self.infra.nats_url,
                logs=str(project_state_dir() / self.name / "logs"),
                restarts=dict(self.restarts),
                metrics=dict(self.metrics),
                issuer=self.issuer.issuer if self.issuer else "",
                jwks_url=self.jwks.jwks_url if self.jwks else "",
                pgpass=str(project_passwords_file()) if self.infra.postgres else "",
                tls_ca=self.tls_ca,
                nats_password_file=(
                    str(nats_password_file(OPERATOR_USER)) if self.infra.nats else ""
                ),
                nats_health=self.infra.nats.health_urls if self.infra.nats else [],
            ),
            self.name,
        )

    def supervise_children(self, now: float) -> list[str]:
        """Reap each child that exited and start it again after its backoff; the lines to tell
        the operator. Call it often (`up` does, twice a second) with time.monotonic().

        Raises StackFailed when a child exited more than RESTARTS_MAX times in CRASH_WINDOW_S."""
        told: list[str] = []
        for name, child in list(self._children.items()):
            if name in self._restart_at:
                if now >= self._restart_at[name]:
                    del self._restart_at[name]
                    self.respawn(name)
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    self.write_state()
                    told.append(f"{name}: started again (restart {self.restarts[name]})")
                continue
            code = child.poll()  # reaps it: no zombie is left
            if code is None:
                continue
            exits = [t for t in self._exits.get(name, []) if now - t < CRASH_WINDOW_S] + [now]
            self._exits[name] = exits
            log = project_state_dir() / self.name / "logs" / f"{name}.log"
            if len(exits) > RESTARTS_MAX:
                raise StackFailed(
                    f"{name} exited {len(exits)} times in {CRASH_WINDOW_S:.0f} s"
                    f" (last: {describe_exit(code)}); giving up. Its log: {log}"
                )
            delay = BACKOFF_S[min(len(exits), len(BACKOFF_S)) - 1]
            self._restart_at[name] = now + delay
            told.append(
                f"{name}: exited ({describe_exit(code)}); starting it again in {delay:g} s"
                f" (log: {log})"
            )
        return told

    def kill(self, name: str) -> None:
        """Kill -9 one child (a crash, for the chaos harness); `respawn` starts it again."""
        child = self._children[name]
        if child.poll() is None:
            child.kill()
        child.wait()

    def pid_of(self, name: str) -> int | None:
        """The process id of child `name` (a service or `dashboard`), None when not running."""
        child = self._children.get(name)
        return child.pid if child is not None and child.poll() is None else None

    def respawn(self, name: str) -> None:
        """Start a child again as it was first started (same module, port and log file)."""
        module, extra_env, logs = self._how[name]
        self._spawn(name, module, extra_env, logs)

    def _spawn(self, name: str, module: str, extra_env: dict[str, str], logs: Path) -> None:
        self._how[name] = (module, extra_env, logs)
        env = {**self.env(), **extra_env}
        if name not in KEY_HOLDERS:  # only the services that seal or open personal data
            env.pop(KEY_FILE_VARIABLE, None)
        if name not in SERVICES:  # the dashboard: a gRPC client, no database, no bus
            for variable in ("PGPASSFILE", "ONEBUDGET_NATS_USER", "ONEBUDGET_NATS_PASSWORD_FILE"):
                env.pop(variable, None)
        log = (logs / f"{name}.log").open("ab")
        self._children[name] = subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        # So a later start (or the test sweeper) can stop it if this process dies without
        # stopping its children (SIGKILL, a crash).
        pids = logs.parent / "pids"
        pids.mkdir(exist_ok=True)
        (pids / f"{name}.pid").write_text(str(self._children[name].pid))

    def _start_dashboard(self, logs: Path) -> None:
        port = _port_or_free(DASHBOARD_PORT)
        self._spawn("dashboard", DASHBOARD_MODULE, {"ONEBUDGET_DASHBOARD_PORT": str(port)}, logs)
        self.dashboard_url = f"http://127.0.0.1:{port}/"
        # Its own liveness: the page itself answers 404 until reporting knows the commissioner.
        wait_http(f"{self.dashboard_url}healthz")

    def stop(self) -> None:
        """SIGTERM each service (graceful), then stop NATS and PostgreSQL."""
        for child in self._children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self._children.values():
            try:
                child.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._children.clear()
        self._restart_at.clear()
        remove_state(self.name)
        for pid_file in (project_state_dir() / self.name).glob("pids/*.pid"):
            pid_file.unlink(missing_ok=True)
        if self.infra is not None:
            self.infra.stop()
            self.infra = None
        if self.jwks is not None:
            self.jwks.close()
            self.jwks = None

    def describe(self) -> str:
        assert self.infra is not None
        rows = [
            f"  {service:<12} {service_url(address, tls=bool(self.tls_ca))}"
            for service, address in self.addresses.items()
        ]
        return "\n".join(
            [
                "OneBudget is running:",
                *rows,
                f"  {'dashboard':<12} {self.dashboard_url}",
                f"  {'postgresql':<12} {self.infra.database_url}",
                f"  {'nats':<12} {self.infra.nats_url}",
                f"  {'logs':<12} {project_state_dir() / self.name / 'logs'}",
                f"  {'issuer':<12} {self.jwks.jwks_url if self.jwks else ''}"
                "  (onebudget login --role ROLE --org CODE)",
            ]
        )


def health_of(address: str, timeout_s: float = 2.0) -> str:
    """The standard health check's answer (SERVING, NOT_SERVING ...) or UNREACHABLE."""
    with open_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout_s
            )
        except grpc.RpcError:
            return "UNREACHABLE"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
