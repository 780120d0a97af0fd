"""Configuration of the payment service, from environment variables only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from onebudget.payment.domain.schedules import CATCH_UP_MAX_DEFAULT, REPAYMENT_DUE_DAYS_DEFAULT
from onebudget.shared.config import ConfigError, ServiceConfig, env_int
from onebudget.shared.policy import (
    EXCLUDED_CATEGORIES_DEFAULT,
    EXCLUDED_CATEGORIES_ENV,
    CategoryPolicy,
)

SERVICE_NAME = "payment"
DEFAULT_PORT = 50053
# Replaced by the one variable allocation reads too: refused so that a setting is never lost.
_RETIRED_EXCLUDED_CATEGORIES = "ONEBUDGET_PAYMENT_EXCLUDED_CATEGORIES"


@dataclass(frozen=True)
class PaymentSettings:
    # What a budget may never buy: the one policy (shared/policy.py), configured once for
    # allocation and payment by ONEBUDGET_EXCLUDED_CATEGORIES.
    excluded_categories: frozenset[str] = EXCLUDED_CATEGORIES_DEFAULT
    reservation_timeout_s: int = 14 * 24 * 3600
    batch_size_max: int = 500  # commands per release transaction
    wait_ms_max: int = 2  # longest a batch waits for company
    batch_workers: int = 2  # one batch commits while the next gathers
    queue_size_max: int = 20_000
    bulk_size_max: int = 1_000  # payments in one ReleasePayments call
    scheduler_interval_s: int = 30
    scheduler_batch_max: int = 100
    # Back-dated instalments one scheduler run pays per schedule; the rest wait for later runs
    # and are flagged (domain/schedules.py may_pay_now).
    catch_up_max: int = CATCH_UP_MAX_DEFAULT
    expiry_interval_s: int = 10
    # Unused direct-payment money above this many weeks of the weekly rate is offset (reg 13).
    offset_threshold_weeks: int = 8
    # The time limit a reclaim notice this service raises by itself gives (what a direct payment
    # paid in advance for days after a death, withdrawn consent or a budget's end): reg 15 says
    # the notice states one; how long is local practice (shared/domain.md, "Reclaim").
    repayment_due_days: int = REPAYMENT_DUE_DAYS_DEFAULT
    # Python's cyclic garbage collector (issue 17): a young generation this many tracked objects
    # big before a collection (Python's default, 700, collected 300 times in 7,000 bulk
    # payments: a batch's objects live across many collections, a third of the service's CPU),
    # and the objects made at start-up frozen out of every collection. 0: Python's defaults.
    gc_young_objects_max: int = 20_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PaymentSettings:
        env = os.environ if env is None else env
        prefix = "ONEBUDGET_PAYMENT_"
        if env.get(_RETIRED_EXCLUDED_CATEGORIES, "").strip():
            raise ConfigError(
                f"{_RETIRED_EXCLUDED_CATEGORIES} is replaced by {EXCLUDED_CATEGORIES_ENV}"
                " (one list for allocation and payment)"
            )
        return cls(
            excluded_categories=CategoryPolicy.from_env(env).excluded,
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
            catch_up_max=env_int(env, f"{prefix}CATCH_UP_MAX", cls.catch_up_max, low=1, high=1_000),
            expiry_interval_s=env_int(
                env, f"{prefix}EXPIRY_INTERVAL_S", cls.expiry_interval_s, low=1, high=86_400
            ),
            gc_young_objects_max=env_int(
                env, f"{prefix}GC_YOUNG_OBJECTS_MAX", cls.gc_young_objects_max, low=0, high=10**7
            ),
            offset_threshold_weeks=env_int(
                env,
                f"{prefix}OFFSET_THRESHOLD_WEEKS",
                cls.offset_threshold_weeks,
                low=0,
                high=104,
            ),
            repayment_due_days=env_int(
                env, f"{prefix}REPAYMENT_DUE_DAYS", cls.repayment_due_days, low=1, high=366
            ),
        )


def load_config(env: Mapping[str, str] | None = None) -> ServiceConfig:
    PaymentSettings.from_env(env)  # a bad payment setting stops start-up too
    return ServiceConfig.from_env(SERVICE_NAME, DEFAULT_PORT, env)
