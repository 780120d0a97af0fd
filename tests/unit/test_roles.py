"""The URL a service serves with after migrating (shared/roles.py, ADR 13)."""

from __future__ import annotations

from onebudget.shared.config import ServiceConfig
from onebudget.shared.roles import RUNTIME_ROLE, runtime_database_url


def test_the_runtime_url_is_the_same_server_and_database_as_the_runtime_role() -> None:
    assert (
        runtime_database_url("postgresql://postgres@127.0.0.1:5432/onebudget")
        == f"postgresql://{RUNTIME_ROLE}@127.0.0.1:5432/onebudget"
    )
    # The migrating role's password is never handed on; the query string is kept.
    assert (
        runtime_database_url("postgres://admin:s3cret@db:6543/ob?sslmode=require")
        == f"postgres://{RUNTIME_ROLE}@db:6543/ob?sslmode=require"
    )
    assert runtime_database_url("postgresql://db/ob") == f"postgresql://{RUNTIME_ROLE}@db/ob"


def test_an_explicit_runtime_url_wins() -> None:
    explicit = "postgresql://onebudget_app:pw@db:5432/ob"
    assert runtime_database_url("postgresql://postgres@db/ob", explicit) == explicit
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
