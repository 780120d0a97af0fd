"""asyncio helpers every long-running task owner needs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
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
