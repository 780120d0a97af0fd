"""How the allocation service is wired: schema, migrations (the ledger's first: allocation
moves money), the gRPC servicer, and the consumer of entitlement's events."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence

from onebudget.allocation.entrypoints.grpc_api import AllocationServicer
from onebudget.allocation.service_layer import entitlement_events
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.allocation.v1 import allocation_service_pb2_grpc as pb_grpc
from onebudget.ledger.anchor import anchor_task
from onebudget.ledger.store import MIGRATIONS_PACKAGE as LEDGER_MIGRATIONS
from onebudget.shared.consumer import EventConsumer
from onebudget.shared.db import load_migrations
from onebudget.shared.policy import CategoryPolicy
from onebudget.shared.server import Runtime, ServicerBinding, ServiceSpec

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AllocationService"].full_name


def _servicers(runtime: Runtime) -> Sequence[ServicerBinding]:
    policy = CategoryPolicy.from_env(os.environ)
    servicer = AllocationServicer(runtime.pool, runtime.clock, policy)
    return ((pb_grpc.add_AllocationServiceServicer_to_server, servicer, SERVICE_NAME),)


def entitlement_consumer(runtime: Runtime) -> EventConsumer:
    return EventConsumer(
        runtime.pool,
        runtime.js,
        schema="allocation",
        stream=entitlement_events.STREAM,
        durable=entitlement_events.DURABLE,
        handler=entitlement_events.handle,
        filter_subjects=entitlement_events.SUBJECTS,
    )


def _background(runtime: Runtime) -> Sequence[Callable[[], Awaitable[None]]]:
    return (
        entitlement_consumer(runtime).run,
        # The ledger's chain head, published outside the database (ADR 13).
        anchor_task(runtime.pool, runtime.js, replicas=runtime.config.stream_replicas),
    )


SPEC = ServiceSpec(
    name="allocation",
    schema="allocation",
    migrations=lambda: load_migrations("onebudget.allocation.migrations"),
    servicers=_servicers,
    background=_background,
    publishes=True,
    extra_components=(("ledger", lambda: load_migrations(LEDGER_MIGRATIONS)),),
)
