"""Run one gRPC service: pool, migrations, NATS, servicers, health, reflection, background tasks,
and a graceful shutdown on SIGTERM / Ctrl-C.

Health (grpc.health.v1) follows the service's parts: every background task runs under
`shared/aio.supervise` in one tree rooted at the service, and while any part is failing (a task
restarting after a failure, or retrying in place: the relay, a consumer, a batch worker, the
scheduler) or the NATS connection is down, the service ("" and its gRPC service names) is
NOT_SERVING; it is SERVING again once every part has recovered. Each part is also a health
"service" of its own, named like `payment.outbox_relay`, and `List` returns them all, so
`onebudget status` can say which part failed.

Shutdown order (style.md, 11): health NOT_SERVING -> stop accepting and finish in-flight RPCs
within the grace period -> cancel background tasks (relay, consumers, schedulers) -> drain NATS
-> close the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext

from onebudget.audit.v1.audit_service_pb2_grpc import add_AuditServiceServicer_to_server
from onebudget.shared import audit_anchor, bus, db, tracing
from onebudget.shared.aio import Supervision, cancel_and_wait, supervise, supervising
from onebudget.shared.audit_log import AuditRecorder
from onebudget.shared.audit_service import SERVICE_NAME as AUDIT_SERVICE_NAME
from onebudget.shared.audit_service import AuditServicer
from onebudget.shared.auth import TokenVerifier, audience_for
from onebudget.shared.clock import SYSTEM_CLOCK, Clock
from onebudget.shared.config import MIGRATE_COMMAND, ConfigError, ServiceConfig
from onebudget.shared.db import Migration
from onebudget.shared.grpc_edge import EdgeServicer, Guard, SafeDecodingServer
from onebudget.shared.identity import acting_as, system_actor
from onebudget.shared.logging import configure_logging, get_logger
from onebudget.shared.metrics import SUPERVISION, MetricsEndpoint, sample_database
from onebudget.shared.plumbing import plumbing_migrations
from onebudget.shared.pruning import pruner
from onebudget.shared.relay import OutboxRelay
from onebudget.shared.retention import RetentionPolicy
from onebudget.shared.roles import runtime_database_url
from onebudget.shared.tls import server_credentials

_log = get_logger("onebudget.server")


@dataclass
class Runtime:
    """What a running service holds; handed to its wiring functions."""

    config: ServiceConfig
    pool: asyncpg.Pool
    nc: NatsClient
    js: JetStreamContext
    clock: Clock = SYSTEM_CLOCK  # the one clock every handler, batcher and task decides with
    # Read-only queries may go to a streaming replica (ONEBUDGET_READ_DATABASE_URL); None: the
    # primary. Use `reads` for them and `pool` for everything that writes.
    replica_pool: asyncpg.Pool | None = None

    @property
    def reads(self) -> asyncpg.Pool:
        return self.replica_pool if self.replica_pool is not None else self.pool


ServicerBinding = tuple[Callable[[Any, grpc.aio.Server], None], Any, str]


@dataclass
class ServiceSpec:
    """How to wire one service: its schema, migrations, servicers and background tasks."""

    name: str
    schema: str
    migrations: Callable[[], list[Migration]]
    # (add_XServicer_to_server, servicer, full service name) triples, built from the runtime.
    servicers: Callable[[Runtime], Sequence[ServicerBinding]]
    background: Callable[[Runtime], Sequence[Callable[[], Awaitable[None]]]] = lambda _rt: ()
    publishes: bool = True
    extra_components: Sequence[tuple[str, Callable[[], list[Migration]]]] = field(
        default_factory=tuple
    )


async def prepare_database(pool: asyncpg.Pool, spec: ServiceSpec) -> None:
    """Apply plumbing, shared components' (e.g. the ledger's) and the service's migrations."""
    for component, migrations in spec.extra_components:
        await db.apply_migration_list(pool, component, migrations())
    await db.apply_migration_list(pool, f"{spec.schema}.plumbing", plumbing_migrations(spec.schema))
    await db.apply_migration_list(pool, spec.schema, spec.migrations())


