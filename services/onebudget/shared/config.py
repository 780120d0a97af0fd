"""Configuration from environment variables only (12-factor), parsed once, frozen.

A bad value stops start-up with one line naming the variable and what was wrong; no default
secrets. Each service's `config.py` builds its own frozen dataclass from these helpers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from onebudget.shared.auth import OidcSettings
    from onebudget.shared.retention import RetentionPolicy

LOG_LEVELS = ("debug", "info", "warning", "error")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
# `python -m onebudget.<service> migrate`: apply the migrations and exit (shared/server.py).
MIGRATE_COMMAND = "migrate"


class ConfigError(ValueError):
    """One bad environment variable; the message is the one line printed at start-up."""


def env_str(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, default).strip() or default


def env_int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range {low}..{high}")
    return value


def env_port(env: Mapping[str, str], name: str, default: int) -> int:
    return env_int(env, name, default, low=0, high=65_535)


def env_url(
    env: Mapping[str, str],
    name: str,
    schemes: tuple[str, ...],
    default: str = "",
    *,
    several: bool = False,
) -> str:
    """A URL (or, with `several`, a comma-separated list of URLs: the nodes of a NATS
    cluster), each with one of `schemes` and a host."""
    raw = env.get(name, "").strip() or default
    if not raw:
        raise ConfigError(f"{name} is not set")
    for one in raw.split(",") if several else [raw]:
        try:
            parts = urlsplit(one.strip())
            _ = parts.port  # reading it raises ValueError on a bad or out-of-range port
        except ValueError as exc:
            raise ConfigError(f"{name} is not a valid URL: {exc}") from None
        if parts.scheme not in schemes:
            starts = ", ".join(s + "://" for s in schemes)
            raise ConfigError(f"{name} must start with one of {starts}")
        if not parts.hostname:
            raise ConfigError(f"{name} has no host")
    return raw


def env_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(env, name, default).lower()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class ServiceConfig:
    """What every service process needs."""

    service: str
    database_url: str
    nats_url: str
    grpc_host: str
    grpc_port: int
    log_level: str
    pool_size_max: int
    shutdown_grace_s: int
    # JetStream stream replicas: 1 on one machine, 3 in a cluster (deploy/).
    stream_replicas: int = 1
    # A PostgreSQL streaming replica for read-only queries (reporting's reports); "" = the
    # primary. Writes, projections included, always go to database_url.
    read_database_url: str = ""
    # How long request ids, outbox rows and stream messages are kept (shared/retention.py);
    # None: the documented defaults.
    retention: RetentionPolicy | None = None
    # Where /metrics is served over HTTP (shared/metrics.py); 0 = not served.
    metrics_port: int = 0
    # The URL the service serves with after migrating with database_url; "" = database_url's
    # server and database as the run-time role (shared/roles.py, ADR 13).
    runtime_database_url: str = ""
    # Where traces go (OTLP over HTTP, shared/tracing.py); "" = tracing off, the default.
    otlp_endpoint: str = ""
    # Who issues the bearer tokens callers present (shared/auth.py, issue 14); None: the
    # service refuses to start, as every business call needs a verified token.
    oidc: OidcSettings | None = None
    # gRPC over TLS (ADR 16): the service's PEM certificate and private key; "" serves
    # plaintext, which only a loopback address may (`check_transport`).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # The NATS user the service connects as, and the file holding its password (ADR 16);
    # "" = a server without users.
    nats_user: str = ""
    nats_password_file: str = ""
    # Whether the service applies its migrations at start-up with database_url (ADR 16):
    # True for a service started on its own (tests, a developer); `onebudget up` migrates every
    # service first, as the migrating role, then starts each with False and only its own
    # role's URL and password, so no serving process knows the superuser's password.
    migrate: bool = True

    @classmethod
    def from_env(
        cls, service: str, default_port: int, env: Mapping[str, str] | None = None
    ) -> ServiceConfig:
        from onebudget.shared.auth import OidcSettings  # they build on this module
        from onebudget.shared.retention import RetentionPolicy

        env = os.environ if env is None else env
        prefix = f"ONEBUDGET_{service.upper()}"
        return cls(
            service=service,
            database_url=env_url(env, "ONEBUDGET_DATABASE_URL", ("postgresql", "postgres")),
            nats_url=env_url(env, "ONEBUDGET_NATS_URL", ("nats", "tls"), several=True),
            grpc_host=env_str(env, "ONEBUDGET_GRPC_HOST", "127.0.0.1"),
            grpc_port=env_port(env, f"{prefix}_PORT", default_port),
            log_level=env_choice(env, "ONEBUDGET_LOG_LEVEL", "info", LOG_LEVELS),
            pool_size_max=env_int(env, "ONEBUDGET_DB_POOL_SIZE_MAX", 10, low=1, high=200),
            shutdown_grace_s=env_int(env, "ONEBUDGET_SHUTDOWN_GRACE_S", 10, low=0, high=300),
            stream_replicas=env_int(env, "ONEBUDGET_STREAM_REPLICAS", 1, low=1, high=5),
            read_database_url=(
                env_url(env, "ONEBUDGET_READ_DATABASE_URL", ("postgresql", "postgres"))
                if env.get("ONEBUDGET_READ_DATABASE_URL", "").strip()
                else ""
            ),
            retention=RetentionPolicy.from_env(env),
            metrics_port=env_port(env, f"{prefix}_METRICS_PORT", 0),
            runtime_database_url=(
                env_url(env, "ONEBUDGET_RUNTIME_DATABASE_URL", ("postgresql", "postgres"))
                if env.get("ONEBUDGET_RUNTIME_DATABASE_URL", "").strip()
                else ""
            ),
            otlp_endpoint=otlp_endpoint(env),
            oidc=OidcSettings.from_env(env),
            tls_cert_file=env_str(env, "ONEBUDGET_TLS_CERT_FILE", ""),
            tls_key_file=env_str(env, "ONEBUDGET_TLS_KEY_FILE", ""),
            nats_user=env_str(env, "ONEBUDGET_NATS_USER", ""),
            nats_password_file=env_str(env, "ONEBUDGET_NATS_PASSWORD_FILE", ""),
            migrate=env_choice(env, "ONEBUDGET_MIGRATE", "true", ("true", "false")) == "true",
        ).check_transport()

    def check_transport(self) -> ServiceConfig:
        """Refuse a certificate without its key (or the reverse), and plaintext gRPC on an
        address other machines reach: only loopback may serve without TLS (ADR 16)."""
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ConfigError("ONEBUDGET_TLS_CERT_FILE and ONEBUDGET_TLS_KEY_FILE go together")
        if not self.tls_cert_file and self.grpc_host not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"ONEBUDGET_GRPC_HOST={self.grpc_host} needs TLS: set ONEBUDGET_TLS_CERT_FILE"
                " and ONEBUDGET_TLS_KEY_FILE"
            )
        return self


def otlp_endpoint(env: Mapping[str, str]) -> str:
    """The OTLP/HTTP collector traces go to: ONEBUDGET_OTEL_EXPORTER_OTLP_ENDPOINT, else the
    OpenTelemetry standard OTEL_EXPORTER_OTLP_ENDPOINT; "" (neither set) keeps tracing off."""
    for name in ("ONEBUDGET_OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        if env.get(name, "").strip():
            return env_url(env, name, ("http", "https"))
    return ""
