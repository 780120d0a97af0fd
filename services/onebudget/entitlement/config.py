"""Configuration of the entitlement service, from environment variables only."""

from __future__ import annotations

from collections.abc import Mapping

from onebudget.shared.config import ServiceConfig

SERVICE_NAME = "entitlement"
DEFAULT_PORT = 50051


def load_config(env: Mapping[str, str] | None = None) -> ServiceConfig:
    return ServiceConfig.from_env(SERVICE_NAME, DEFAULT_PORT, env)
