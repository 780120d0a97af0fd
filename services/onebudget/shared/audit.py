"""The audit trail's rules (issue 14, "The record of who did"; ADR 17), pure: no I/O.

Every mutating call (an RPC whose request has a `request_id`, AIP-155) leaves one record in its
service's audit trail: who (the acting `Actor` of shared/identity.py: subject, role,
organisations, OAuth client), what (the method, the canonical request_id, the resource it
named), when (the database's clock at the append) and the outcome: "OK" (reason "" for a fresh
answer, "REPLAYED" for a stored answer given to a retry) or the refusal's gRPC status code name
and its stable reason (`FAILED_PRECONDITION` / `INSUFFICIENT_FUNDS`). An accepted call's record
commits in the same transaction as its effect (shared/idempotency.run_idempotent, the payment
batch); a refusal, which changes nothing, is recorded by the edge in a small transaction of its
own (shared/audit_log.AuditRecorder).

**No personal data.** A record holds no free text from a request: the resource is built only
from fields that parse as a UUID or are an organisation code or a year (anything else is
"-"), the request_id only in its canonical UUID spelling, the reason is an UPPER_SNAKE
constant. So no NHS number, name or date of birth a caller sends can reach it. The actor's
subject and client come from a verified token (the contract says they are opaque ids); a ten
digit run that is a valid NHS number in them is masked all the same (as the logs do).

**The chain.** Records of one schema are numbered 1, 2, ... (`seq`, no gaps) and
`hash = SHA-256(prev_hash || seq as 8 bytes big-endian || SHA-256(content))`, the first record's
`prev_hash` being 32 zero bytes. `content` is length-prefixed UTF-8 (below), the same bytes the
database's `audit_content` function builds (plumbing migration 0090), so `chain_problems`
recomputes the chain independently of the database's functions.
"""

from __future__ import annotations

import hashlib
import re
import struct
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from onebudget.shared.identifiers import is_valid_nhs_number
from onebudget.shared.identity import Actor, current_actor

OK = "OK"
REPLAYED = "REPLAYED"  # the reason of an OK record whose answer was a stored one (a retry)
GENESIS_HASH = bytes(32)
NO_RESOURCE = "-"
PROBLEMS_MAX = 20  # verify reports at most this many problems

