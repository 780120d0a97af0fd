"""Configuration of the payment service, from environment variables only."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from onebudget.shared.config import ConfigError, ServiceConfig, env_int, env_str

SERVICE_NAME = "payment"
DEFAULT_PORT = 50053
# What a budget may never buy (guidance, domain.md "Payments"; local policy may add more):
# ONEBUDGET_PAYMENT_EXCLUDED_CATEGORIES is a comma-separated list that replaces this one.
EXCLUDED_CATEGORIES_DEFAULT = (
    "alcohol,tobacco,gambling,debt_repayment,illegal,emergency_care,urgent_care,"
    "gp_services,primary_medical_care,primary_dental_care"
)
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class PaymentSettings:
    excluded_categories: frozenset[str] = frozenset(EXCLUDED_CATEGORIES_DEFAULT.split(","))
    reservation_timeout_s: int = 14 * 24 * 3600
    batch_size_max: int = 500  # commands per release transaction
    wait_ms_max: int = 2  # longest a batch waits for company
    batch_workers: int = 2  # one batch commits while the next gathers
    queue_size_max: int = 20_000
    bulk_size_max: int = 1_000  # payments in one ReleasePayments call
    scheduler_interval_s: int = 30
    scheduler_batch_max: int = 100
    expiry_interval_s: int = 10
    # Unused direct-payment money above this many weeks of the weekly rate is offset (reg 13).
    offset_threshold_weeks: int = 8

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PaymentSettings:
        env = os.environ if env is None else env
        prefix = "ONEBUDGET_PAYMENT_"
        raw = env_str(env, f"{prefix}EXCLUDED_CATEGORIES", EXCLUDED_CATEGORIES_DEFAULT)
        categories = frozenset(c.strip() for c in raw.split(",") if c.strip())
        bad = sorted(c for c in categories if not _CATEGORY.match(c))
        if bad:
            raise ConfigError(
                f"{prefix}EXCLUDED_CATEGORIES has bad category codes: {', '.join(bad)}"
            )
        return cls(
            excluded_categories=categories,
            reservation_timeout_s=env_int(
                env,
                f"{prefix}RESERVATION_TIMEOUT_S",
                cls.reservation_timeout_s,
                low=1,
                high=366 * 24 * 3600,
            ),
            batch_size_max=env_int(
                env, f"{prefix}BATCH_SIZE_MAX", cls.batch_size_max, low=1, high=5_000
            ),
            wait_ms_max=env_int(env, f"{prefix}WAIT_MS_MAX", cls.wait_ms_max, low=0, high=1_000),
            scheduler_interval_s=env_int(
                env, f"{prefix}SCHEDULER_INTERVAL_S", cls.scheduler_interval_s, low=1, high=86_400
            ),
            expiry_interval_s=env_int(
                env, f"{prefix}EXPIRY_INTERVAL_S", cls.expiry_interval_s, low=1, high=86_400
            ),
            offset_threshold_weeks=env_int(
                env,
                f"{prefix}OFFSET_THRESHOLD_WEEKS",
                cls.offset_threshold_weeks,
                low=0,
                high=104,
            ),
        )


def load_config(env: Mapping[str, str] | None = None) -> ServiceConfig:
    PaymentSettings.from_env(env)  # a bad payment setting stops start-up too
    return ServiceConfig.from_env(SERVICE_NAME, DEFAULT_PORT, env)
