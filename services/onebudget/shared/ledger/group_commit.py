"""Group commit: many concurrent callers' transfers in one database transaction.

Hot accounts (a ring-fence, a big provider) would otherwise serialise one request per
transaction behind the chain-head and account locks, and pay one commit each. Callers queue
their transfers (each caller's list stays a unit: its linked chains never join another
caller's); a worker takes what is queued, up to `batch_size_max` transfers, waiting at most
`wait_ms_max` for company, and decides and commits them together with per-caller results.

Refused transfers are results, not errors: they fail only themselves (or their linked chain).
An exception (the database gone, or `LedgerInvariantViolation`) fails the whole batch, and every
caller in it sees it; nothing of that batch is committed.

Services that must commit their own rows with the transfers call `store.create_transfers`
inside their own transaction instead (and batch whole commands themselves).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from onebudget.shared.aio import cancel_and_wait
from onebudget.shared.ledger.domain import CreateTransferResult, Transfer
from onebudget.shared.ledger.store import create_transfer_groups


@dataclass(frozen=True)
class GroupCommitConfig:
    batch_size_max: int = 1024  # transfers per database transaction
    # Longest a batch keeps yielding for more callers before it starts. 0: take what queued
    # while the previous batch was in the database (measured fastest at 1 and 128 callers).
    wait_ms_max: float = 0.0
    queue_size_max: int = 100_000  # callers waiting; beyond this, callers wait to enqueue
    # Batches serialise on the chain-head lock anyway; a second worker measured no faster.
    workers: int = 1
    transaction_timeout_s: float = 30.0


@dataclass
class _Request:
    transfers: Sequence[Transfer]
    done: asyncio.Future[list[CreateTransferResult]]


class GroupCommitter:
    """`async with GroupCommitter(pool) as ledger: await ledger.create_transfers([...])`."""

    def __init__(self, pool: asyncpg.Pool, config: GroupCommitConfig | None = None) -> None:
        self._pool = pool
        self._config = config or GroupCommitConfig()
        self._queue: asyncio.Queue[_Request] = asyncio.Queue(self._config.queue_size_max)
        self._workers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> GroupCommitter:
        self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        assert not self._workers, "already started"
        self._workers = [
            asyncio.create_task(self._work(), name=f"ledger-group-commit-{i}")
            for i in range(self._config.workers)
        ]

    async def stop(self) -> None:
        """Finish what is queued, then stop the workers."""
        await self._queue.join()
        await cancel_and_wait(self._workers)
        self._workers = []

    async def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """One result per transfer, as `store.create_transfers`, committed when it returns."""
        assert self._workers, "GroupCommitter not started"
        if not transfers:
            return []
        done: asyncio.Future[list[CreateTransferResult]] = (
            asyncio.get_running_loop().create_future()
        )
        await self._queue.put(_Request(transfers, done))
        return await done

    async def _gather(self) -> list[_Request]:
        """What is queued now, plus whoever becomes ready while we yield to the event loop,
        bounded by `batch_size_max` and `wait_ms_max`. A timed sleep would cost at least a
        millisecond (epoll's resolution), so the wait is a series of bare yields that ends as
        soon as one brings nobody new."""
        batch = [await self._queue.get()]
        size = len(batch[0].transfers)
        deadline = time.monotonic() + self._config.wait_ms_max / 1000
        while size < self._config.batch_size_max:
            if self._queue.empty():
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0)
                if self._queue.empty():
                    break
            request = self._queue.get_nowait()
            batch.append(request)
            size += len(request.transfers)
        return batch

    async def _commit(self, batch: list[_Request]) -> None:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                results = await asyncio.wait_for(
                    create_transfer_groups(conn, [r.transfers for r in batch]),
                    self._config.transaction_timeout_s,
                )
        except Exception as error:  # every caller of the batch learns it failed
            for request in batch:
                if not request.done.done():
                    request.done.set_exception(error)
            return
        for request, result in zip(batch, results, strict=True):
            if not request.done.done():
                request.done.set_result(result)

    async def _work(self) -> None:
        while True:
            batch = await self._gather()
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()
