"""One meaning per request_id (AIP-155; design.md "One meaning per request_id"): the pure rule.

A request_id names one request. The first answer is stored with the method and a digest of the
canonical request; a retry with the same method and the same payload gets that answer; anything
else with that id (in the same batch, concurrently, or later, in this method or another) is
refused `ALREADY_EXISTS` reason `REQUEST_ID_REUSED` and moves nothing. This module decides that,
without I/O: `run_idempotent` (shared/idempotency.py, every unary mutating RPC of every service)
and the payment batcher (unary and bulk releases and reservations, duplicates inside one batch
included) store and load the rows and call these functions.

**One spelling.** A UUID is a 128-bit value; its text has several spellings. We canonicalise:
every accepted spelling becomes the lower-case hyphenated form (RFC 9562 section 4: UUIDs are
output in lower case and compared case-insensitively on input) before the digest and the
lookup, so a retry in any accepted spelling is the same request and five spellings of one UUID
can never make five payments. We do not refuse the other spellings because common clients emit
them (Apple's `uuidString` is upper case, .NET's `Guid.ToString("B")` has braces, Python's
`uuid.hex` has no hyphens, RFC 4122 names a UUID `urn:uuid:...`) and such a client would have
every call, retries included, refused; and because rows stored before this rule in those
spellings must still answer their retries (migration 0002 of the plumbing canonicalises them).
The accepted spellings are a closed list, not whatever `uuid.UUID()` takes (that ends in
`int(hex, 16)`, so it also takes `0x` prefixes, underscores, whitespace and hyphens anywhere):

    0f8fad5b-d9cb-469f-a165-70867728950e      canonical
    0F8FAD5B-D9CB-469F-A165-70867728950E      any case, in every spelling below too
    0f8fad5bd9cb469fa16570867728950e          no hyphens
    {0f8fad5b-d9cb-469f-a165-70867728950e}    braces (also around the 32 digits)
    urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e

Anything else is `INVALID_ARGUMENT` (field `request_id`).

**The digest** is SHA-256 over a version tag, the method name and the request serialised
deterministically with its request_id in the canonical spelling. Rows written before this
rule hold SHA-256 of the request as it was received (no method in the digest; the method was
compared on its own): `IdempotencyKey.legacy_digest()` is that value (worked out only when a
stored row is met, so the hot path hashes once), so a retry of an old request
sent as before is still answered, and one that differs in anything (its spelling included) is
refused, which moves nothing.

**One caller per request_id** (issue 14). A stored answer is given back only to the caller who
made the first request: the row keeps the acting identity's subject (the token's `sub`,
shared/identity.py) and a retry by any other subject is refused `PERMISSION_DENIED` reason
`PERMISSION_DENIED_REQUEST_ID`, before anything else is compared, so the other caller learns
neither the answer nor the first request's method (only that the id is taken). Why the subject
and not the organisations: the answer was decided under the first caller's scope checks (the
resource's organisations, a budget holder's person), which a command may run only inside its
transaction (after the lookup), so only the same caller is sure to pass them again; the subject
is stable across a caller's tokens (a retry after a new login is still answered), while a
caller's organisations in a token may change. Rows stored before this rule have no subject
(`None`): they are answered as before, to any caller who may call the method, until the
request-id window of shared/retention.py forgets them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import NamedTuple

from google.protobuf.message import Message

from onebudget.shared.errors import AlreadyExists, FailedPrecondition, PermissionDenied, Violations

REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
REQUEST_IN_FLIGHT = "REQUEST_IN_FLIGHT"
REQUEST_ID_EXPIRED = "REQUEST_ID_EXPIRED"
REQUEST_ID_OF_ANOTHER_CALLER = "PERMISSION_DENIED_REQUEST_ID"
DIGEST_VERSION = b"onebudget.request.v2\x00"

_HYPHENATED = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_BARE = "[0-9a-f]{32}"
_CANONICAL = re.compile(_HYPHENATED, re.ASCII)  # case-sensitive: lower case only
_SPELLINGS = re.compile(
    rf"(?:{_HYPHENATED}|{_BARE}|\{{{_HYPHENATED}\}}|\{{{_BARE}\}}|urn:uuid:{_HYPHENATED})",
    re.IGNORECASE | re.ASCII,
)
_NOT_HEX = re.compile("[^0-9a-f]")


def canonical_request_id(value: str) -> str | None:
    """The canonical (lower-case hyphenated) spelling of a request_id, or None when `value` is
    not one of the accepted spellings of a UUID (module docstring)."""
    if _CANONICAL.fullmatch(value):
        return value  # the common case: already canonical
    if not _SPELLINGS.fullmatch(value):
        return None
    digits = _NOT_HEX.sub("", value.lower().removeprefix("urn:uuid:"))
    assert len(digits) == 32
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def check_request_id(request_id: str, violations: Violations) -> str:
    """A request_id is required on every mutating call and must be a UUID in an accepted
    spelling (AIP-155). Returns its canonical spelling, or "" after adding a violation."""
    if not request_id:
        violations.add("request_id", "required: a client-chosen UUID, reused on retries")
        return ""
    canonical = canonical_request_id(request_id)
    if canonical is None:
        violations.add(
            "request_id",
            "must be a UUID: 8-4-4-4-12 hexadecimal digits (or 32 digits, in braces, or as"
            " urn:uuid:)",
        )
        return ""
    return canonical


class IdempotencyKey(NamedTuple):
    """What identifies one request: its canonical request_id, its method (the RPC name, e.g.
    "ReleasePayment") and the digest of the method and the canonical request. (A named tuple:
    one is made per payment on the hot path.)"""

    request_id: str
    method: str
    digest: bytes
    sent: bytes = b""  # the request as sent, serialised: for rows stored before this rule

    @classmethod
    def of(cls, method: str, request: Message) -> IdempotencyKey:
        """The key of `request` (which has a `request_id` field) sent to `method`.

        Raises InvalidArgument (INVALID_REQUEST, field request_id) when the request_id is not
        an accepted spelling (callers validate first; this is the backstop)."""
        sent_id: str = getattr(request, "request_id")  # noqa: B009 (every mutating request has it)
        as_sent = request.SerializeToString(deterministic=True)
        if _CANONICAL.fullmatch(sent_id):
            canonical, body = sent_id, as_sent
        else:
            v = Violations()
            canonical = check_request_id(sent_id, v)
            v.raise_if_any()
            copy = type(request)()
            copy.CopyFrom(request)
            setattr(copy, "request_id", canonical)  # noqa: B010
            body = copy.SerializeToString(deterministic=True)
        digest = hashlib.sha256(DIGEST_VERSION + method.encode() + b"\x00" + body).digest()
        return cls(canonical, method, digest, as_sent)

    def legacy_digest(self) -> bytes:
        """What code before this rule stored: SHA-256 of the request as sent (b"" if unknown)."""
        return hashlib.sha256(self.sent).digest() if self.sent else b""


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """An idempotency row: the first request's method and digest, its answer (None while
    the first request's transaction has not committed) and the subject of the caller who made
    it (None for rows stored before the one-caller rule)."""

    method: str
    request_hash: bytes
    response: bytes | None
    actor: str | None = None


class RequestIdReused(AlreadyExists):
    """ALREADY_EXISTS, reason REQUEST_ID_REUSED: the request_id names another request."""

    def __init__(self, request_id: str, first_method: str) -> None:
        super().__init__(
            reason=REQUEST_ID_REUSED,
            message="this request_id was already used for a different request",
            metadata={"request_id": request_id, "first_method": first_method},
        )


class RequestIdOfAnotherCaller(PermissionDenied):
    """PERMISSION_DENIED, reason PERMISSION_DENIED_REQUEST_ID: the request_id was first used by
    another caller; its answer is theirs (nothing about it is told)."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            reason=REQUEST_ID_OF_ANOTHER_CALLER,
            message="this request_id was used by another caller; choose a new one",
            metadata={"request_id": request_id},
        )


