"""Issue 17: the payment service's process collects cyclic garbage less often (its batches keep
tens of thousands of objects alive for a transaction) and freezes what start-up made."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from onebudget.payment.config import PaymentSettings
from onebudget.payment.entrypoints import app
from onebudget.shared.config import ConfigError


def test_the_young_generation_size_is_a_setting_with_a_bound() -> None:
    assert PaymentSettings.from_env({}).gc_young_objects_max == 20_000
    env = {"ONEBUDGET_PAYMENT_GC_YOUNG_OBJECTS_MAX": "0"}
    assert PaymentSettings.from_env(env).gc_young_objects_max == 0
    env = {"ONEBUDGET_PAYMENT_GC_YOUNG_OBJECTS_MAX": "-1"}
    with pytest.raises(ConfigError):
        PaymentSettings.from_env(env)


def test_gc_is_tuned_once_per_process_and_never_with_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(app, "_GC_TUNED", [])

    def collect(*args: Any) -> int:
        calls.append(("collect", args))
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(("freeze", ())))
    monkeypatch.setattr(gc, "get_threshold", lambda: (700, 10, 10))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: calls.append(("set_threshold", t)))
    assert app.tune_gc(0) is False  # 0: Python's defaults, nothing frozen
    assert calls == []
    assert app.tune_gc(20_000) is True
    assert calls == [("collect", ()), ("freeze", ()), ("set_threshold", (20_000, 10, 10))]
    # A second service start in the same process (tests, a restart) changes nothing more.
    assert app.tune_gc(5_000) is False
    assert len(calls) == 3
