"""Configuration of the allocation service, from environment variables only."""

from __future__ import annotations

import os
from collections.abc import Mapping

from onebudget.shared.config import ServiceConfig
from onebudget.shared.policy import CategoryPolicy

SERVICE_NAME = "allocation"
DEFAULT_PORT = 50052


def load_config(env: Mapping[str, str] | None = None) -> ServiceConfig:
    env = os.environ if env is None else env
    CategoryPolicy.from_env(env)  # a bad excluded-categories list stops start-up too
    return ServiceConfig.from_env(SERVICE_NAME, DEFAULT_PORT, env)