async def migrate(spec: ServiceSpec, database_url: str) -> None:
    """Apply `spec`'s migrations (`prepare_database`) as the role of `database_url` (one that
    may create schemas and roles: the embedded server's superuser locally)."""
    owner = await db.create_pool(database_url, min_size=1, max_size=1)
    try:
        await prepare_database(owner, spec)
    finally:
        await owner.close()


class ServiceHost:
    """Starts and stops one service; usable from `__main__` and from tests."""

    def __init__(
        self, spec: ServiceSpec, config: ServiceConfig, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.spec = spec
        self.config = config
        self.clock = clock
        self.port = 0
        self._server: grpc.aio.Server | None = None
        self._guard: Guard | None = None
        self._health = _Health()
        self._tasks: list[asyncio.Task[None]] = []
        self._watcher: asyncio.Task[None] | None = None
        self._service_names: list[str] = []
        # Every background task's supervision, under one root (nested tasks included).
        self.parts = Supervision(spec.name)
        self.supervised: list[Supervision] = []  # the top-level background tasks
        self.serving = True
        self.runtime: Runtime | None = None
        self.metrics: MetricsEndpoint | None = None

    async def start(self) -> None:
        if self.config.oidc is None:
            raise ConfigError(NO_ISSUER)
        self._guard = Guard(TokenVerifier(self.config.oidc, audience_for(self.spec.name)))
        # Migrate as the role given (it may create schemas and roles), unless that was done
        # before this process started (`onebudget up`, a migration job: ADR 16), then serve as
        # the run-time role, which cannot write the ledger but through its API (ADR 13).
        if self.config.migrate:
            await migrate(self.spec, self.config.database_url)
        pool = await db.create_pool(
            runtime_database_url(
                self.config.database_url, self.spec.name, self.config.runtime_database_url
            ),
            max_size=self.config.pool_size_max,
        )
        nc = await bus.connect(
            self.config.nats_url,
            name=f"onebudget-{self.spec.name}",
            user=self.config.nats_user,
            password_file=self.config.nats_password_file,
        )
        js = nc.jetstream()
        await bus.ensure_streams(js, self.config.stream_replicas, self.retention.stream_max_age_s)
        replica = None
        if self.config.read_database_url:
            replica = await db.create_pool(
                self.config.read_database_url, max_size=self.config.pool_size_max
            )
        self.runtime = Runtime(self.config, pool, nc, js, self.clock, replica)
        # No SO_REUSEPORT: a second server on the port (another stack, a leftover) makes the bind
        # fail instead of silently sharing the connections.
        self._server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        # What the servicers and background tasks start acts as the service itself (issue 14):
        # a task copies the context it was created in.
        with supervising(self.parts), acting_as(system_actor(self.spec.name)):
            names = self._add_servicers(self._server, self.runtime)
        bind = f"{self.config.grpc_host}:{self.config.grpc_port}"
        if self.config.tls_cert_file:  # TLS only: a plaintext connection is refused (ADR 16)
            self.port = self._server.add_secure_port(
                bind, server_credentials(self.config.tls_cert_file, self.config.tls_key_file)
            )
        else:  # loopback only (ServiceConfig.check_transport)
            self.port = self._server.add_insecure_port(bind)
        await self._server.start()
        self._service_names = ["", *names]
        for name in self._service_names:
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        # Background work (relay, consumers, scheduler, pruner) acts as the service itself: its
        # ledger transfers and events name `system:<service>` (shared/identity.py, ADR 17).
        with supervising(self.parts), acting_as(system_actor(self.spec.name)):
            self._start_background(self.runtime)
        self._watcher = asyncio.create_task(self._watch_health(), name="health")
        self.metrics = MetricsEndpoint(self.config.metrics_port, self.config.grpc_host)
        SUPERVISION.add(self.spec.name, lambda: self.supervised)
        _log.info(
            "service_started",
            service=self.spec.name,
            address=self.address,
            tls=bool(self.config.tls_cert_file),
            metrics_port=self.metrics.port,
        )

    def failing_parts(self) -> list[str]:
        """The names of the parts failing now ("nats" while the bus connection is down)."""
        failing = [p.name for p in self.parts.failing_parts() if p is not self.parts]
        if self.runtime is not None and not self.runtime.nc.is_connected:
            failing.insert(0, "nats")
        return failing

    async def _watch_health(self) -> None:
        shown: dict[str, int] = {}
        while True:
            await self._show_health(shown)
            await asyncio.sleep(HEALTH_POLL_S)

    async def _show_health(self, shown: dict[str, int]) -> None:
        """Set every health status that changed since the last look."""
        serving, not_serving = (
            health_pb2.HealthCheckResponse.SERVING,
            health_pb2.HealthCheckResponse.NOT_SERVING,
        )
        failing = self.failing_parts()
        now: dict[str, int] = {"nats": not_serving if "nats" in failing else serving}
        for part in self.parts.parts()[1:]:
            now[part.name] = not_serving if part.failing else serving
        for name in self._service_names:
            now[name] = not_serving if failing else serving
        for name in shown.keys() - now.keys():  # a part that ended (a paused consumer)
            now[name] = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
        for name, status in now.items():
            if shown.get(name) != status:
                await self._health.set(name, status)
        shown.clear()
        shown.update(
            {n: s for n, s in now.items() if s != health_pb2.HealthCheckResponse.SERVICE_UNKNOWN}
        )
        if self.serving == bool(failing):
            self.serving = not failing
            if failing:
                errors = {p.name: p.last_error for p in self.parts.failing_parts()}
                _log.warning(
                    "health_not_serving", service=self.spec.name, failing=failing, errors=errors
                )
            else:
                _log.info("health_serving", service=self.spec.name)

    @property
    def retention(self) -> RetentionPolicy:
        return self.config.retention or RetentionPolicy()

    @property
    def address(self) -> str:
        return f"{self.config.grpc_host}:{self.port}"

    def _add_servicers(self, server: grpc.aio.Server, runtime: Runtime) -> list[str]:
        names: list[str] = []
        assert self._guard is not None, "start() makes the guard first"
        recorder = AuditRecorder(runtime.pool, self.spec.schema)
        # Every service also serves its own audit trail to auditors (ADR 17).
        audit_trail: ServicerBinding = (
            add_AuditServiceServicer_to_server,
            AuditServicer(runtime.reads, self.spec.schema, self.spec.name),
            AUDIT_SERVICE_NAME,
        )
        for add, servicer, name in [*self.spec.servicers(runtime), audit_trail]:
            # Business methods get the edge (who may call, typed errors -> google.rpc.Status,
            # one log line, requests that do not decode refused as INVALID_ARGUMENT); health
            # and reflection, added below, do not. Refused mutating calls go to the schema's
            # audit trail (ADR 17).
            add(
                EdgeServicer(servicer, name, self.spec.name, self._guard, recorder),
                SafeDecodingServer(server),
            )
            names.append(name)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            [
                *names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        return names

    def _start_background(self, runtime: Runtime) -> None:
        factories: list[Callable[[], Awaitable[None]]] = list(self.spec.background(runtime))
        if self.spec.publishes:
            relay = OutboxRelay(
                runtime.pool, runtime.js, self.spec.schema, nc=runtime.nc, service=self.spec.name
            )
            factories.insert(0, relay.run)
            factories.append(
                functools.partial(sample_database, self.spec.name, self.spec.schema, runtime.pool)
            )
        factories.append(pruner(runtime.pool, self.spec.schema, self.retention, runtime.clock))
        # The audit trail's head, anchored in JetStream so verify sees a re-hashed trail (ADR 17).
        factories.append(
            audit_anchor.anchor_task(
                runtime.pool, runtime.js, self.spec.schema, replicas=self.config.stream_replicas
            )
        )
        taken: set[str] = set()
        for factory in factories:
            name = f"{self.spec.name}.{part_label(factory)}"
            while name in taken:  # two tasks of one kind: the second gets a number
                name = f"{name}-{len(taken)}"
            taken.add(name)
            status = Supervision(name)
            self.supervised.append(status)
            self._tasks.append(asyncio.create_task(supervise(name, factory, status), name=name))

    async def stop(self) -> None:
        """Graceful: NOT_SERVING, drain RPCs, stop tasks, drain NATS, close the pool."""
        if self._watcher is not None:
            await cancel_and_wait([self._watcher])
            self._watcher = None
        SUPERVISION.remove(self.spec.name)
        if self.metrics is not None:
            self.metrics.close()
        with contextlib.suppress(Exception):
            await self._health.enter_graceful_shutdown()
        if self._server is not None:
            await self._server.stop(self.config.shutdown_grace_s)
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        if self.runtime is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.runtime.nc.drain(), 5)
            await asyncio.wait_for(self.runtime.pool.close(), 10)
            if self.runtime.replica_pool is not None:
                await asyncio.wait_for(self.runtime.replica_pool.close(), 10)
            self.runtime = None
        _log.info("service_stopped", service=self.spec.name)


HEALTH_POLL_S = 0.2
NO_ISSUER = (
    "ONEBUDGET_OIDC_ISSUER and ONEBUDGET_OIDC_JWKS_URL are not set: every call needs a"
    " verified bearer token (docs/security.md)"
)


def part_label(factory: Callable[[], Awaitable[None]]) -> str:
    """A background task's name in health: a consumer by its durable, the relay as
    `outbox_relay`, any other by its function's name (`scheduler`, `retention_pruner`)."""
    owner = getattr(factory, "__self__", None)
    if isinstance(owner, OutboxRelay):
        return "outbox_relay"
    durable = getattr(owner, "durable_name", None)
    if isinstance(durable, str):
        return f"consumer.{durable}"
    func = getattr(factory, "func", factory)  # a functools.partial names its function
    name = getattr(func, "__qualname__", "task")
    parts = [p for p in name.split(".") if p not in ("<locals>", "run")]
    return parts[-1] if parts else "task"


class _Health(health.aio.HealthServicer):  # type: ignore[misc]
    """grpc.health.v1 with `List`: every part's status, for `onebudget status`."""

    async def List(
        self, request: health_pb2.HealthListRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthListResponse:
        return health_pb2.HealthListResponse(
            statuses={
                name: health_pb2.HealthCheckResponse(status=status)
                for name, status in self._server_status.items()
            }
        )


async def serve_until_signalled(hosts: Sequence[ServiceHost]) -> None:
    """Start the hosts, wait for SIGTERM or SIGINT, then stop them gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started: list[ServiceHost] = []
    try:
        for host in hosts:
            await host.start()
            started.append(host)
        await stop.wait()
    finally:
        for host in reversed(started):
            await host.stop()


def run_service(spec: ServiceSpec, config: ServiceConfig) -> None:
    """Entry point of `python -m onebudget.<service>`."""
    configure_logging(config.log_level)
    tracing.configure(spec.name, config.otlp_endpoint)  # off unless an endpoint is set
    try:
        asyncio.run(serve_until_signalled([ServiceHost(spec, config)]))
    finally:
        tracing.shutdown()  # the spans still batched go out


def service_main(
    spec: ServiceSpec,
    load_config: Callable[[], ServiceConfig],
    argv: Sequence[str] | None = None,
) -> int:
    """`python -m onebudget.<service>`: serve until SIGTERM; `python -m onebudget.<service>
    migrate`: apply the service's migrations with ONEBUDGET_DATABASE_URL and exit (what
    `onebudget up` runs before it starts the services, so they need not know that URL's
    password: ADR 16). A bad configuration is one line on stderr, exit 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], [MIGRATE_COMMAND]):
        print(f"usage: python -m onebudget.{spec.name} [{MIGRATE_COMMAND}]", file=sys.stderr)
        return 2
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"onebudget-{spec.name}: configuration error: {exc}", file=sys.stderr)
        return 2
    if args == [MIGRATE_COMMAND]:
        configure_logging(config.log_level)
        asyncio.run(migrate(spec, config.database_url))
        _log.info("service_migrated", service=spec.name)
        return 0
    if config.oidc is None:
        print(f"onebudget-{spec.name}: configuration error: {NO_ISSUER}", file=sys.stderr)
        return 2
    run_service(spec, config)
    return 0
