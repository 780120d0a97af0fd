"""The URL a service serves with after migrating (shared/roles.py, ADR 13, ADR 16)."""

from __future__ import annotations

import pytest

from onebudget.shared.config import ServiceConfig
from onebudget.shared.roles import SERVICES, runtime_database_url, service_role


def test_the_runtime_url_is_the_same_server_and_database_as_the_services_own_role() -> None:
    assert (
        runtime_database_url("postgresql://postgres@127.0.0.1:5432/onebudget", "payment")
        == "postgresql://onebudget_payment@127.0.0.1:5432/onebudget"
    )
    # The migrating role's password is never handed on; the query string is kept.
    assert (
        runtime_database_url("postgres://admin:s3cret@db:6543/ob?sslmode=require", "entitlement")
        == "postgres://onebudget_entitlement@db:6543/ob?sslmode=require"
    )
    assert (
        runtime_database_url("postgresql://db/ob", "reporting")
        == "postgresql://onebudget_reporting@db/ob"
    )


def test_every_service_has_a_role_of_its_own() -> None:
    roles = [service_role(s) for s in SERVICES]
    assert len(set(roles)) == len(SERVICES) == 4
    assert service_role("allocation") == "onebudget_allocation"
    with pytest.raises(ValueError, match="no database role"):
        service_role("ledger")


def test_an_explicit_runtime_url_wins() -> None:
    explicit = "postgresql://onebudget_payment@db:5432/ob"
    assert runtime_database_url("postgresql://postgres@db/ob", "payment", explicit) == explicit
    config = ServiceConfig.from_env(
        "payment",
        50053,
        {
            "ONEBUDGET_DATABASE_URL": "postgresql://postgres@db/ob",
            "ONEBUDGET_NATS_URL": "nats://nats:4222",
            "ONEBUDGET_RUNTIME_DATABASE_URL": explicit,
        },
    )
    assert config.runtime_database_url == explicit
