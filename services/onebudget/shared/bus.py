"""NATS JetStream: connection and the streams every service publishes to."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js.api import StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError

from onebudget.shared.logging import get_logger

_log = get_logger("onebudget.bus")

# One stream per publishing service (design.md). The duplicate window is how long JetStream
# remembers a Nats-Msg-Id: a relay that crashed between publish and mark-sent re-publishes within
# seconds, well inside it; consumers dedupe by event_id as a second line anyway.
STREAMS: dict[str, str] = {
    "ENTITLEMENT": "onebudget.entitlement.>",
    "ALLOCATION": "onebudget.allocation.>",
    "PAYMENT": "onebudget.payment.>",
}
DUPLICATE_WINDOW_S = 600.0


async def connect(url: str, *, name: str) -> NatsClient:
    async def on_error(exc: Exception) -> None:
        _log.warning("nats_error", error=str(exc))

    async def on_disconnect() -> None:
        _log.warning("nats_disconnected")

    async def on_reconnect() -> None:
        _log.info("nats_reconnected")

    callbacks: dict[str, Callable[..., Awaitable[Any]]] = {
        "error_cb": on_error,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
    }
    # A cluster is named by all its nodes, comma-separated: the client fails over among them.
    servers = [u.strip() for u in url.split(",") if u.strip()]
    return await nats.connect(
        servers, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.2, **callbacks
    )


STREAM_SETUP_S_MAX = 60.0  # a cluster still electing its leaders answers stream requests late


async def ensure_streams(js: JetStreamContext, replicas: int = 1, max_age_s: float = 0.0) -> None:
    """Create the streams if missing, or bring an existing one to this configuration
    (idempotent; safe when several services start at once). `max_age_s` is how long a message
    is kept (0: for ever; shared/retention.py). A request that times out (a JetStream cluster
    still electing a leader) is asked again, for up to STREAM_SETUP_S_MAX seconds."""
    for name, subject in STREAMS.items():
        config = StreamConfig(
            name=name,
            subjects=[subject],
            storage=StorageType.FILE,
            # JetStream refuses a duplicate window longer than the messages are kept.
            duplicate_window=min(DUPLICATE_WINDOW_S, max_age_s)
            if max_age_s
            else DUPLICATE_WINDOW_S,
            num_replicas=replicas,
            max_age=max_age_s,
        )
        await ensure_stream(js, config)


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create one stream, or bring an existing one to `config` (idempotent); a request that
    times out (a JetStream cluster still electing a leader) is asked again, for up to
    STREAM_SETUP_S_MAX seconds, then raises nats.errors.TimeoutError."""
    deadline = time.monotonic() + STREAM_SETUP_S_MAX
    while True:
        try:
            try:
                await js.add_stream(config)
            except BadRequestError:
                await js.update_stream(config)
            return
        except nats.errors.TimeoutError:
            if time.monotonic() >= deadline:
                raise
            _log.warning("stream_setup_retry", stream=config.name)
            await asyncio.sleep(0.5)
