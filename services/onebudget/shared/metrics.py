"""Prometheus metrics of a service process (prometheus_client: the reference client, kept by the
Prometheus project; our own exposition code would be one more thing to get wrong).

Each service process serves `/metrics` over HTTP on ONEBUDGET_<SERVICE>_METRICS_PORT (0, the
default outside `onebudget up`, serves nothing); `onebudget up` gives each a free port and
`onebudget status` lists them. What is measured (docs/operations.md says what to watch):

- `onebudget_rpc_requests_total{service, method, code}`: every business RPC by its status code
  (OK, INVALID_ARGUMENT, FAILED_PRECONDITION ...), counted at the edge (shared/grpc_edge.py);
- `onebudget_rpc_duration_seconds{service, method}`: its latency (histogram, seconds);
- `onebudget_outbox_backlog_events{service}` and `onebudget_outbox_oldest_age_seconds{service}`:
  events committed and not yet acknowledged (the outbox rows above the relay's high-water mark,
  ADR 21), and how long the oldest has waited;
- `onebudget_db_pool_connections{service, state}`: the pool's size, its idle connections and
  its maximum (in use = size - idle);
- `onebudget_background_task_restarts{service, task}` and `onebudget_background_task_running`:
  each supervised task (relay, consumers, batcher workers, scheduler) as shared/aio.supervise
  records it;
- `onebudget_batch_size_commands{service, batcher}`: commands per batch of a command batcher
  (payment's release batcher, single calls and bulk chunks alike) and events per relay batch;
- `onebudget_ledger_transfers_total{service, source}`: ledger transfers in transactions that
  committed (counted after the commit, so a batch rolled back and retried counts once), by what
  wrote them: `release` (payment's batcher), `instalment` (its scheduler), `rpc` (any other
  mutating RPC), `event` (a consumer's effect), `expiry` (reservations past their timeout);
- `onebudget_relay_published_total{service}` and `onebudget_relay_publish_lag_seconds{service}`:
  events the relay published, and each one's wait from its outbox commit to JetStream's ack;
- `onebudget_consumer_events_total{service, consumer, outcome}` (applied, duplicate,
  terminated) and `onebudget_consumer_pending_events{service, consumer}`: JetStream's
  `num_pending` of the durable consumer (events in the stream it has not been given yet);
- `onebudget_reconcile_differences{commissioner, financial_year}` and
  `onebudget_reconcile_last_run_timestamp_seconds{...}`: what reporting's last `Reconcile` of
  that year found (0: every figure equals the ledger), and when it ran;
- `onebudget_scheduler_runs_total{service}`, `onebudget_scheduler_run_duration_seconds{service}`
  and `onebudget_scheduler_instalments_total{service, outcome}` (paid, not_paid): the
  direct-payment scheduler.

The database gauges are sampled every SAMPLE_EVERY_S by a supervised task, not at scrape time: a
scrape never waits on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
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
# Commands (or events) per batch: 1 .. a batcher's batch_size_max (payment: 200, relay: 500).
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
# Seconds an event waits from its outbox commit to JetStream's ack.
LAG_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
BATCH_SIZE = Histogram(
    "onebudget_batch_size_commands",
    "Commands (or events, for the relay) per batch of a batcher.",
    ("service", "batcher"),
    buckets=BATCH_BUCKETS,
    registry=REGISTRY,
)
LEDGER_TRANSFERS = Counter(
    "onebudget_ledger_transfers",
    "Ledger transfers written in transactions that committed, by what wrote them.",
    ("service", "source"),
    registry=REGISTRY,
)
RELAY_PUBLISHED = Counter(
    "onebudget_relay_published",
    "Events the outbox relay published to JetStream (acknowledged).",
    ("service",),
    registry=REGISTRY,
)
RELAY_LAG = Histogram(
    "onebudget_relay_publish_lag_seconds",
    "Time from an event's outbox commit to JetStream's acknowledgement, seconds.",
    ("service",),
    buckets=LAG_BUCKETS_S,
    registry=REGISTRY,
)
CONSUMER_EVENTS = Counter(
    "onebudget_consumer_events",
    "Events a durable consumer handled: applied, duplicate (applied before) or terminated.",
    ("service", "consumer", "outcome"),
    registry=REGISTRY,
)
CONSUMER_PENDING = Gauge(
    "onebudget_consumer_pending_events",
    "Events in the stream not yet delivered to the durable consumer (JetStream num_pending).",
    ("service", "consumer"),
    registry=REGISTRY,
)
SCHEDULER_RUNS = Counter(
    "onebudget_scheduler_runs",
    "Runs of the direct-payment scheduler (one run pays everything due, in calls of a batch).",
    ("service",),
    registry=REGISTRY,
)
SCHEDULER_DURATION = Histogram(
    "onebudget_scheduler_run_duration_seconds",
    "Time one scheduler run took, seconds.",
    ("service",),
    buckets=(*LATENCY_BUCKETS_S, 30.0, 60.0, 300.0),
    registry=REGISTRY,
)
SCHEDULER_INSTALMENTS = Counter(
    "onebudget_scheduler_instalments",
    "Direct-payment instalments the scheduler handled: paid, or not_paid (refused, held, ended).",
    ("service", "outcome"),
    registry=REGISTRY,
)
RECONCILE_DIFFERENCES = Gauge(
    "onebudget_reconcile_differences",
    "Figures the last reconciliation of a commissioner's year found differing from the ledger.",
    ("commissioner", "financial_year"),
    registry=REGISTRY,
)
RECONCILE_AT = Gauge(
    "onebudget_reconcile_last_run_timestamp_seconds",
    "When a commissioner's year was last reconciled with the ledger (Unix time, seconds).",
    ("commissioner", "financial_year"),
    registry=REGISTRY,
)
POOL_CONNECTIONS = Gauge(
    "onebudget_db_pool_connections",
    "Database pool connections: its size, how many of them are idle, and its maximum.",
    ("service", "state"),
    registry=REGISTRY,
)


def observe_rpc(service: str, method: str, code: str, duration_s: float) -> None:
    """Count one answered RPC (called once per RPC by the edge)."""
    RPC_REQUESTS.labels(service, method, code).inc()
    RPC_DURATION.labels(service, method).observe(duration_s)


def observe_batch(service: str, batcher: str, size: int) -> None:
    """One batch of `size` commands (or events) taken by `batcher`."""
    BATCH_SIZE.labels(service, batcher).observe(size)


def count_ledger_transfers(service: str, source: str, count: int) -> None:
    """`count` ledger transfers committed (call after the commit, never inside it)."""
    if count:
        LEDGER_TRANSFERS.labels(service, source).inc(count)


# The ledger transfers written so far in the transaction this task runs, when its owner counts
# them (`counting_ledger_transfers`); None: nobody counts here (or the owner counts itself).
_TRANSFER_TALLY: ContextVar[list[int] | None] = ContextVar("onebudget_transfer_tally", default=None)


def note_ledger_transfers(count: int) -> None:
    """Called by the ledger when it has written `count` transfers in the caller's transaction."""
    tally = _TRANSFER_TALLY.get()
    if tally is not None:
        tally[0] += count


