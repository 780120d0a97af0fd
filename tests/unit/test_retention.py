"""The retention policy (shared/retention.py): configured once, documented defaults, a window
that never forgets a request_id while a client may still retry it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onebudget.shared.config import ConfigError, ServiceConfig
from onebudget.shared.retention import (
    OUTBOX_DAYS_DEFAULT,
    REQUEST_ID_DAYS_DEFAULT,
    REQUEST_ID_DAYS_MIN,
    SECONDS_PER_DAY,
    STREAM_DAYS_DEFAULT,
    RetentionPolicy,
    cutoff,
    stream_starts_at_first_event,
)

URLS = {"ONEBUDGET_DATABASE_URL": "postgresql://h/db", "ONEBUDGET_NATS_URL": "nats://h:4222"}


def test_defaults_are_the_documented_ones() -> None:
    policy = RetentionPolicy.from_env({})
    assert (policy.request_id_days, policy.outbox_days, policy.stream_days) == (400, 30, 2_557)
    assert (REQUEST_ID_DAYS_DEFAULT, OUTBOX_DAYS_DEFAULT, STREAM_DAYS_DEFAULT) == (400, 30, 2_557)
    # A financial year and a month: a retry at any point of a year's close is still answered.
    assert policy.request_id_days > 366 + 28
    assert policy.stream_max_age_s == 2_557 * SECONDS_PER_DAY
    assert ServiceConfig.from_env("payment", 50053, URLS).retention == policy


def test_each_window_is_configured_by_one_variable() -> None:
    policy = RetentionPolicy.from_env(
        {
            "ONEBUDGET_RETENTION_REQUEST_ID_DAYS": "60",
            "ONEBUDGET_RETENTION_OUTBOX_DAYS": "3",
            "ONEBUDGET_RETENTION_STREAM_DAYS": "0",
        }
    )
    assert (policy.request_id_days, policy.outbox_days, policy.stream_days) == (60, 3, 0)
    assert policy.stream_max_age_s == 0.0  # for ever


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ONEBUDGET_RETENTION_REQUEST_ID_DAYS": str(REQUEST_ID_DAYS_MIN - 1)}, "out of range"),
        ({"ONEBUDGET_RETENTION_REQUEST_ID_DAYS": "1"}, "out of range"),
        ({"ONEBUDGET_RETENTION_OUTBOX_DAYS": "0"}, "out of range"),
        ({"ONEBUDGET_RETENTION_STREAM_DAYS": "-1"}, "out of range"),
        ({"ONEBUDGET_RETENTION_STREAM_DAYS": "ten"}, "not a whole number"),
        (
            {"ONEBUDGET_RETENTION_STREAM_DAYS": "10", "ONEBUDGET_RETENTION_OUTBOX_DAYS": "11"},
            "shorter than",
        ),
    ],
)
def test_a_bad_window_stops_start_up(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RetentionPolicy.from_env(env)
    with pytest.raises(ConfigError, match=message):
        ServiceConfig.from_env("payment", 50053, {**URLS, **env})


def test_cutoff_is_the_window_before_now() -> None:
    now = datetime(2027, 3, 31, 23, 30, tzinfo=UTC)
    assert cutoff(now, 400) == now - timedelta(days=400)
    assert cutoff(now, 1) == datetime(2027, 3, 30, 23, 30, tzinfo=UTC)


def test_a_stream_is_whole_while_it_starts_at_its_first_event() -> None:
    assert stream_starts_at_first_event(0)  # never held a message
    assert stream_starts_at_first_event(1)
    assert not stream_starts_at_first_event(2)
    assert not stream_starts_at_first_event(53_330)
