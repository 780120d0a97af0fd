"""List paging (AIP-158) for every service: bounded page sizes, and opaque page tokens that
carry the key to continue after and only continue the query they came from."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from onebudget.shared.errors import Violations

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200
page_size_max = PAGE_SIZE_MAX  # the style's spelling, for readers searching for it


def page_size(requested: int, violations: Violations) -> int:
    """0 means the default; above the maximum is coerced down (AIP-158); negative is an error."""
    violations.check(requested >= 0, "page_size", "must not be negative")
    if requested <= 0:
        return PAGE_SIZE_DEFAULT
    return min(requested, PAGE_SIZE_MAX)


def _query_digest(query: str) -> str:
    # A token only continues the query it came from: other filters with it are an error.
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def encode_token(key: list[str], query: str) -> str:
    raw = json.dumps({"k": key, "q": _query_digest(query)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, query: str, violations: Violations) -> list[str] | None:
    """The key after which the next page starts, or None for the first page (or a bad token)."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key = body["k"]
        matches = body["q"] == _query_digest(query)
    except (ValueError, KeyError, TypeError, binascii.Error):
        violations.add("page_token", "not a page token from this list")
        return None
    if not matches or not isinstance(key, list) or not all(isinstance(k, str) for k in key):
        violations.add("page_token", "does not belong to this query (filters changed?)")
        return None
    return key
