"""What every set-based bulk RPC shares (ImportPeople, ImportBudgets; ADR 23): the per-item
request ids, their claim and replay in one statement each, the item's error as its result
carries it, and one audit record per item.

A bulk call's items are each a request of their own: an item with a used request_id gets the
first answer (a retry) or is refused REQUEST_ID_REUSED (another item), as a unary call would be
(shared/request_keys.py); a second item with the same id in one call is compared with the first
(`same_request`) and gets its answer, whatever it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import asyncpg
from google.protobuf.message import Message

from onebudget.shared import audit
from onebudget.shared.audit_log import append as append_audit
from onebudget.shared.errors import DomainError, Violations
from onebudget.shared.grpc_edge import status_code_for
from onebudget.shared.idempotency import claim_many, stored_many
from onebudget.shared.identity import Actor
from onebudget.shared.request_keys import (
    IdempotencyKey,
    RequestInFlight,
    canonical_request_id,
    check_request_id,
    replay,
    same_request,
)

ITEMS_MAX = 1_000  # items in one bulk call
AnswerT = TypeVar("AnswerT", bound=Message)
Outcome = Message | DomainError


class _Item(Protocol):
    request_id: str


def check_call(request_id: str, items: Sequence[_Item], limit: int = ITEMS_MAX) -> uuid.UUID:
    """The call's own checks: its request_id and 1 to `limit` items; raises InvalidArgument
    INVALID_REQUEST. An item without a request_id gets one derived from the call's and its
    position (uuid5), so a resent call names each item as before. The call's id as a UUID."""
    v = Violations()
    outer = check_request_id(request_id, v)
    v.check(len(items) > 0, "items", "at least one item")
    v.check(len(items) <= limit, "items", f"at most {limit} items")
    v.raise_if_any()
    call = uuid.UUID(outer)
    for i, item in enumerate(items):
        if not item.request_id:
            item.request_id = str(uuid.uuid5(call, str(i)))
    return call


def check_item_id(request_id: str, field_name: str, v: Violations) -> None:
    """An item's request_id is a UUID in an accepted spelling."""
    checked = Violations()
    check_request_id(request_id, checked)
    v.check(not checked, field_name, "must be a UUID")


def error_fields(error: DomainError) -> dict[str, Any]:
    """A refusal as an item's result carries it (what a unary call's google.rpc.Status would):
    code, reason, message, metadata, field_violations as (field, description) pairs."""
    return {
        "code": status_code_for(error).value[0],
        "reason": error.reason,
        "message": error.message,
        "metadata": dict(error.metadata),
        "field_violations": [(fv.field, fv.description) for fv in getattr(error, "violations", ())],
    }


@dataclass
class Claims:
    """The items of a call after their ids were claimed: `fresh` (indices to decide now, each
    id's first item), the outcomes of the others (a stored answer, or a refusal), and which of
    them were answered with a stored or first answer (`replayed`, for the audit)."""

    fresh: list[int] = field(default_factory=list)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    replayed: set[int] = field(default_factory=set)
    _copies: list[tuple[int, int]] = field(default_factory=list)

    def finish(self, outcomes: list[Outcome | None]) -> None:
        """Give each item its outcome: the claims' own, and to each later item with a fresh
        item's id, that item's (decided since)."""
        for i, outcome in self.outcomes.items():
            outcomes[i] = outcome
        for i, first in self._copies:
            outcomes[i] = outcomes[first]


async def claim(
    conn: asyncpg.Connection,
    schema: str,
    keys: dict[int, IdempotencyKey],
    actor: Actor,
    answer_type: type[AnswerT],
) -> Claims:
    """Claim the items' request ids (index -> key) in one statement, read the stored rows of
    those taken before in one more, and sort the items (Claims)."""
    first: dict[str, int] = {}
    for i, key in keys.items():
        first.setdefault(key.request_id, i)
    claimed = await claim_many(conn, schema, [keys[i] for i in first.values()], actor.subject)
    stored = await stored_many(conn, schema, [r for r in first if r not in claimed])
    claims = Claims()
    for i, key in keys.items():
        j = first[key.request_id]
        if j != i:  # the same id met earlier in this call
            try:
                same_request(keys[j], key)
            except DomainError as refused:
                claims.outcomes[i] = refused
                continue
            if key.request_id in claimed:
                claims._copies.append((i, j))
            else:
                claims.outcomes[i] = claims.outcomes[j]
            claims.replayed.add(i)
        elif key.request_id in claimed:
            claims.fresh.append(i)
        else:
            claims.outcomes[i] = _replayed(stored.get(key.request_id), key, actor, answer_type)
            claims.replayed.add(i)
    return claims


def _replayed(
    stored: Any, key: IdempotencyKey, actor: Actor, answer_type: type[AnswerT]
) -> Outcome:
    if stored is None:  # its row went between the claim and the read: retry
        return RequestInFlight(key.request_id)
    try:
        return answer_type.FromString(replay(stored, key, actor.subject))
    except DomainError as refused:
        return refused


async def audit_items(
    conn: asyncpg.Connection,
    schema: str,
    actor: Actor,
    method: str,
    items: Sequence[_Item],
    outcomes: Sequence[Outcome | None],
    resources: Sequence[str],
    replayed: set[int],
) -> None:
    """One audit record per item, accepted (REPLAYED when answered from a stored answer) or
    refused with its code and reason, in one statement, inside the call's transaction (ADR
    17). `resources`: each item's resource name (shared/audit.resource_name style)."""
    entries = []
    for i, (item, outcome) in enumerate(zip(items, outcomes, strict=True)):
        request_id = canonical_request_id(item.request_id) or ""
        if isinstance(outcome, DomainError):
            code, reason = status_code_for(outcome).name, outcome.reason
        else:
            code, reason = audit.OK, audit.REPLAYED if i in replayed else ""
        entries.append(audit.actor_entry(actor, method, request_id, resources[i], code, reason))
    await append_audit(conn, schema, entries)