# Where a request (or, when it names none, its answer) says what it acts on: the most specific
# first. Each field's value is kept only when it is a UUID; organisation codes and years below.
_ID_FIELDS: tuple[tuple[str, str], ...] = (
    ("payment_id", "payments"),
    ("schedule_id", "schedules"),
    ("repayment_id", "repayments"),
    ("phb_request_id", "phbRequests"),
    ("budget_id", "budgets"),
    ("payee_id", "payees"),
    ("person_id", "people"),
    ("plan_line_id", "planLines"),
    ("subject_id", "reviewSubjects"),
)
_ORG_FIELDS: tuple[tuple[str, str], ...] = (
    ("commissioner_ods_code", "commissioners"),
    ("ods_code", "commissioners"),
    ("council_gss_code", "councils"),
    ("gss_code", "councils"),
)
_ORG_CODE = re.compile(r"[A-Z0-9]{3,9}", re.ASCII)
_TEN_DIGITS = re.compile(r"(?<!\d)\d{10}(?!\d)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _uuid_or_none(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _value(message: Any, field: str) -> object:
    """The field's value, or None when the message has no such field (only the named fields are
    read: a response may be large)."""
    if message is None or field not in message.DESCRIPTOR.fields_by_name:
        return None
    return getattr(message, field)


def resource_name(request: Any, response: Any = None) -> str:
    """The resource a call acted on, AIP-122 style (`budgets/<uuid>`, `payments/<uuid>`,
    `people/<uuid>`, `commissioners/QNQ/years/2027`), from the request's most specific id field,
    else its answer's (a create names what it made), else an organisation code in the request;
    "-" when none is a well-formed value (a malformed id is never copied)."""
    for message in (request, response):
        for field, collection in _ID_FIELDS:
            found = _uuid_or_none(_value(message, field))
            if found is not None:
                return f"{collection}/{found}"
    for field, collection in _ORG_FIELDS:
        code = _value(request, field)
        if isinstance(code, str) and _ORG_CODE.fullmatch(code):
            year = _value(request, "financial_year")
            if isinstance(year, int) and 1900 <= year <= 2099:
                return f"{collection}/{code}/years/{year}"
            return f"{collection}/{code}"
    return NO_RESOURCE


def is_mutating(request: Any) -> bool:
    """A mutating call's request carries a client request_id (AIP-155); reads do not. Bytes
    that did not decode (the edge's stand-in, no message) are not a call of anything."""
    descriptor = getattr(request, "DESCRIPTOR", None)
    return descriptor is not None and "request_id" in descriptor.fields_by_name


def _masked(value: str) -> str:
    """A valid NHS number anywhere in an actor's text is masked (defence in depth)."""
    if not _TEN_DIGITS.search(value):
        return value
    return _TEN_DIGITS.sub(
        lambda m: "*" * len(m.group()) if is_valid_nhs_number(m.group()) else m.group(),
        value,
    )


@lru_cache(maxsize=256)  # a handful of actors at a time; one lookup per event or transfer
def public_actor(actor: Actor) -> Actor:
    """`actor` as it may be written down (events, the ledger): organisations that are not codes
    dropped, a valid NHS number in its subject or client masked."""
    return Actor(
        subject=_masked(actor.subject),
        role=actor.role,
        organisations=tuple(o for o in actor.organisations if _ORG_CODE.fullmatch(o)),
        client_id=_masked(actor.client_id),
    )


def actor_label(actor: Actor) -> str:
    """One text naming an actor where a column of its own is too much (a ledger transfer):
    `role:subject@ORG1,ORG2` (`@` and nothing after it for no organisation)."""
    shown = public_actor(actor)
    return f"{shown.role}:{shown.subject}@{','.join(shown.organisations)}"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One record to append (the database adds its position, time and hashes)."""

    subject: str
    role: str
    organisations: tuple[str, ...]
    client_id: str
    method: str
    request_id: str
    resource: str
    outcome: str = OK
    reason: str = ""


def actor_entry(
    actor: Actor,
    method: str,
    request_id: str,
    resource: str,
    outcome: str = OK,
    reason: str = "",
) -> AuditEntry:
    """A record from parts already checked: `request_id` canonical, `resource` a name
    `resource_name` would give (the payment batch's path: no request message to look at)."""
    shown = public_actor(actor)
    return AuditEntry(
        subject=shown.subject,
        role=str(shown.role),
        organisations=shown.organisations,
        client_id=shown.client_id,
        method=method,
        request_id=request_id,
        resource=resource,
        outcome=outcome,
        reason=reason if reason.replace("_", "").isalnum() else "",
    )


def entry(
    method: str,
    request: Any,
    response: Any = None,
    *,
    actor: Actor | None = None,
    outcome: str = OK,
    reason: str = "",
) -> AuditEntry:
    """The record of `method` called with `request` by `actor` (the current actor when None).
    `method` is the RPC's short name ("ReleasePayment"); `outcome` "OK" or a status code name;
    `reason` "" / "REPLAYED" for OK, the refusal's stable reason otherwise."""
    return actor_entry(
        actor if actor is not None else current_actor(),
        method,
        _uuid_or_none(getattr(request, "request_id", "")) or "",
        resource_name(request, response),
        outcome,
        reason,
    )


# -- the chain ------------------------------------------------------------------------------------


def _field(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


def epoch_us(at: datetime) -> int:
    """An instant as whole microseconds since 1970-01-01T00:00Z (what the database hashes)."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def content(
    at_us: int,
    subject: str,
    role: str,
    organisations: Sequence[str],
    client_id: str,
    method: str,
    request_id: str,
    resource: str,
    outcome: str,
    reason: str,
) -> bytes:
    """The bytes a record's hash covers besides its position and predecessor: the time as 8
    bytes, then each text as a 4-byte length and its UTF-8, the organisations as their count
    and each code (plumbing migration 0090, `audit_content`, builds the same bytes)."""
    parts = [struct.pack(">q", at_us), _field(subject), _field(role)]
    parts.append(struct.pack(">i", len(organisations)))
    parts.extend(_field(o) for o in organisations)
    parts.extend(_field(v) for v in (client_id, method, request_id, resource, outcome, reason))
    return b"".join(parts)


def record_hash(prev_hash: bytes, seq: int, content_bytes: bytes) -> bytes:
    """SHA-256(prev_hash || seq (8 bytes, big-endian) || SHA-256(content))."""
    inner = hashlib.sha256(content_bytes).digest()
    return hashlib.sha256(prev_hash + struct.pack(">q", seq) + inner).digest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored record, as verify and the listing read it."""

    seq: int
    at: datetime
    subject: str
    role: str
    organisations: tuple[str, ...]
    client_id: str
    method: str
    request_id: str
    resource: str
    outcome: str
    reason: str
    prev_hash: bytes
    hash: bytes

    def content(self) -> bytes:
        return content(
            epoch_us(self.at),
            self.subject,
            self.role,
            self.organisations,
            self.client_id,
            self.method,
            self.request_id,
            self.resource,
            self.outcome,
            self.reason,
        )


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where the chain ends: the last position and its hash (the head row, or an anchor)."""

    seq: int
    hash: bytes


def _span(first: int, last: int) -> str:
    return f"record {first}" if first == last else f"records {first}-{last}"


def chain_problems(
    trail: str,
    records: Iterable[AuditRecord],
    head: ChainHead | None,
    anchor: ChainHead | None = None,
) -> list[str]:
    """Every break of one trail's chain, with its position (empty: the chain is whole).

    `records` in `seq` order. A record whose hash does not cover its content was **changed**; a
    jump in the positions is a **missing** record; a record whose prev_hash is not its
    predecessor's hash (positions unbroken) was **inserted** or re-numbered there; records
    beyond the head were **inserted at the end**, a head beyond the last record means records
    **missing at the end**. With an `anchor` (the head published outside the database), the
    record at its position must still have its hash: no re-hash of the chain can keep it."""
    problems: list[str] = []
    prev_seq, prev_hash = 0, GENESIS_HASH
    anchored: bytes | None = None
    for r in records:
        if len(problems) >= PROBLEMS_MAX:
            break
        if r.seq != prev_seq + 1:
            if r.seq <= prev_seq:
                problems.append(f"audit {trail}: record {r.seq} is out of order (inserted)")
            else:
                problems.append(
                    f"audit {trail}: {_span(prev_seq + 1, r.seq - 1)} missing (deleted)"
                )
        elif r.prev_hash != prev_hash:
            problems.append(
                f"audit {trail}: record {r.seq} does not follow record {prev_seq}"
                " (a record inserted or replaced before it)"
            )
        if record_hash(r.prev_hash, r.seq, r.content()) != r.hash:
            problems.append(f"audit {trail}: record {r.seq} changed (its hash does not match)")
        if anchor is not None and r.seq == anchor.seq:
            anchored = r.hash
        prev_seq, prev_hash = r.seq, r.hash
    if head is not None and len(problems) < PROBLEMS_MAX:
        if head.seq < prev_seq:
            problems.append(
                f"audit {trail}: {_span(head.seq + 1, prev_seq)} beyond the chain head"
                " (inserted at the end)"
            )
        elif head.seq > prev_seq:
            problems.append(
                f"audit {trail}: {_span(prev_seq + 1, head.seq)} missing at the end (the head"
                f" is at {head.seq})"
            )
        elif head.hash != prev_hash:
            problems.append(f"audit {trail}: the chain head's hash is not record {prev_seq}'s")
    if anchor is not None and len(problems) < PROBLEMS_MAX:
        if anchored is None:
            problems.append(
                f"audit {trail}: the anchored record {anchor.seq} is gone (the trail was cut back)"
            )
        elif anchored != anchor.hash:
            problems.append(
                f"audit {trail}: record {anchor.seq} differs from its anchor (the chain was"
                " rewritten at or before it)"
            )
    return problems[:PROBLEMS_MAX]