@contextlib.contextmanager
def counting_ledger_transfers(service: str, source: str | None) -> Iterator[None]:
    """Around a transaction (enter before it begins, leave after it commits): the ledger
    transfers written inside it are counted once the block ends without an exception, i.e.
    after the commit; a transaction that fails or rolls back counts nothing. `source` None:
    nothing is counted inside (a caller that counts for itself, as the release batcher does,
    whose savepoint rounds the ledger refused are rolled back)."""
    tally = [0]
    token = _TRANSFER_TALLY.set(tally if source is not None else None)
    try:
        yield
    finally:
        _TRANSFER_TALLY.reset(token)
    if source is not None:
        count_ledger_transfers(service, source, tally[0])


def observe_relay(service: str, lags_s: Sequence[float]) -> None:
    """A relay batch acknowledged: each event's wait from its commit to the ack, seconds."""
    RELAY_PUBLISHED.labels(service).inc(len(lags_s))
    lag = RELAY_LAG.labels(service)
    for waited in lags_s:
        lag.observe(waited)


def count_consumed(service: str, consumer: str, outcome: str) -> None:
    """One event handled by a durable consumer: `applied`, `duplicate` or `terminated`."""
    CONSUMER_EVENTS.labels(service, consumer, outcome).inc()


def set_consumer_pending(service: str, consumer: str, pending: int) -> None:
    """JetStream's num_pending of the durable consumer, as last seen."""
    CONSUMER_PENDING.labels(service, consumer).set(pending)


def observe_scheduler_run(service: str, duration_s: float, paid: int, not_paid: int) -> None:
    """One scheduler run: how long it took and the instalments it paid or did not."""
    SCHEDULER_RUNS.labels(service).inc()
    SCHEDULER_DURATION.labels(service).observe(duration_s)
    SCHEDULER_INSTALMENTS.labels(service, "paid").inc(paid)
    SCHEDULER_INSTALMENTS.labels(service, "not_paid").inc(not_paid)


def observe_reconciliation(commissioner: str, financial_year: int, differences: int) -> None:
    """A reconciliation of the reports with the ledger ran and found `differences` figures."""
    labels = (commissioner, str(financial_year))
    RECONCILE_DIFFERENCES.labels(*labels).set(differences)
    RECONCILE_AT.labels(*labels).set_to_current_time()


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
        f" FROM {schema}.outbox_pending"  # above the relay's high-water mark (ADR 21)
    )
    while True:
        row = await pool.fetchrow(query)
        assert row is not None
        OUTBOX_BACKLOG.labels(service).set(row["backlog"])
        OUTBOX_OLDEST_AGE.labels(service).set(row["oldest_s"])
        POOL_CONNECTIONS.labels(service, "size").set(pool.get_size())
        POOL_CONNECTIONS.labels(service, "idle").set(pool.get_idle_size())
        POOL_CONNECTIONS.labels(service, "max").set(pool.get_max_size())
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
