"""Each audit trail's head, anchored outside the database, and the trail verified against it
(ADR 17, as ADR 13 anchors the ledger's).

The chain shows a changed, inserted or deleted record, unless whoever changed it also re-hashed
every record after it and moved the head: a superuser can. So every ANCHOR_INTERVAL_S seconds
(when it moved) each service publishes its trail's last record `(seq, hash)` to the JetStream
stream AUDIT_ANCHORS (subject `onebudget.audit.anchor.v1.<trail id>`; deletes and purges
refused). `verify_trail` checks that the anchored record is still there with its hash: no
re-hash keeps it, and a trail cut back before it has lost it.
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

from onebudget.shared.audit import ChainHead, chain_problems
from onebudget.shared.audit_log import head, last_record, records
from onebudget.shared.bus import ensure_stream
from onebudget.shared.logging import get_logger

_log = get_logger("onebudget.audit.anchor")

ANCHOR_STREAM = "AUDIT_ANCHORS"
ANCHOR_SUBJECT_PREFIX = "onebudget.audit.anchor.v1"
ANCHOR_INTERVAL_S = 5.0  # the longest a rewrite of the newest records goes unseen
ANCHORS_KEPT_MAX = 10_000  # per trail: only the latest is needed
ANCHOR_PUBLISH_TIMEOUT_S = 5.0
SERVICE_SCHEMAS = ("entitlement", "allocation", "payment", "reporting")


@dataclass(frozen=True, slots=True)
class TrailAnchor:
    """One published head: the trail (its id and schema), the last record's position and hash."""

    trail_id: uuid.UUID
    schema: str
    seq: int
    hash: bytes

    def encode(self) -> bytes:
        body = {"trail_id": str(self.trail_id), "schema": self.schema, "seq": self.seq}
        return json.dumps({**body, "hash": self.hash.hex()}, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> TrailAnchor:
        body = json.loads(data)
        return cls(
            uuid.UUID(body["trail_id"]),
            body["schema"],
            int(body["seq"]),
            bytes.fromhex(body["hash"]),
        )


def anchor_subject(trail: uuid.UUID) -> str:
    return f"{ANCHOR_SUBJECT_PREFIX}.{trail}"


async def trail_id(conn: asyncpg.Connection | asyncpg.Pool, schema: str) -> uuid.UUID:
    found: uuid.UUID = await conn.fetchval(f"SELECT trail_id FROM {schema}.audit_head")
    return found


async def ensure_anchor_stream(js: JetStreamContext, replicas: int = 1) -> None:
    await ensure_stream(
        js,
        StreamConfig(
            name=ANCHOR_STREAM,
            subjects=[f"{ANCHOR_SUBJECT_PREFIX}.*"],
            storage=StorageType.FILE,
            max_msgs_per_subject=ANCHORS_KEPT_MAX,
            duplicate_window=600.0,
            num_replicas=replicas,
            deny_delete=True,
            deny_purge=True,
        ),
    )


async def publish_anchor(
    conn: asyncpg.Connection | asyncpg.Pool, js: JetStreamContext, schema: str
) -> TrailAnchor | None:
    """Publish the trail's last record now; None while the trail is empty."""
    last = await last_record(conn, schema)
    if last is None:
        return None
    anchor = TrailAnchor(await trail_id(conn, schema), schema, last.seq, last.hash)
    await js.publish(
        anchor_subject(anchor.trail_id),
        anchor.encode(),
        timeout=ANCHOR_PUBLISH_TIMEOUT_S,
        stream=ANCHOR_STREAM,
        headers={"Nats-Msg-Id": f"{anchor.trail_id}:{anchor.seq}"},
    )
    return anchor


async def latest_anchor(js: JetStreamContext, trail: uuid.UUID) -> TrailAnchor | None:
    try:
        message = await js.get_last_msg(ANCHOR_STREAM, anchor_subject(trail))
    except NotFoundError:
        return None
    assert message.data is not None
    return TrailAnchor.decode(message.data)


def anchor_task(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    schema: str,
    *,
    replicas: int = 1,
    interval_s: float = ANCHOR_INTERVAL_S,
) -> Callable[[], Awaitable[None]]:
    """A background task (under shared/aio.supervise): publish the trail's head every
    `interval_s` seconds when it moved."""

    async def audit_anchor() -> None:
        await ensure_anchor_stream(js, replicas)
        last: int | None = None
        while True:
            head_now = await last_record(pool, schema)
            if head_now is not None and head_now.seq != last:
                await publish_anchor(pool, js, schema)
                last = head_now.seq
            await asyncio.sleep(interval_s)

    return audit_anchor


async def verify_trail(
    conn: asyncpg.Connection,
    schema: str,
    js: JetStreamContext | None = None,
) -> list[str]:
    """Every break of `schema`'s trail (shared/audit.chain_problems), checked against its latest
    anchor when `js` is given (read first: everything it names is in the snapshot that follows).
    A trail with records and no anchor is reported too."""
    problems: list[str] = []
    anchor: ChainHead | None = None
    if js is not None:
        published = await latest_anchor(js, await trail_id(conn, schema))
        if published is not None:
            anchor = ChainHead(published.seq, published.hash)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        found = [r async for r in records(conn, schema)]
        stored_head = await head(conn, schema)
    if js is not None and anchor is None and found:
        problems.append(f"audit {schema}: records but no anchor (never published)")
    problems.extend(chain_problems(schema, found, stored_head, anchor))
    return problems
