"""How the reporting service is wired: schema, migrations (the ledger's too: Reconcile reads it),
the gRPC servicer, and the consumers of the ALLOCATION, PAYMENT and ENTITLEMENT streams.
Reporting never writes money and publishes nothing."""

from __future__ import annotations

from collections.abc import Sequence

from onebudget.ledger.store import MIGRATIONS_PACKAGE as LEDGER_MIGRATIONS
from onebudget.reporting.entrypoints.consumers import background, group_for
from onebudget.reporting.entrypoints.grpc_servicer import SERVICE_NAME, ReportingServicer
from onebudget.reporting.v1.reporting_service_pb2_grpc import (
    add_ReportingServiceServicer_to_server,
)
from onebudget.shared.db import load_migrations
from onebudget.shared.server import Runtime, ServicerBinding, ServiceSpec


def _servicers(runtime: Runtime) -> Sequence[ServicerBinding]:
    # Reports read from the replica when one is configured; the rebuild and the projections
    # (consumers) write to the primary.
    servicer = ReportingServicer(
        runtime.pool,
        group_for(runtime),
        reads=runtime.reads,
        replica=runtime.replica_pool is not None,
        clock=runtime.clock,
    )
    return ((add_ReportingServiceServicer_to_server, servicer, SERVICE_NAME),)


SPEC = ServiceSpec(
    name="reporting",
    schema="reporting",
    migrations=lambda: load_migrations("onebudget.reporting.migrations"),
    servicers=_servicers,
    background=background,
    publishes=False,
    # Reconcile reads the ledger's tables; a reporting service started first still finds them.
    extra_components=(("ledger", lambda: load_migrations(LEDGER_MIGRATIONS)),),
)
