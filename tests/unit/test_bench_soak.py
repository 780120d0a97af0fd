"""The soak's judgement of "RSS flat" (bench/soak.py): medians of the minute after the warm-up and
of the last minute, growth at most GROWTH_MAX."""

from __future__ import annotations

import os

from onebudget.bench.soak import GROWTH_MAX, WARM_UP_S, growth, rss_kib


def test_growth_compares_the_minute_after_warm_up_with_the_last_minute() -> None:
    # The warm-up's climb (0-60 s) is not judged; then 100 MiB, ending at 105 MiB.
    samples = [(0.0, 10_000), (30.0, 90_000)]
    samples += [(WARM_UP_S + s, 100_000) for s in range(0, 60, 10)]
    samples += [(540.0 + s, 105_000) for s in range(0, 61, 10)]
    judged = growth(samples, 600.0)
    assert judged == (100_000, 105_000, 0.05)
    assert judged[2] <= GROWTH_MAX


def test_a_leak_is_growth_above_the_bound() -> None:
    samples = [(float(at), 100_000 + at * 100) for at in range(0, 601, 10)]
    judged = growth(samples, 600.0)
    assert judged is not None
    assert judged[2] > GROWTH_MAX  # 1 MiB a minute on 100 MiB is not flat


def test_too_short_a_soak_is_not_judged() -> None:
    assert growth([(float(at), 1) for at in range(0, 100, 10)], 100.0) is None


def test_rss_of_a_live_process_and_of_none() -> None:
    assert rss_kib(os.getpid()) > 0
    assert rss_kib(2**22 + 12345) == 0  # above Linux's pid_max default: no such process
