"""Configuration from the environment: good values parse, bad ones stop start-up in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from onebudget.shared.config import ConfigError, ServiceConfig

GOOD = {
    "ONEBUDGET_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/onebudget",
    "ONEBUDGET_NATS_URL": "nats://127.0.0.1:4222",
}


def test_good_environment() -> None:
    config = ServiceConfig.from_env("payment", 50053, {**GOOD, "ONEBUDGET_PAYMENT_PORT": "6000"})
    assert config.grpc_port == 6000
    assert config.database_url == GOOD["ONEBUDGET_DATABASE_URL"]
    with pytest.raises(AttributeError):
        config.grpc_port = 1  # type: ignore[misc]  # frozen


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("ONEBUDGET_DATABASE_URL", "not a url", "must start with"),
        ("ONEBUDGET_DATABASE_URL", "postgresql://host:99999/db", "not a valid URL"),
        ("ONEBUDGET_NATS_URL", "http://127.0.0.1:4222", "must start with"),
        ("ONEBUDGET_NATS_URL", "nats://127.0.0.1:4222,http://127.0.0.1:4223", "must start with"),
        ("ONEBUDGET_NATS_URL", "nats://127.0.0.1:4222,nats://:4223", "has no host"),
        ("ONEBUDGET_PAYMENT_PORT", "70000", "out of range"),
        ("ONEBUDGET_PAYMENT_PORT", "fifty", "not a whole number"),
        ("ONEBUDGET_LOG_LEVEL", "loud", "must be one of"),
        ("ONEBUDGET_MIGRATE", "maybe", "must be one of"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ServiceConfig.from_env("payment", 50053, {**GOOD, name: value})
    assert name in str(caught.value)
    assert says in str(caught.value)


def test_a_nats_cluster_is_named_by_all_its_nodes() -> None:
    nodes = "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224"
    config = ServiceConfig.from_env(
        "payment",
        50053,
        {**GOOD, "ONEBUDGET_NATS_URL": nodes, "ONEBUDGET_STREAM_REPLICAS": "3"},
    )
    assert config.nats_url == nodes
    assert config.stream_replicas == 3


@pytest.mark.parametrize(("value", "migrates"), [("", True), ("true", True), ("false", False)])
def test_a_service_migrates_at_start_up_unless_told_not_to(value: str, migrates: bool) -> None:
    """`onebudget up` migrates first and starts each service with ONEBUDGET_MIGRATE=false
    (ADR 24); a service started on its own migrates itself."""
    config = ServiceConfig.from_env("payment", 50053, {**GOOD, "ONEBUDGET_MIGRATE": value})
    assert config.migrate is migrates


def test_missing_database_url() -> None:
    with pytest.raises(ConfigError, match="ONEBUDGET_DATABASE_URL is not set"):
        ServiceConfig.from_env("payment", 50053, {"ONEBUDGET_NATS_URL": GOOD["ONEBUDGET_NATS_URL"]})


@pytest.mark.parametrize("service", ["entitlement", "allocation", "payment", "reporting"])
def test_bad_configuration_stops_start_up_with_one_line(service: str) -> None:
    env = {**os.environ, **GOOD, f"ONEBUDGET_{service.upper()}_PORT": "123456"}
    done = subprocess.run(
        [sys.executable, "-m", f"onebudget.{service}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "out of range" in lines[0]
    assert "Traceback" not in done.stderr


def test_plaintext_grpc_is_for_loopback_only() -> None:
    base = {
        "ONEBUDGET_DATABASE_URL": "postgresql://postgres@db/ob",
        "ONEBUDGET_NATS_URL": "nats://nats:4222",
    }
    assert ServiceConfig.from_env("payment", 50053, base).tls_cert_file == ""
    with pytest.raises(ConfigError, match=r"ONEBUDGET_GRPC_HOST=0\.0\.0\.0 needs TLS"):
        ServiceConfig.from_env("payment", 50053, {**base, "ONEBUDGET_GRPC_HOST": "0.0.0.0"})
    with pytest.raises(ConfigError, match="go together"):
        ServiceConfig.from_env("payment", 50053, {**base, "ONEBUDGET_TLS_CERT_FILE": "/x.pem"})
    served = ServiceConfig.from_env(
        "payment",
        50053,
        {
            **base,
            "ONEBUDGET_GRPC_HOST": "0.0.0.0",
            "ONEBUDGET_TLS_CERT_FILE": "/run/tls/tls.crt",
            "ONEBUDGET_TLS_KEY_FILE": "/run/tls/tls.key",
        },
    )
    assert (served.tls_cert_file, served.tls_key_file) == ("/run/tls/tls.crt", "/run/tls/tls.key")


def test_an_unknown_command_is_one_line_of_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "onebudget.payment", "migrat"],
        env={**os.environ, **GOOD},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "usage: python -m onebudget.payment [migrate]"
