"""asyncio helpers every long-running task owner needs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
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
    failure, and whether it is running now."""

    name: str
    restarts: int = 0
    running: bool = False
    last_error: str = ""


BACKOFF_S_MIN = 0.1
BACKOFF_S_MAX = 5.0
HEALTHY_RUN_S = 30.0  # a run this long resets the back-off


async def supervise(
    name: str,
    factory: Callable[[], Awaitable[None]],
    status: Supervision | None = None,
    *,
    backoff_s_min: float = BACKOFF_S_MIN,
    backoff_s_max: float = BACKOFF_S_MAX,
) -> None:
    """Run `factory()` until it returns or the task is cancelled; when it fails, log, wait, and
    run it again (a fresh call, so fresh connections), doubling the wait from `backoff_s_min`
    up to `backoff_s_max`, back to the minimum after a run of HEALTHY_RUN_S.

    The one supervision pattern of every long-lived task (relays, consumers, batch workers,
    schedulers, sweeps): a task that dies on a lost database or bus connection is never left
    dead (issue 15: "a long-lived task or connection that dies and is never replaced")."""
    status = status or Supervision(name)
    backoff = backoff_s_min
    while True:
        started = time.monotonic()
        status.running = True
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
            status.last_error = repr(exc)[:200]
            if time.monotonic() - started >= HEALTHY_RUN_S:
                backoff = backoff_s_min
            _log.warning(
                "background_task_failed", task=name, restarts=status.restarts, error=repr(exc)
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, backoff_s_max)
