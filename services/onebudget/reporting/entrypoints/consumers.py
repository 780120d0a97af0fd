"""The reporting consumers: one durable pull consumer per stream, run as a group that an admin
rebuild can pause, reset to the start of the streams, and resume."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from nats.js.errors import NotFoundError

from onebudget.reporting.service_layer import projections
from onebudget.shared.aio import cancel_and_wait, supervise
from onebudget.shared.consumer import EventConsumer
from onebudget.shared.logging import get_logger
from onebudget.shared.server import Runtime

_log = get_logger("onebudget.reporting.consumers")

SCHEMA = "reporting"
# Durable names are part of the deployment: renaming one replays its stream from the start.
DURABLES: tuple[tuple[str, str], ...] = (
    ("ALLOCATION", "reporting-allocation"),
    ("PAYMENT", "reporting-payment"),
    ("ENTITLEMENT", "reporting-entitlement"),
)


class ConsumerGroup:
    """Runs the consumers; `paused()` stops them (and waits until they have stopped)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._pause = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopped.set()
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._lock = asyncio.Lock()

    def consumers(self) -> list[EventConsumer]:
        return [
            EventConsumer(
                self._runtime.pool,
                self._runtime.js,
                schema=SCHEMA,
                stream=stream,
                durable=durable,
                handler=projections.apply,
            )
            for stream, durable in DURABLES
        ]

    async def run(self) -> None:
        while True:
            await self._resumed.wait()
            self._stopped.clear()
            tasks = [
                asyncio.create_task(supervise(f"reporting.consumer.{c.durable_name}", c.run))
                for c in self.consumers()
            ]
            try:
                await self._pause.wait()
            finally:
                await cancel_and_wait(tasks)
                self._stopped.set()

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        async with self._lock:
            self._resumed.clear()
            self._pause.set()
            await self._stopped.wait()
            try:
                yield
            finally:
                self._pause.clear()
                self._resumed.set()

    async def reset(self) -> list[str]:
        """Delete the durables; the consumers create them again delivering from the start."""
        js = self._runtime.js
        for stream, durable in DURABLES:
            with contextlib.suppress(NotFoundError):
                await js.delete_consumer(stream, durable)
        return [durable for _, durable in DURABLES]

    async def first_sequences(self) -> dict[str, int]:
        firsts: dict[str, int] = {}
        for stream, _durable in DURABLES:
            info = await self._runtime.js.stream_info(stream)
            firsts[stream] = info.state.first_seq
        return firsts

    async def last_sequences(self) -> dict[str, int]:
        lasts: dict[str, int] = {}
        for stream, _durable in DURABLES:
            info = await self._runtime.js.stream_info(stream)
            lasts[stream] = info.state.last_seq
        return lasts

    async def replay_positions(self) -> dict[str, tuple[int, bool]]:
        positions: dict[str, tuple[int, bool]] = {}
        for stream, durable in DURABLES:
            try:
                info = await self._runtime.js.consumer_info(stream, durable)
            except NotFoundError:
                positions[stream] = (0, False)  # reset, not yet created again
                continue
            floor = int(info.ack_floor.stream_seq or 0) if info.ack_floor else 0
            idle = not info.num_pending and not info.num_ack_pending
            positions[stream] = (floor, idle)
        return positions


# The servicer (rebuild) and the background task must share one group per running service.
_GROUPS: dict[int, ConsumerGroup] = {}


def group_for(runtime: Runtime) -> ConsumerGroup:
    return _GROUPS.setdefault(id(runtime), ConsumerGroup(runtime))


def background(runtime: Runtime) -> Sequence[Callable[[], Awaitable[None]]]:
    return (group_for(runtime).run,)
