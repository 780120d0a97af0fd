"""The progress of long work, for people (issue 16): on a terminal a live bar with the count,
the rate and an estimate of the time left (rich); when the output is not a terminal (a log
file, a pipe, CI) plain lines, one every PLAIN_EVERY_S and one at the end, with the same
figures and no control characters. One helper for every long command: the demo load (`up
--demo`, scripts/run), `report rebuild`, `ledger verify` and `audit verify`.

Progress goes to stderr, so a command's output on stdout stays clean."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

PLAIN_EVERY_S = 5.0  # a plain progress line at most this often


def progress_line(label: str, done: int, total: int, elapsed_s: float, unit: str) -> str:
    """`replaying: 1,200 of 5,400 events (22%), 800 events/s, about 6 s left`: the count, the
    share done, the rate and an estimate of the time left (the rate and the estimate only once
    something is done; the estimate only while something is left)."""
    percent = min(done * 100 // total, 100) if total else 100
    line = f"{label}: {done:,} of {total:,} {unit} ({percent}%)"
    if elapsed_s <= 0 or done <= 0:
        return line
    rate = done / elapsed_s
    line += f", {rate:,.0f} {unit}/s"
    if done < total:
        line += f", about {(total - done) / rate:,.0f} s left"
    return line


def done_line(label: str, done: int, elapsed_s: float, unit: str) -> str:
    """`replaying: done, 5,400 events in 6.1 s (885 events/s)`: the last line of the work."""
    rate = f" ({done / elapsed_s:,.0f} {unit}/s)" if elapsed_s > 0 and done > 0 else ""
    return f"{label}: done, {done:,} {unit} in {elapsed_s:,.1f} s{rate}"


class _Rate(ProgressColumn):
    """Items per second, in the work's own unit."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} {self.unit}/s")


class Progress:
    """The progress of `total` items of work called `label` (`unit`: what is counted), on
    `stream` (stderr by default): rich's live bar when `stream` is a terminal, else plain
    lines (progress_line) at most every `plain_every_s` seconds and a last one (done_line).
    Use as a context manager, or call close(); advance() or update() as the work goes."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        unit: str = "items",
        stream: TextIO | None = None,
        plain_every_s: float = PLAIN_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit, self.done = label, max(total, 0), unit, 0
        self._stream = stream if stream is not None else sys.stderr
        self._every_s, self._clock = plain_every_s, clock
        self._started = self._said = clock()
        self._closed = False
        self._live: RichProgress | None = None
        if self._stream.isatty():
            self._live = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                _Rate(unit),
                TimeRemainingColumn(),
                console=Console(file=self._stream),
            )
            self._task = self._live.add_task(label, total=self.total or None)
            self._live.start()

    def advance(self, count: int = 1) -> None:
        """`count` more items are done."""
        self.update(self.done + count)

    def update(self, done: int, total: int | None = None) -> None:
        """`done` items are done so far (of `total`, when the total has changed)."""
        self.done = done
        if total is not None:
            self.total = total
        if self._live is not None:
            self._live.update(self._task, completed=done, total=self.total or None)
            return
        now = self._clock()
        if now - self._said >= self._every_s:
            self._said = now
            self._print(progress_line(self.label, done, self.total, now - self._started, self.unit))

    def close(self, *, finished: bool = True) -> None:
        """End the bar, or print the last plain line (`finished` False: where the work
        stopped, not "done", and nothing when none of it was done); once."""
        if self._closed:
            return
        self._closed = True
        if self._live is not None:
            self._live.stop()
            return
        elapsed = self._clock() - self._started
        if finished:
            self._print(done_line(self.label, self.done, elapsed, self.unit))
        elif self.done:  # work that failed before any of it was done: its error says it all
            self._print(f"{self.label}: stopped at {self.done:,} of {self.total:,} {self.unit}")

    def _print(self, line: str) -> None:
        print(line, file=self._stream, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        _error: BaseException | None,
        _trace: TracebackType | None,
    ) -> None:
        self.close(finished=kind is None)
