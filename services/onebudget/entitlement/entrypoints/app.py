"""How the entitlement service is wired: schema, migrations, servicers, background tasks."""

from __future__ import annotations

from onebudget.shared.db import load_migrations
from onebudget.shared.server import ServiceSpec

SPEC = ServiceSpec(
    name="entitlement",
    schema="entitlement",
    migrations=lambda: load_migrations("onebudget.entitlement.migrations"),
    servicers=lambda _runtime: (),
    publishes=True,
)
