"""Fixtures shared by every test: a real PostgreSQL and a real NATS server with JetStream.

The servers start once per test session under `.onebudget/test/` (fresh each time) unless
ONEBUDGET_DATABASE_URL / ONEBUDGET_NATS_URL point at running ones, and stop at the end.
Tests that need an empty database get their own with `fresh_database`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, settings

from onebudget.shared import db
from onebudget.shared.auth import OidcSettings
from onebudget.shared.bus import USER_VARIABLE, nats_user
from onebudget.shared.channels import use_token
from onebudget.shared.clock import SYSTEM_CLOCK, Clock
from onebudget.shared.config import ServiceConfig
from onebudget.shared.identity import acting_as, system_actor
from onebudget.shared.runtime.certs import IssuedCertificate, local_ca
from onebudget.shared.runtime.infra import LocalInfra, nats_password_file, sweep_dead_test_infra
from onebudget.shared.runtime.issuer import LocalIssuer, RoleTokens
from onebudget.shared.server import ServiceHost, ServiceSpec
from onebudget.shared.tls import CA_FILE_VARIABLE

# Bounded examples for every run; `deep` for long local runs (HYPOTHESIS_PROFILE=deep).
settings.register_profile(
    "ci",
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "deep",
    max_examples=500,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Services run in this process log through structlog's defaults; its console renderer draws a
# traceback with rich when rich is installed (mutmut brings it), at tens of milliseconds each:
# a background task failing in a loop then starved the event loop of a whole test. Plain text.
structlog.configure(
    processors=[
        *structlog.get_config()["processors"][:-1],
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
    ]
)


# --- Identities (issue 14) ----------------------------------------------------------------------
# One test issuer per test process: a fresh ES256 key and its JWKS served on a loopback port.
# Every service a test starts verifies tokens against it (`service_config`), and every channel a
# test opens carries a token it signed (`use_token`): the tests' staff act, call by call, in the
# role the permission table allows for the method (shared/runtime/issuer.RoleTokens), for the
# organisations the test itself has named in its requests (commissioner and council codes, most
# of them random per test). Hostile callers (tests/integration/test_hostile_callers.py) send
# their own tokens. Service layers called directly, not through the edge, act as the system.
_ISSUER_DIR = Path(tempfile.mkdtemp(prefix="onebudget-test-issuer-"))
atexit.register(shutil.rmtree, _ISSUER_DIR, True)
TEST_ISSUER = LocalIssuer(_ISSUER_DIR)
TEST_JWKS = TEST_ISSUER.serve()
TEST_OIDC = OidcSettings(TEST_ISSUER.issuer, TEST_JWKS.jwks_url)
ORGANISATION_FIELDS = (
    "commissioner_ods_code",
    "council_gss_code",
    "ods_code",
    "gss_code",
    "organisation_code",
)
ORGANISATIONS_KEPT = 150
# The organisations of the budgets test helpers write straight into a service's tables (never
# named in a request), then those the tests name, oldest first.
FIXTURE_ORGANISATIONS = (
    "QNQ", "00L", "D4U1Y", "15N", "E10000015", "E38000001", "E06000036", "E10000014",
    "E09000001", "E06000001", "E06000047", "E10000008", "E09000033", "E08000035", "E08000001",
    "E07000008", "E07000001", "E06000023",
)  # fmt: skip
_named: dict[str, None] = dict.fromkeys(FIXTURE_ORGANISATIONS)


def _note_organisations(request: Any) -> None:
    for name in ORGANISATION_FIELDS:
        code = getattr(request, name, "")
        if isinstance(code, str) and 0 < len(code) <= 16 and code not in _named:
            _named[code] = None
            while len(_named) > ORGANISATIONS_KEPT:
                del _named[next(c for c in _named if c not in FIXTURE_ORGANISATIONS)]


TEST_TOKENS = RoleTokens(TEST_ISSUER, lambda: tuple(_named), subject="test")


def _test_token(method: str, request: Any) -> str:
    _note_organisations(request)
    return TEST_TOKENS(method)


use_token(_test_token)
acting_as(system_actor("tests")).__enter__()
# The services tests start serve TLS (ADR 16) with one certificate of the project's CA, made once
# per session (and kept between sessions); every channel a test opens verifies it.
_TLS: list[IssuedCertificate] = []


@pytest.fixture(scope="session", autouse=True)
def tls_certificate() -> IssuedCertificate:
    if not _TLS:
        _TLS.append(local_ca().server_certificate("tests"))
        os.environ[CA_FILE_VARIABLE] = str(_TLS[0].ca_file)
    return _TLS[0]


def tls_env(service: str = "") -> dict[str, str]:
    """The environment that makes a service process a test starts serve TLS with the session's
    certificate (clients verify it with ONEBUDGET_TLS_CA_FILE, set for the session), and, given
    its name, speak on the session's NATS as its own user."""
    assert _TLS, "the session's certificate is made by the tls_certificate fixture"
    env = {
        "ONEBUDGET_TLS_CERT_FILE": str(_TLS[0].cert_file),
        "ONEBUDGET_TLS_KEY_FILE": str(_TLS[0].key_file),
    }
    if service and os.environ.get(USER_VARIABLE) and "ONEBUDGET_NATS_URL" not in os.environ:
        env["ONEBUDGET_NATS_USER"] = nats_user(service)
        env["ONEBUDGET_NATS_PASSWORD_FILE"] = str(nats_password_file(nats_user(service)))
    return env


