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
from onebudget.reporting.domain.errors import stream_pruned
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
        return api.RebuildReadModelResponse(consumers_reset=await control.reset())

    async with control.paused():
        return await run_idempotent(
            pool, SCHEMA, "RebuildReadModel", request, api.RebuildReadModelResponse, effect
        )
