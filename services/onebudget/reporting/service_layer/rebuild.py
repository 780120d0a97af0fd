"""RebuildReadModel: wipe the read model and replay every stream from its start.

A replay is only right while each stream still starts at its first event: once the stream
retention (shared/retention.py) has removed its oldest messages, the rebuild is refused
(FAILED_PRECONDITION, STREAM_PRUNED) before anything is wiped, and the read model stays as it is.

The consumers are paused first, so no event is half-applied while the tables are emptied; then,
in one transaction, the read model and its applied-event ids are wiped and the durable consumers
are reset (deleted, to be created again delivering from the first message). Whatever happens in
between is safe: an event applied twice is a no-op (upserts keyed by fact ids), and a reset whose
wipe rolled back only replays events that the applied-event ids then skip.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

import asyncpg

from onebudget.reporting.adapters import read_model
from onebudget.reporting.domain.errors import read_model_rebuilding, stream_pruned
from onebudget.reporting.domain.rebuilding import RebuildProgress, StreamReplay, rebuild_progress
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.shared.errors import Violations
from onebudget.shared.idempotency import check_request_id, run_idempotent
from onebudget.shared.retention import stream_starts_at_first_event

SCHEMA = "reporting"


class ConsumerControl(Protocol):
    def paused(self) -> AbstractAsyncContextManager[None]:
        """Stop applying events inside the block; resume after it."""
        ...

    async def reset(self) -> list[str]:
        """Make every durable consumer start again from the start of its stream."""
        ...

    async def first_sequences(self) -> dict[str, int]:
        """Each replayed stream's first message sequence now."""
        ...

    async def last_sequences(self) -> dict[str, int]:
        """Each replayed stream's last message sequence now (0: empty)."""
        ...

    async def replay_positions(self) -> dict[str, tuple[int, bool]]:
        """Per replayed stream: its consumer's acknowledged floor (0 while the consumer does
        not exist yet) and whether it is idle (nothing pending or unacknowledged)."""
        ...


async def rebuild(
    pool: asyncpg.Pool, control: ConsumerControl, request: api.RebuildReadModelRequest
) -> api.RebuildReadModelResponse:
    v = Violations()
    check_request_id(request.request_id, v)
    v.raise_if_any()
    firsts = await control.first_sequences()
    pruned = {n: seq for n, seq in firsts.items() if not stream_starts_at_first_event(seq)}
    if pruned:
        raise stream_pruned(pruned)

    async def effect(conn: asyncpg.Connection) -> api.RebuildReadModelResponse:
        await read_model.wipe(conn)
        lasts = await control.last_sequences()
        await read_model.set_rebuild_targets(
            conn, {stream: (firsts.get(stream, 0), last) for stream, last in lasts.items()}
        )
        return api.RebuildReadModelResponse(consumers_reset=await control.reset())

    async with control.paused():
        return await run_idempotent(
            pool, SCHEMA, "RebuildReadModel", request, api.RebuildReadModelResponse, effect
        )


async def rebuild_progress_now(
    pool: asyncpg.Pool, control: ConsumerControl
) -> RebuildProgress | None:
    """The running rebuild's progress, or None when none runs (the read model is current as
    far as rebuilds go). A rebuild found done is forgotten (its targets deleted)."""
    async with pool.acquire() as conn:
        targets = await read_model.rebuild_targets(conn)
    if not targets:
        return None
    positions = await control.replay_positions()
    progress = rebuild_progress(
        [
            StreamReplay(
                stream=stream,
                first_seq=first,
                target_seq=target,
                applied_seq=positions.get(stream, (0, False))[0],
                idle=positions.get(stream, (0, False))[1],
            )
            for stream, (first, target) in sorted(targets.items())
        ]
    )
    if progress.done:
        async with pool.acquire() as conn:
            await read_model.clear_rebuild_targets(conn)
    return progress


async def refuse_while_rebuilding(pool: asyncpg.Pool, control: ConsumerControl) -> None:
    """Raise UNAVAILABLE READ_MODEL_REBUILDING (with the progress) while a rebuild runs."""
    progress = await rebuild_progress_now(pool, control)
    if progress is not None and not progress.done:
        raise read_model_rebuilding(
            progress.applied_events, progress.total_events, progress.percent
        )


async def read_model_status(pool: asyncpg.Pool, control: ConsumerControl) -> api.ReadModelStatus:
    progress = await rebuild_progress_now(pool, control)
    if progress is None or progress.done:
        return api.ReadModelStatus(rebuilding=False)
    return api.ReadModelStatus(
        rebuilding=True,
        applied_events=progress.applied_events,
        total_events=progress.total_events,
    )
