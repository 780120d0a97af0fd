"""The chain head, anchored outside the database (ADR 13, issue 15 item 9).

The hash chain shows any edit of a transfer, unless whoever edits it also re-hashes every
transfer after it and moves the chain head: a superuser can, and the chain is then consistent
again. So the chain's head is written somewhere the database's superuser cannot write: every
ANCHOR_INTERVAL_S seconds (when it moved), allocation and payment publish the last transfer's
`(ts, hash)` to the JetStream stream LEDGER_ANCHORS, one subject per ledger. `verify` compares the
latest anchor with the transfer at that `ts`: a rewrite of anything at or before it changes that
hash (each hash covers all before it), and a ledger cut back before it has no such transfer.

What is not covered: transfers written since the last anchor (at most ANCHOR_INTERVAL_S, plus
however long publishing is down), and anyone who can write both the database and the stream.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from nats.js.api import StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from onebudget.shared.bus import ensure_stream
from onebudget.shared.logging import get_logger

_log = get_logger("onebudget.ledger.anchor")

ANCHOR_STREAM = "LEDGER_ANCHORS"
ANCHOR_SUBJECT_PREFIX = "onebudget.ledger.anchor.v1"
# How often the head is published (when it moved): the longest a rewrite of the newest transfers
# can go unseen by verify while publishing works.
ANCHOR_INTERVAL_S = 5.0
# Anchors kept per ledger (only the latest is needed; the rest are history): 14 h at 5 s.
ANCHORS_KEPT_MAX = 10_000
ANCHOR_PUBLISH_TIMEOUT_S = 5.0

_HEAD = """
SELECT i.ledger_id, t.ts, t.hash FROM ledger.identity i
LEFT JOIN LATERAL (SELECT ts, hash FROM ledger.transfers ORDER BY ts DESC LIMIT 1) t ON true
"""


@dataclass(frozen=True, slots=True)
class Anchor:
    """One published chain head: the ledger it belongs to, the last transfer's ledger time (µs
    since the epoch) and its hash."""

    ledger_id: uuid.UUID
    ts: int
    hash: bytes

    def encode(self) -> bytes:
        return json.dumps(
            {"ledger_id": str(self.ledger_id), "ts": self.ts, "hash": self.hash.hex()},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> Anchor:
        body = json.loads(data)
        return cls(uuid.UUID(body["ledger_id"]), int(body["ts"]), bytes.fromhex(body["hash"]))


def anchor_subject(ledger_id: uuid.UUID) -> str:
    return f"{ANCHOR_SUBJECT_PREFIX}.{ledger_id}"


async def ledger_id(conn: asyncpg.Connection | asyncpg.Pool) -> uuid.UUID:
    """This ledger's identity (made once, by migration 0051; never changes)."""
    found: uuid.UUID = await conn.fetchval("SELECT ledger_id FROM ledger.identity")
    return found


async def current_head(conn: asyncpg.Connection | asyncpg.Pool) -> Anchor | None:
    """The last committed transfer as an anchor; None while the ledger has no transfer."""
    row = await conn.fetchrow(_HEAD)
    assert row is not None, "ledger.identity has its one row from migration 0051"
    if row["ts"] is None:
        return None
    return Anchor(row["ledger_id"], row["ts"], bytes(row["hash"]))


async def ensure_anchor_stream(js: JetStreamContext, replicas: int = 1) -> None:
    """Create LEDGER_ANCHORS if missing (idempotent). Deletes and purges through the JetStream
    API are refused, so a client of the bus cannot withdraw an anchor."""
    config = StreamConfig(
        name=ANCHOR_STREAM,
        subjects=[f"{ANCHOR_SUBJECT_PREFIX}.*"],
        storage=StorageType.FILE,
        max_msgs_per_subject=ANCHORS_KEPT_MAX,
        duplicate_window=600.0,
        num_replicas=replicas,
        deny_delete=True,
        deny_purge=True,
    )
    await ensure_stream(js, config)


async def publish_anchor(
    conn: asyncpg.Connection | asyncpg.Pool, js: JetStreamContext, head: Anchor | None = None
) -> Anchor | None:
    """Publish the current chain head (or `head`, just read); None when the ledger has no
    transfer yet. The same head twice is one message (Nats-Msg-Id)."""
    head = head or await current_head(conn)
    if head is None:
        return None
    await js.publish(
        anchor_subject(head.ledger_id),
        head.encode(),
        timeout=ANCHOR_PUBLISH_TIMEOUT_S,
        stream=ANCHOR_STREAM,
        headers={"Nats-Msg-Id": f"{head.ledger_id}:{head.ts}"},
    )
    return head


async def latest_anchor(js: JetStreamContext, ledger: uuid.UUID) -> Anchor | None:
    """The last anchor published for `ledger`; None when there is none (or no stream yet)."""
    try:
        message = await js.get_last_msg(ANCHOR_STREAM, anchor_subject(ledger))
    except NotFoundError:
        return None
    assert message.data is not None
    return Anchor.decode(message.data)


def anchor_task(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    *,
    replicas: int = 1,
    interval_s: float = ANCHOR_INTERVAL_S,
) -> Callable[[], Awaitable[None]]:
    """A background task (run under shared/aio.supervise, which restarts it after a database or
    bus outage): publish the head every `interval_s` seconds when it moved."""

    async def run() -> None:
        await ensure_anchor_stream(js, replicas)
        last: Anchor | None = None
        while True:
            head = await current_head(pool)
            if head is not None and head != last:
                await publish_anchor(pool, js, head)
                _log.debug("ledger_anchored", ts=head.ts)
                last = head
            await asyncio.sleep(interval_s)

    return run