def same_caller(first_actor: str | None, actor: str, request_id: str) -> None:
    """The caller `actor` (a subject) meets `request_id`, first used by `first_actor` (None:
    a row stored before this rule, answered to anyone as before). Raises
    RequestIdOfAnotherCaller (PERMISSION_DENIED, PERMISSION_DENIED_REQUEST_ID) when they differ;
    checked before the request itself is compared (module docstring, "One caller")."""
    if first_actor is not None and first_actor != actor:
        raise RequestIdOfAnotherCaller(request_id)


class RequestInFlight(FailedPrecondition):
    """FAILED_PRECONDITION, reason REQUEST_IN_FLIGHT: the same request is still being decided;
    retry (its answer is stored when it commits)."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            reason=REQUEST_IN_FLIGHT,
            message="the same request_id is being processed; retry",
            metadata={"request_id": request_id},
        )


class RequestIdExpired(FailedPrecondition):
    """FAILED_PRECONDITION, reason REQUEST_ID_EXPIRED: the request_id's stored answer was
    pruned after the request-id window (shared/retention.py), but what it did is still kept
    (a payment row carries it). The request is not run again: money never moves twice. Look
    the effect up instead (GetPayment / ListPayments)."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            reason=REQUEST_ID_EXPIRED,
            message=(
                "this request_id was used longer ago than the request-id retention window;"
                " its answer is no longer stored and it is not run again"
            ),
            metadata={"request_id": request_id},
        )


def same_request(first: IdempotencyKey, key: IdempotencyKey) -> None:
    """Two requests with one request_id met (in one batch): returns if `key` is a retry of
    `first` (then it gets `first`'s answer, whatever that is); raises RequestIdReused if not."""
    assert first.request_id == key.request_id
    if first.method != key.method or first.digest != key.digest:
        raise RequestIdReused(key.request_id, first.method)


def replay(stored: StoredRequest, key: IdempotencyKey, actor: str) -> bytes:
    """The stored answer to give `key`, sent by the caller whose subject is `actor`, whose
    request_id is taken by `stored`.

    Raises RequestIdOfAnotherCaller (PERMISSION_DENIED, PERMISSION_DENIED_REQUEST_ID) when
    another caller made `stored` (checked first: that caller learns nothing of it),
    RequestIdReused (ALREADY_EXISTS) when `stored` is another request (another method, or
    another payload), and RequestInFlight (FAILED_PRECONDITION) when it is the same request but
    has no answer yet."""
    same_caller(stored.actor, actor, key.request_id)
    same = stored.request_hash == key.digest or (
        key.sent != b"" and stored.request_hash == key.legacy_digest()
    )
    if stored.method != key.method or not same:
        raise RequestIdReused(key.request_id, stored.method)
    if stored.response is None:
        raise RequestInFlight(key.request_id)
    return stored.response