@pytest.fixture(scope="session")
def infra() -> Iterator[LocalInfra]:
    # One folder per test process, so parallel runs (two terminals, a helper) never share a
    # server; folders of test processes that died are swept first.
    sweep_dead_test_infra()
    started = LocalInfra(f"test-{os.getpid()}", fresh=True, tuned_for_tests=True).start()
    try:
        yield started
    finally:
        started.stop()
        started.remove_state()


@pytest.fixture(scope="session")
def pg_url(infra: LocalInfra) -> str:
    return infra.database_url


@pytest.fixture(scope="session")
def nats_url(infra: LocalInfra) -> str:
    return infra.nats_url


FreshDatabase = Callable[[], Awaitable[str]]


@pytest.fixture
async def fresh_database(pg_url: str) -> AsyncIterator[FreshDatabase]:
    """A factory of empty databases (each dropped at the end of the test); returns its URL."""
    created: list[str] = []

    async def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        url = await db.create_database(pg_url, name)
        created.append(name)
        return url

    yield make
    for name in created:
        await db.drop_database(pg_url, name)


StartService = Callable[..., Awaitable[ServiceHost]]


def service_config(
    spec: ServiceSpec, database_url: str, nats_url: str, **overrides: object
) -> ServiceConfig:
    """A service's configuration in a test: loopback, a free port, TLS with the session's
    certificate, a short grace period; `overrides` set any other field (pool size, stream
    replicas, a read replica...)."""
    tls = {"tls_cert_file": str(_TLS[0].cert_file), "tls_key_file": str(_TLS[0].key_file)}
    # On the session's NATS (which has users), the service speaks as its own user (ADR 16).
    own = nats_user(spec.name)
    nats = {"nats_user": own, "nats_password_file": str(nats_password_file(own))}
    fields: dict[str, object] = {
        **(tls if _TLS else {}),
        **(
            nats if os.environ.get(USER_VARIABLE) and "ONEBUDGET_NATS_URL" not in os.environ else {}
        ),
        "service": spec.name,
        "database_url": database_url,
        "nats_url": nats_url,
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "log_level": "info",
        "pool_size_max": 10,
        "shutdown_grace_s": 2,
        "oidc": TEST_OIDC,
    }
    fields.update(overrides)
    return ServiceConfig(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def start_service(
    fresh_database: FreshDatabase, nats_url: str
) -> AsyncIterator[StartService]:
    """Start services in this process on a free port: `await start_service(SPEC)`; pass
    `clock=FixedClock(...)` to fix the instant and England's date the service decides with.

    All services started in one test share one fresh database (as in production, one database
    with a schema per service); each is stopped gracefully at the end of the test.
    """
    hosts: list[ServiceHost] = []
    database: list[str] = []

    async def start(
        spec: ServiceSpec, clock: Clock = SYSTEM_CLOCK, **overrides: object
    ) -> ServiceHost:
        if not database:
            database.append(await fresh_database())
        host = ServiceHost(spec, service_config(spec, database[0], nats_url, **overrides), clock)
        await host.start()
        hosts.append(host)
        return host

    yield start
    for host in reversed(hosts):
        await host.stop()
