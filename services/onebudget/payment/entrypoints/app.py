"""How the payment service is wired: schema, migrations, servicers, background tasks."""

from __future__ import annotations

from onebudget.shared.db import load_migrations
from onebudget.shared.server import ServiceSpec

SPEC = ServiceSpec(
    name="payment",
    schema="payment",
    migrations=lambda: load_migrations("onebudget.payment.migrations"),
    servicers=lambda _runtime: (),
    publishes=True,
)
