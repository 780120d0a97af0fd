"""List paging (AIP-158): bounded page sizes and opaque tokens bound to their query."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid

from onebudget.shared.errors import Violations

PAGE_SIZE_DEFAULT = 50
page_size_max = 200


def page_size(requested: int, v: Violations) -> int:
    """0 means the default; above the maximum is coerced down (AIP-158); negative is an error."""
    v.check(requested >= 0, "page_size", "must not be negative")
    if requested <= 0:
        return PAGE_SIZE_DEFAULT
    return min(requested, page_size_max)


def _digest(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def encode_token(after: uuid.UUID, query: str) -> str:
    raw = json.dumps({"k": str(after), "q": _digest(query)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, query: str, v: Violations) -> uuid.UUID | None:
    """The key after which the next page starts; None for the first page or a bad token."""
    if not token:
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()))
        after = uuid.UUID(body["k"])
        matches = body["q"] == _digest(query)
    except (ValueError, KeyError, TypeError, binascii.Error):
        v.add("page_token", "not a page token from this list")
        return None
    if not matches:
        v.add("page_token", "does not belong to this query (filters changed?)")
        return None
    return after
