"""Long work shows its progress (issue 16) through one helper, shared/progress: on a terminal a
live bar (rich) with the rate and an estimate; elsewhere (a log, a pipe, CI) plain lines with
the same figures, at most every few seconds, and a last line; never control characters."""

from __future__ import annotations

import io

import pytest

from onebudget.shared.progress import Progress, done_line, progress_line


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_progress_is_plain_lines_with_a_rate_and_an_estimate() -> None:
    out, clock = io.StringIO(), _Clock()
    with Progress("loading", 1_000, unit="people", stream=out, clock=clock) as progress:
        for _ in range(10):
            clock.now += 1.0
            progress.advance(100)
    lines = out.getvalue().splitlines()
    assert lines == [
        "loading: 500 of 1,000 people (50%), 100 people/s, about 5 s left",
        "loading: 1,000 of 1,000 people (100%), 100 people/s",
        "loading: done, 1,000 people in 10.0 s (100 people/s)",
    ]
    assert "\r" not in out.getvalue()
    assert "\x1b" not in out.getvalue()


def test_plain_lines_are_not_printed_more_often_than_asked() -> None:
    out, clock = io.StringIO(), _Clock()
    progress = Progress("replaying", 0, unit="events", stream=out, clock=clock, plain_every_s=2)
    for applied in range(1, 7):
        clock.now += 0.5
        progress.update(applied * 10, 60)
    progress.close()
    progress.close()  # once
    lines = out.getvalue().splitlines()
    assert lines[0] == "replaying: 40 of 60 events (66%), 20 events/s, about 1 s left"
    assert lines[-1] == "replaying: done, 60 events in 3.0 s (20 events/s)"
    assert len(lines) == 2  # six updates in 3 s: one progress line, then the last


def test_work_that_fails_says_where_it_stopped() -> None:
    out = io.StringIO()

    def three_then_fail() -> None:
        with Progress("verifying", 8, unit="checks", stream=out) as progress:
            progress.advance(3)
            raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        three_then_fail()
    assert out.getvalue() == "verifying: stopped at 3 of 8 checks\n"
    # Nothing done: the error is the one line (no progress line before it).
    nothing = io.StringIO()
    with pytest.raises(RuntimeError), Progress("verifying", 8, unit="checks", stream=nothing):
        raise RuntimeError("NATS unreachable")
    assert nothing.getvalue() == ""


def test_on_a_terminal_it_is_a_live_bar() -> None:
    out = _Terminal()
    with Progress("payments and schedules", 4, unit="budgets", stream=out) as progress:
        progress.advance(4)
    drawn = out.getvalue()
    assert "payments and schedules" in drawn
    assert "4/4" in drawn


def test_the_lines_figures() -> None:
    assert progress_line("x", 0, 0, 1.0, "items") == "x: 0 of 0 items (100%)"
    assert progress_line("x", 3, 4, 0.0, "items") == "x: 3 of 4 items (75%)"
    assert done_line("x", 0, 0.0, "items") == "x: done, 0 items in 0.0 s"
