"""Where a local stack listens, written by `onebudget up` and read by every client on the machine.

`up` writes `<state dir>/<stack>/stack.json` (the state dir is `.onebudget/` in the project, or
ONEBUDGET_STATE_DIR) once every service serves, rewrites it when a child is restarted, and removes
it when it stops. A client finds a service in this order (`service_address`):

1. `ONEBUDGET_<SERVICE>_ADDRESS` (host:port), e.g. a remote service;
2. `ONEBUDGET_<SERVICE>_PORT` (the service's gRPC port, on 127.0.0.1), as in the README's table;
3. the state file of the stack `up` started from this project, when its `up` process still runs;
4. the default local port (50051..50054).

So with another stack on the default ports, the CLI still talks to the one `up` started here.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from onebudget.shared.config import env_port
from onebudget.shared.runtime.infra import project_state_dir
from onebudget.shared.runtime.ports import pid_alive

STACK_NAME = "run"
STATE_FILE = "stack.json"
DEFAULT_ADDRESSES = {
    "entitlement": "127.0.0.1:50051",
    "allocation": "127.0.0.1:50052",
    "payment": "127.0.0.1:50053",
    "reporting": "127.0.0.1:50054",
}


@dataclass
class StackState:
    """What `up` started: its own pid, each service's address, and the rest to show."""

    pid: int
    services: dict[str, str]
    dashboard: str = ""
    postgresql: str = ""
    nats: str = ""
    logs: str = ""
    restarts: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)  # each service's /metrics URL
    issuer: str = ""  # the local token issuer (`iss`) and its JWKS (issue 14)
    jwks_url: str = ""
    pgpass: str = ""  # the embedded PostgreSQL's password file (0600; ADR 16), "" for none
    tls_ca: str = ""  # the CA (PEM) the services' certificates are verified with (ADR 16)
    nats_password_file: str = ""  # the NATS operator's password file (0600; ADR 16)
    # NATS's readiness checks (each node's monitoring `/healthz`), "" for a NATS not started here
    nats_health: list[str] = field(default_factory=list)

    def service_url(self, service: str) -> str:
        """Where `service` answers, as a URL (`service_url`)."""
        return service_url(self.services[service], tls=bool(self.tls_ca))


def service_url(address: str, *, tls: bool) -> str:
    """A gRPC service's address (host:port) as a URL: `grpcs://` for a service that speaks only
    TLS (every service `up` starts, ADR 16), `grpc://` for plain text."""
    return f"{'grpcs' if tls else 'grpc'}://{address}"


def state_path(stack: str = STACK_NAME) -> Path:
    return project_state_dir() / stack / STATE_FILE


def write_state(state: StackState, stack: str = STACK_NAME) -> Path:
    """Write the state file atomically (a reader never sees half of it)."""
    path = state_path(stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(asdict(state), indent=2, sort_keys=True))
    partial.replace(path)
    return path


def remove_state(stack: str = STACK_NAME) -> None:
    state_path(stack).unlink(missing_ok=True)


def read_state(stack: str = STACK_NAME) -> StackState | None:
    """The running stack's state, or None when there is no file, it is unreadable, or the `up`
    that wrote it is gone (a stale file after a kill -9 is ignored, not trusted)."""
    try:
        raw = json.loads(state_path(stack).read_text())
        state = StackState(
            pid=int(raw["pid"]),
            services={str(k): str(v) for k, v in raw["services"].items()},
            dashboard=str(raw.get("dashboard", "")),
            postgresql=str(raw.get("postgresql", "")),
            nats=str(raw.get("nats", "")),
            logs=str(raw.get("logs", "")),
            restarts={str(k): int(v) for k, v in raw.get("restarts", {}).items()},
            metrics={str(k): str(v) for k, v in raw.get("metrics", {}).items()},
            issuer=str(raw.get("issuer", "")),
            jwks_url=str(raw.get("jwks_url", "")),
            pgpass=str(raw.get("pgpass", "")),
            tls_ca=str(raw.get("tls_ca", "")),
            nats_password_file=str(raw.get("nats_password_file", "")),
            nats_health=[str(url) for url in raw.get("nats_health", [])],
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return state if pid_alive(state.pid) else None


def service_address(service: str, env: Mapping[str, str] | None = None) -> str:
    """Where `service` listens, host:port, by the order in the module's docstring.

    Raises KeyError for a service that does not exist, ConfigError for a port that is not a
    whole number from 0 to 65,535."""
    default = DEFAULT_ADDRESSES[service]
    env = os.environ if env is None else env
    address = env.get(f"ONEBUDGET_{service.upper()}_ADDRESS", "").strip()
    if address:
        return address
    if env.get(f"ONEBUDGET_{service.upper()}_PORT", "").strip():
        return f"127.0.0.1:{env_port(env, f'ONEBUDGET_{service.upper()}_PORT', 0)}"
    state = None
    with contextlib.suppress(OSError):
        state = read_state()
    if state is not None and service in state.services:
        return state.services[service]
    return default
