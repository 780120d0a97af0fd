"""Group commit: many concurrent callers' transfers in one database transaction.

Hot accounts (a ring-fence, a big provider) would otherwise serialise one request per
transaction behind the chain-head and account locks, and pay one commit each. Callers queue
their transfers (each caller's list stays a unit: its linked chains never join another
caller's); a worker takes what is queued, up to `batch_size_max` transfers, waiting at most
`wait_ms_max` for company, and decides and commits them together with per-caller results.

Optimistic pipelining (`optimistic`, on by default): the worker decides each batch on its
`LedgerView` (the balances it last saw, moved by its own decisions) and sends it with its
premises while the previous batch is still in the database (`in_flight_max` batches at once),
so Python decides batch N+1 while PostgreSQL writes batch N. The database checks the premises
under its locks (`ledger.apply_batch`); a batch whose premises no longer hold (another process
wrote, an id already exists) writes nothing and is decided again on the locked path. Batches the
view cannot decide (resolutions, reversals, unknown accounts) take the locked path directly.

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

from onebudget.ledger.domain import CreateTransferResult, Transfer
from onebudget.ledger.optimistic import LedgerView, Plan, apply_plan, plan_batch
from onebudget.ledger.store import create_transfer_groups
from onebudget.shared.aio import cancel_and_wait


@dataclass(frozen=True)
class GroupCommitConfig:
    batch_size_max: int = 1024  # transfers per database transaction
    # Longest a batch keeps yielding for more callers before it starts. 0: take what queued
    # while the previous batch was in the database (measured fastest at 1 and 128 callers).
    wait_ms_max: float = 0.0
    queue_size_max: int = 100_000  # callers waiting; beyond this, callers wait to enqueue
    transaction_timeout_s: float = 30.0
    optimistic: bool = True  # decide on a LedgerView and pipeline (see the module docstring)
    # Batches in the database at once on the optimistic path: one being written, one waiting
    # for the chain-head lock while Python decides the next.
    in_flight_max: int = 2
    # With nothing in the database, a batch of at least twice this many transfers is sent as
    # two halves, so the second is decided while the first is written: the pipeline fills
    # even when every caller is waiting on one batch.
    split_size_min: int = 16


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
        self._worker: asyncio.Task[None] | None = None
        self._view = LedgerView()
        self._in_flight: set[asyncio.Task[None]] = set()
        self.optimistic_batches = 0  # counters for tests and the benchmark
        self.locked_batches = 0

    async def __aenter__(self) -> GroupCommitter:
        self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        assert self._worker is None, "already started"
        self._worker = asyncio.create_task(self._work(), name="ledger-group-commit")

    async def stop(self) -> None:
        """Finish what is queued, then stop the worker."""
        await self._queue.join()
        if self._worker is not None:
            await cancel_and_wait([self._worker, *self._in_flight])
        self._worker = None

    async def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """One result per transfer, as `store.create_transfers`, committed when it returns."""
        assert self._worker is not None, "GroupCommitter not started"
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

    async def _work(self) -> None:
        while True:
            if not self._config.optimistic or self._view.paused():
                # The locked path decides on the locks, so pipelining buys little: one batch at
                # a time, and the callers the last batch freed join the next (bigger batches).
                await self._drain()
            gathered = await self._gather()
            for batch in self._split(gathered):
                await self._dispatch(batch)

    def _split(self, batch: list[_Request]) -> list[list[_Request]]:
        if self._in_flight or not self._config.optimistic or self._view.paused():
            return [batch]
        if len(batch) < 2 * self._config.split_size_min:
            return [batch]
        half = len(batch) // 2
        return [batch[:half], batch[half:]]

    async def _dispatch(self, batch: list[_Request]) -> None:
        try:
            plan = await self._plan(batch) if self._config.optimistic else None
        except Exception:  # reading the view failed: the locked path reports it
            self._view.clear()
            plan = None
        while len(self._in_flight) >= self._config.in_flight_max:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        # A locked batch in flight too: it waits in the database for the head lock while the
        # batch before it commits (its result does not depend on which of them goes first).
        run = self._run_locked(batch) if plan is None else self._run_optimistic(batch, plan)
        task = asyncio.create_task(run)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _drain(self) -> None:
        while self._in_flight:
            await asyncio.wait(self._in_flight)

    async def _plan(self, batch: list[_Request]) -> Plan | None:
        if self._view.paused():
            return None  # no read: the locked path decides this one
        groups = [r.transfers for r in batch]
        missing = self._view.missing(groups)
        if self._view.head is None:
            await self._drain()  # so the head read is the one our batches left
        if missing or self._view.head is None:
            async with self._pool.acquire() as conn:
                await self._view.load(conn, missing)
        return plan_batch(self._view, groups)

    async def _run_optimistic(self, batch: list[_Request], plan: Plan) -> None:
        try:
            async with self._pool.acquire() as conn:
                applied = await asyncio.wait_for(
                    apply_plan(conn, plan), self._config.transaction_timeout_s
                )
        except Exception:
            # The locked path decides again, and reports a lasting failure. After a timeout the
            # statement may have committed after all (its commit is the statement's end): then
            # the locked path finds the ids and answers `exists`, and nothing moves twice.
            applied = False
        if not applied:
            self._view.forget(plan)
            await self._run_locked(batch)
            return
        self.optimistic_batches += 1
        self._view.applied()
        self._settle(batch, plan.results)

    async def _run_locked(self, batch: list[_Request]) -> None:
        self.locked_batches += 1
        groups = [r.transfers for r in batch]
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                results = await asyncio.wait_for(
                    create_transfer_groups(conn, groups), self._config.transaction_timeout_s
                )
        except Exception as error:  # every caller of the batch learns it failed
            self._settle(batch, error)
            return
        finally:  # the view no longer knows these accounts, nor the head
            self._view.forget_groups(groups)
        self._settle(batch, results)

    def _settle(
        self, batch: list[_Request], outcome: list[list[CreateTransferResult]] | Exception
    ) -> None:
        for i, request in enumerate(batch):
            if not request.done.done():
                if isinstance(outcome, Exception):
                    request.done.set_exception(outcome)
                else:
                    request.done.set_result(outcome[i])
            self._queue.task_done()
