"""Personal data sealed inside events (issue 14, ADR 16): AES-256-GCM with the key a producer and
its consumers share, bound to the person it is about.

Events are kept in JetStream for years (shared/retention.py) and read by every service with a
NATS user; an event carries a person's id and only the personal data a consumer needs, sealed.
Entitlement seals a date of birth (reporting needs it to count a person as a child or an adult on
a return's last day: issue 13, item 15); NHS numbers are in no event at all.

The key is 32 random bytes, base64, in the file ONEBUDGET_PERSONAL_DATA_KEY_FILE (0600: the local
stack makes `.onebudget/personal-data.key`; production mounts it from a Secret into the services
that seal or open: entitlement and reporting). A sealed value is `0x01 | 12-byte nonce |
ciphertext+tag`, its associated data the person's id, so a value moved to another person's event
does not open.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE_VARIABLE = "ONEBUDGET_PERSONAL_DATA_KEY_FILE"
KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = b"\x01"


class SealError(ValueError):
    """A sealed value that does not open: another key, another person, or changed bytes."""


def new_key_text() -> str:
    """A new key as the key file holds it (base64 of 32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


@functools.cache
def _key(path: str) -> AESGCM:
    raw = base64.b64decode(Path(path).read_text().strip(), validate=True)
    if len(raw) != KEY_BYTES:
        raise SealError(f"the personal-data key must be {KEY_BYTES} bytes")
    return AESGCM(raw)


def configured_key() -> AESGCM | None:
    """The key named by ONEBUDGET_PERSONAL_DATA_KEY_FILE, or None when it is not set."""
    path = os.environ.get(KEY_FILE_VARIABLE, "").strip()
    return _key(path) if path else None


def seal(key: AESGCM, value: str, person_id: str) -> bytes:
    """`value` (UTF-8) sealed for the person `person_id` (a UUID string)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return VERSION + nonce + key.encrypt(nonce, value.encode(), person_id.encode())


def unseal(key: AESGCM, sealed: bytes, person_id: str) -> str:
    """The value `seal` sealed for `person_id`. Raises SealError when it does not open."""
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != VERSION:
        raise SealError("not a sealed value of a known version")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return key.decrypt(nonce, body, person_id.encode()).decode()
    except InvalidTag:
        raise SealError("the sealed value does not open with this key for this person") from None
