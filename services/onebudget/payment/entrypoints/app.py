"""How the payment service is wired: schema, migrations (its own and the ledger's), servicer,
and background tasks (outbox relay, consumers, scheduler, reservation expiry)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Sequence

from onebudget.ledger.anchor import anchor_task
from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints.consumers import payment_consumers
from onebudget.payment.entrypoints.grpc_servicer import SERVICE_NAME, PaymentServicer
from onebudget.payment.service_layer.handlers import PaymentHandlers
from onebudget.payment.service_layer.scheduler import (
    SchedulerRun,
    expire_reservations,
    run_due_instalments,
)
from onebudget.payment.v1.payment_service_pb2_grpc import add_PaymentServiceServicer_to_server
from onebudget.shared.db import load_migrations
from onebudget.shared.logging import get_logger
from onebudget.shared.metrics import observe_scheduler_run
from onebudget.shared.server import Runtime, ServicerBinding, ServiceSpec

_log = get_logger("onebudget.payment")


_GC_TUNED: list[int] = []  # the threshold set, once per process


def tune_gc(young_objects_max: int) -> bool:
    """Once per process (issue 17): collect, freeze what start-up made (modules, protobuf
    descriptors: never garbage, yet traversed by every full collection) and let the youngest
    generation grow to `young_objects_max` tracked objects before it is collected. A payment
    batch keeps tens of thousands of objects alive for its whole transaction; at Python's
    default of 700 each is traversed in many collections before the batch ends. 0 leaves
    Python's defaults. True when this call tuned it. Process-wide: in production each service
    has its process; the payment service is the one whose batches need it."""
    if young_objects_max <= 0 or _GC_TUNED:
        return False
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(young_objects_max, middle, oldest)
    _GC_TUNED.append(young_objects_max)
    return True


def _servicers(runtime: Runtime) -> Sequence[ServicerBinding]:
    settings = PaymentSettings.from_env()
    tune_gc(settings.gc_young_objects_max)
    handlers = PaymentHandlers(runtime.pool, settings, runtime.clock)
    return ((add_PaymentServiceServicer_to_server, PaymentServicer(handlers), SERVICE_NAME),)


def scheduler_task(runtime: Runtime, settings: PaymentSettings) -> Callable[[], Awaitable[None]]:
    async def scheduler() -> None:
        # One run lasts until nothing else is due (several calls when more than a batch is):
        # the catch-up limit counts back-dated instalments per schedule per run.
        this_run = SchedulerRun()
        started = time.perf_counter()
        while True:
            paid = await run_due_instalments(
                runtime.pool, settings, runtime.clock, settings.scheduler_batch_max, this_run
            )
            if paid:
                _log.info("instalments_run", count=paid)
            if paid < settings.scheduler_batch_max:
                observe_scheduler_run(
                    "payment", time.perf_counter() - started, this_run.paid, this_run.not_paid
                )
                this_run = SchedulerRun()
                await asyncio.sleep(settings.scheduler_interval_s)
                started = time.perf_counter()
            else:
                await asyncio.sleep(0)

    return scheduler


def expiry_task(runtime: Runtime, settings: PaymentSettings) -> Callable[[], Awaitable[None]]:
    async def reservation_expiry() -> None:
        while True:
            expired = await expire_reservations(runtime.pool)
            if expired:
                _log.info("reservations_expired", count=expired)
            await asyncio.sleep(settings.expiry_interval_s)

    return reservation_expiry


def _background(runtime: Runtime) -> Sequence[Callable[[], Awaitable[None]]]:
    settings = PaymentSettings.from_env()
    return (
        *payment_consumers(runtime, settings),
        scheduler_task(runtime, settings),
        expiry_task(runtime, settings),
        # The ledger's chain head, published outside the database (ADR 13).
        anchor_task(runtime.pool, runtime.js, replicas=runtime.config.stream_replicas),
    )


SPEC = ServiceSpec(
    name="payment",
    schema="payment",
    migrations=lambda: load_migrations("onebudget.payment.migrations"),
    servicers=_servicers,
    background=_background,
    publishes=True,
    extra_components=(("ledger", lambda: load_migrations("onebudget.ledger.migrations")),),
)
