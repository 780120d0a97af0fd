"""How the entitlement service is wired: schema, migrations, servicers, background tasks."""

from __future__ import annotations

from collections.abc import Sequence

from onebudget.entitlement.entrypoints.consumers import review_consumers
from onebudget.entitlement.entrypoints.grpc_servicer import SERVICE_NAME, EntitlementServicer
from onebudget.entitlement.service_layer.handlers import EntitlementHandlers
from onebudget.entitlement.service_layer.importing import PeopleImport
from onebudget.entitlement.service_layer.reviews import ReviewHandlers
from onebudget.entitlement.v1.entitlement_service_pb2_grpc import (
    add_EntitlementServiceServicer_to_server,
)
from onebudget.shared.db import load_migrations
from onebudget.shared.server import Runtime, ServicerBinding, ServiceSpec


def _servicers(runtime: Runtime) -> Sequence[ServicerBinding]:
    servicer = EntitlementServicer(
        EntitlementHandlers(runtime.pool, runtime.clock),
        ReviewHandlers(runtime.pool, runtime.clock),
        PeopleImport(runtime.pool, runtime.clock),
    )
    return ((add_EntitlementServiceServicer_to_server, servicer, SERVICE_NAME),)


SPEC = ServiceSpec(
    name="entitlement",
    schema="entitlement",
    migrations=lambda: load_migrations("onebudget.entitlement.migrations"),
    servicers=_servicers,
    background=review_consumers,
    publishes=True,
)
