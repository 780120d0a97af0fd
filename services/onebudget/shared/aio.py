"""asyncio helpers every long-running task owner needs."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from onebudget.shared.logging import get_logger

_log = get_logger("onebudget.aio")

CANCEL_ATTEMPTS_MAX = 10
CANCEL_WAIT_S = 1.0


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel the tasks and wait for them, cancelling again while any is still running.

    Python 3.11's asyncio.wait_for can swallow a cancellation that arrives as its inner future
    completes (fixed in 3.12); a consumer, relay or worker polling with wait_for then keeps
    running, and a plain cancel-then-await waits forever. Cancelling until done makes stopping
    certain; a task that still runs after every attempt is logged, not waited for.
    """
    pending = {t for t in tasks if not t.done()}
    for _ in range(CANCEL_ATTEMPTS_MAX):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=CANCEL_WAIT_S)
    if pending:
        _log.error("tasks_did_not_stop", tasks=sorted(t.get_name() for t in pending))


@dataclass
class Supervision:
    """How one supervised task is doing (for health and for tests): restarts so far, the last
    failure, whether it is running now, and whether it is failing.

    A task is *failing* from a failure until it has run again for RECOVERED_AFTER_S without
    one (`crashed`), or while it says it cannot do its work though it keeps running (a relay
    retrying a publish, a consumer retrying an event through an outage: `troubled`, set by
    `report_trouble` and cleared by `report_ok`). Tasks a supervised task starts under
    `supervise` (a reporting consumer, a payment batch worker) are its `children`: a failing
    child makes its parent's tree fail too, and health names the child."""

    name: str
    restarts: int = 0
    running: bool = False
    last_error: str = ""
    crashed: bool = False
    troubled_until: float = 0.0  # time.monotonic() until which reported trouble counts
    children: list[Supervision] = field(default_factory=list, repr=False)

    @property
    def troubled(self) -> bool:
        return time.monotonic() < self.troubled_until

    @property
    def failing(self) -> bool:
        return self.crashed or self.troubled

    def failing_parts(self) -> list[Supervision]:
        """This task and every descendant that is failing, parents first."""
        found = [self] if self.failing else []
        for child in list(self.children):
            found += child.failing_parts()
        return found

    def parts(self) -> list[Supervision]:
        """This task and every descendant."""
        return [self, *(p for child in list(self.children) for p in child.parts())]


_CURRENT: contextvars.ContextVar[Supervision | None] = contextvars.ContextVar(
    "onebudget_supervision", default=None
)


def current_supervision() -> Supervision | None:
    """The supervision of the task running now (None outside `supervise`)."""
    return _CURRENT.get()


@contextlib.contextmanager
def supervising(root: Supervision) -> Iterator[None]:
    """Inside the block, tasks started under `supervise` (and tasks those start) become
    descendants of `root` (ServiceHost's tree of a service's parts)."""
    token = _CURRENT.set(root)
    try:
        yield
    finally:
        # A coroutine closed by the garbage collector (its loop gone) ends in another context.
        with contextlib.suppress(ValueError):
            _CURRENT.reset(token)


def report_trouble(error: BaseException) -> None:
    """The running supervised task keeps going but cannot do its work (it retries in place):
    it counts as failing until `report_ok`, or for TROUBLE_HOLD_S after the last report (a
    task that retries reports again well within it; an idle one that failed once, a batch
    worker with no work since, must not keep the service NOT_SERVING, and so unused, for
    ever)."""
    status = _CURRENT.get()
    if status is not None:
        status.troubled_until = time.monotonic() + TROUBLE_HOLD_S
        status.last_error = repr(error)[:200]


def report_ok() -> None:
    """The running supervised task did its work again."""
    status = _CURRENT.get()
    if status is not None:
        status.troubled_until = 0.0


BACKOFF_S_MIN = 0.1
BACKOFF_S_MAX = 5.0
HEALTHY_RUN_S = 30.0  # a run this long resets the back-off
RECOVERED_AFTER_S = 1.0  # a restarted task that runs this long without failing has recovered
TROUBLE_HOLD_S = 10.0  # longer than any in-place retry period (the relay's: 5.5 s)


async def supervise(
    name: str,
    factory: Callable[[], Awaitable[None]],
    status: Supervision | None = None,
    *,
    parent: Supervision | None = None,
    backoff_s_min: float = BACKOFF_S_MIN,
    backoff_s_max: float = BACKOFF_S_MAX,
) -> None:
    """Run `factory()` until it returns or the task is cancelled; when it fails, log, wait, and
    run it again (a fresh call, so fresh connections), doubling the wait from `backoff_s_min`
    up to `backoff_s_max`, back to the minimum after a run of HEALTHY_RUN_S.

    The one supervision pattern of every long-lived task (relays, consumers, batch workers,
    schedulers, sweeps): a task that dies on a lost database or bus connection is never left
    dead (issue 15: "a long-lived task or connection that dies and is never replaced").
    `status` is marked failing from a failure until a run has lasted RECOVERED_AFTER_S; it is
    a child of `parent` (default: the supervision this is started under) while it runs."""
    status = status or Supervision(name)
    parent = parent if parent is not None else _CURRENT.get()
    if parent is not None and parent is not status:
        parent.children.append(status)
    token = _CURRENT.set(status)  # the factory and the tasks it starts see it as their parent
    loop = asyncio.get_running_loop()
    backoff = backoff_s_min
    try:
        while True:
            started = time.monotonic()
            status.running = True
            restarts = status.restarts
            recovered = loop.call_later(RECOVERED_AFTER_S, _recovered, status, restarts)
            try:
                await factory()
                status.running = False
                return
            except asyncio.CancelledError:
                status.running = False
                raise
            except Exception as exc:
                status.running = False
                status.restarts += 1
                status.crashed = True
                status.last_error = repr(exc)[:200]
                if time.monotonic() - started >= HEALTHY_RUN_S:
                    backoff = backoff_s_min
                _log.warning(
                    "background_task_failed",
                    task=name,
                    restarts=status.restarts,
                    error=repr(exc),
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, backoff_s_max)
            finally:
                recovered.cancel()
    finally:
        # A coroutine closed by the garbage collector (its loop gone) ends in another context.
        with contextlib.suppress(ValueError):
            _CURRENT.reset(token)
        if parent is not None and status in parent.children:
            parent.children.remove(status)


def _recovered(status: Supervision, restarts: int) -> None:
    """A run that has lasted RECOVERED_AFTER_S without a failure: the task has recovered."""
    if status.running and status.restarts == restarts:
        status.crashed = False
