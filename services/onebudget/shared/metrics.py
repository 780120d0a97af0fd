"""Prometheus metrics of a service process (prometheus_client: the reference client, kept by the
Prometheus project; our own exposition code would be one more thing to get wrong).

Each service process serves `/metrics` over HTTP on ONEBUDGET_<SERVICE>_METRICS_PORT (0, the
default outside `onebudget up`, serves nothing); `onebudget up` gives each a free port and
`onebudget status` lists them. What is measured (docs/operations.md says what to watch):

- `onebudget_rpc_requests_total{service, method, code}`: every business RPC by its status code
  (OK, INVALID_ARGUMENT, FAILED_PRECONDITION ...), counted at the edge (shared/grpc_edge.py);
- `onebudget_rpc_duration_seconds{service, method}`: its latency (histogram, seconds);
- `onebudget_outbox_backlog_events{service}` and `onebudget_outbox_oldest_age_seconds{service}`:
  events committed and not yet published by the relay, and how long the oldest has waited;
- `onebudget_db_pool_connections{service, state}`: the pool's size and its idle connections;
- `onebudget_background_task_restarts{service, task}` and `onebudget_background_task_running`:
  each supervised task (relay, consumers, batcher workers, scheduler) as shared/aio.supervise
  records it.

The database gauges are sampled every SAMPLE_EVERY_S by a supervised task, not at scrape time: a
scrape never waits on the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from onebudget.shared.aio import Supervision

SAMPLE_EVERY_S = 5.0
# Seconds: from a sub-millisecond read to a payment that waited on a stalled database.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REGISTRY = CollectorRegistry(auto_describe=True)
RPC_REQUESTS = Counter(
    "onebudget_rpc_requests",
    "Business RPCs answered, by method and gRPC status code.",
    ("service", "method", "code"),
    registry=REGISTRY,
)
RPC_DURATION = Histogram(
    "onebudget_rpc_duration_seconds",
    "Time to answer a business RPC, seconds.",
    ("service", "method"),
    buckets=LATENCY_BUCKETS_S,
    registry=REGISTRY,
)
OUTBOX_BACKLOG = Gauge(
    "onebudget_outbox_backlog_events",
    "Events committed in the outbox and not yet published to JetStream.",
    ("service",),
    registry=REGISTRY,
)
OUTBOX_OLDEST_AGE = Gauge(
    "onebudget_outbox_oldest_age_seconds",
    "How long the oldest unpublished outbox event has waited, seconds (0: none waits).",
    ("service",),
    registry=REGISTRY,
)
POOL_CONNECTIONS = Gauge(
    "onebudget_db_pool_connections",
    "Database pool connections: its size, and how many of them are idle.",
    ("service", "state"),
    registry=REGISTRY,
)


def observe_rpc(service: str, method: str, code: str, duration_s: float) -> None:
    """Count one answered RPC (called once per RPC by the edge)."""
    RPC_REQUESTS.labels(service, method, code).inc()
    RPC_DURATION.labels(service, method).observe(duration_s)


class SupervisionCollector(Collector):
    """The supervised tasks of the services in this process, read at scrape time."""

    def __init__(self) -> None:
        self._sources: dict[str, Callable[[], Sequence[Supervision]]] = {}

    def add(self, service: str, source: Callable[[], Sequence[Supervision]]) -> None:
        self._sources[service] = source

    def remove(self, service: str) -> None:
        self._sources.pop(service, None)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        restarts = GaugeMetricFamily(
            "onebudget_background_task_restarts",
            "Times a supervised background task was restarted after a failure.",
            labels=("service", "task"),
        )
        running = GaugeMetricFamily(
            "onebudget_background_task_running",
            "1 while a supervised background task runs, 0 while it waits to be restarted.",
            labels=("service", "task"),
        )
        for service, source in list(self._sources.items()):
            for status in source():
                restarts.add_metric((service, status.name), status.restarts)
                running.add_metric((service, status.name), 1 if status.running else 0)
        yield restarts
        yield running


SUPERVISION = SupervisionCollector()
REGISTRY.register(SUPERVISION)


async def sample_database(service: str, schema: str, pool: asyncpg.Pool) -> None:
    """Every SAMPLE_EVERY_S: the outbox backlog and the pool's connections (run supervised)."""
    query = (
        "SELECT count(*)::bigint AS backlog,"
        " COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_s"
        f" FROM {schema}.outbox WHERE sent_at IS NULL"
    )
    while True:
        row = await pool.fetchrow(query)
        assert row is not None
        OUTBOX_BACKLOG.labels(service).set(row["backlog"])
        OUTBOX_OLDEST_AGE.labels(service).set(row["oldest_s"])
        POOL_CONNECTIONS.labels(service, "size").set(pool.get_size())
        POOL_CONNECTIONS.labels(service, "idle").set(pool.get_idle_size())
        await asyncio.sleep(SAMPLE_EVERY_S)


class MetricsEndpoint:
    """/metrics of this process over HTTP, on `port` (0: none is served)."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port = 0
        self._server: WSGIServer | None = None
        if port:
            self._server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
            self.port = int(self._server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
