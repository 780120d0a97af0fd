"""How the reporting service is wired: schema, migrations, servicers, background tasks."""

from __future__ import annotations

from onebudget.shared.db import load_migrations
from onebudget.shared.server import ServiceSpec

SPEC = ServiceSpec(
    name="reporting",
    schema="reporting",
    migrations=lambda: load_migrations("onebudget.reporting.migrations"),
    servicers=lambda _runtime: (),
    publishes=False,
)
