"""The one excluded-category policy: one list, one variable, read the same by allocation and
payment (issue 12: two lists let a line be agreed that could never be paid)."""

from __future__ import annotations

import pytest

from onebudget.allocation.config import load_config as allocation_config
from onebudget.payment.config import PaymentSettings
from onebudget.payment.config import load_config as payment_config
from onebudget.shared.config import ConfigError
from onebudget.shared.policy import (
    CATEGORY_EXCLUDED,
    EXCLUDED_CATEGORIES_DEFAULT,
    CategoryPolicy,
    is_excluded,
)

ENV = {"ONEBUDGET_DATABASE_URL": "postgresql://x/y", "ONEBUDGET_NATS_URL": "nats://x:4222"}


@pytest.mark.parametrize(
    "category",
    [
        "alcohol",
        "tobacco",
        "gambling",
        "debt_repayment",
        "illegal",
        "urgent_care",
        "emergency_care",
        "gp_services",
        "primary_medical_care",
        "primary_dental_care",
    ],
)
def test_the_default_list_is_domain_mds(category: str) -> None:
    assert is_excluded(category, EXCLUDED_CATEGORIES_DEFAULT)
    refused = CategoryPolicy().check_category(category, field="line.category")
    assert refused is not None
    assert refused.reason == CATEGORY_EXCLUDED
    assert dict(refused.metadata) == {"category": category, "field": "line.category"}


@pytest.mark.parametrize("category", ["personal_care", "respite", "urgent", "gp", "care"])
def test_other_categories_may_be_bought(category: str) -> None:
    assert not CategoryPolicy().is_excluded(category)
    assert CategoryPolicy().check_category(category) is None


def test_one_variable_configures_both_services() -> None:
    env = {"ONEBUDGET_EXCLUDED_CATEGORIES": " lottery_tickets,alcohol ,, "}
    policy = CategoryPolicy.from_env(env)
    assert policy.excluded == {"lottery_tickets", "alcohol"}
    assert PaymentSettings.from_env(env).excluded_categories == policy.excluded
    assert PaymentSettings.from_env({}).excluded_categories == EXCLUDED_CATEGORIES_DEFAULT
    assert CategoryPolicy.from_env({}) == CategoryPolicy()


@pytest.mark.parametrize("load", [allocation_config, payment_config])
def test_a_bad_list_stops_either_service(load: object) -> None:
    env = {**ENV, "ONEBUDGET_EXCLUDED_CATEGORIES": "alcohol,Bad Code"}
    with pytest.raises(ConfigError, match=r"ONEBUDGET_EXCLUDED_CATEGORIES.*Bad Code"):
        load(env)  # type: ignore[operator]


def test_the_retired_payment_variable_is_refused_not_ignored() -> None:
    with pytest.raises(ConfigError, match="ONEBUDGET_EXCLUDED_CATEGORIES"):
        PaymentSettings.from_env({"ONEBUDGET_PAYMENT_EXCLUDED_CATEGORIES": "alcohol"})
