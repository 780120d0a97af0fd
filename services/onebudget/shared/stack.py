"""`onebudget up`: PostgreSQL, NATS and the four services on this machine, until Ctrl-C.

Each service runs in its own process (`python -m onebudget.<service>`), as in production, so the
stack uses both cores. Ports are the defaults when free, otherwise free ones; the table of where
each service listens is printed once all report SERVING on the standard health check.
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

from onebudget.shared.runtime.infra import LocalInfra, project_state_dir, stop_child
from onebudget.shared.runtime.ports import free_port

SERVICES: dict[str, int] = {
    "entitlement": 50051,
    "allocation": 50052,
    "payment": 50053,
    "reporting": 50054,
}
DASHBOARD_PORT = 8050
DASHBOARD_MODULE = "onebudget.reporting.entrypoints.dashboard"
READY_TIMEOUT_S = 60.0
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
    with grpc.insecure_channel(address) as channel:
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
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _how: dict[str, tuple[str, dict[str, str], Path]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        assert self.infra is not None
        env = dict(os.environ)
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
        self.infra = LocalInfra(
            self.name, fresh=self.fresh, nats_cluster_size=self.nats_cluster_size
        ).start()
        try:
            for service, preferred in SERVICES.items():
                port = _port_or_free(preferred)
                self.addresses[service] = f"127.0.0.1:{port}"
            logs = project_state_dir() / self.name / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            for service, address in self.addresses.items():
                self._spawn(
                    service,
                    f"onebudget.{service}",
                    {f"ONEBUDGET_{service.upper()}_PORT": address.rsplit(":", 1)[1]},
                    logs,
                )
            for address in self.addresses.values():
                wait_serving(address)
            self._start_dashboard(logs)
        except BaseException:
            self.stop()
            raise

    def kill(self, name: str) -> None:
        """Kill -9 one child (a crash, for the chaos harness); `respawn` starts it again."""
        child = self._children[name]
        if child.poll() is None:
            child.kill()
        child.wait()

    def respawn(self, name: str) -> None:
        """Start a child again as it was first started (same module, port and log file)."""
        module, extra_env, logs = self._how[name]
        self._spawn(name, module, extra_env, logs)

    def _spawn(self, name: str, module: str, extra_env: dict[str, str], logs: Path) -> None:
        self._how[name] = (module, extra_env, logs)
        env = {**self.env(), **extra_env}
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
        wait_http(self.dashboard_url)

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
        for pid_file in (project_state_dir() / self.name).glob("pids/*.pid"):
            pid_file.unlink(missing_ok=True)
        if self.infra is not None:
            self.infra.stop()
            self.infra = None

    def describe(self) -> str:
        assert self.infra is not None
        rows = [f"  {service:<12} grpc://{address}" for service, address in self.addresses.items()]
        return "\n".join(
            [
                "OneBudget is running:",
                *rows,
                f"  {'dashboard':<12} {self.dashboard_url}",
                f"  {'postgresql':<12} {self.infra.database_url}",
                f"  {'nats':<12} {self.infra.nats_url}",
                f"  {'logs':<12} {project_state_dir() / self.name / 'logs'}",
            ]
        )
