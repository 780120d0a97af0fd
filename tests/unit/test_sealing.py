"""Personal data sealed in events (shared/sealing.py, issue 14): AES-256-GCM, bound to the
person, opened only with the key."""

from __future__ import annotations

import base64
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from onebudget.shared import sealing


def _key() -> AESGCM:
    return AESGCM(base64.b64decode(sealing.new_key_text()))


def test_a_sealed_date_opens_for_its_person_with_the_key() -> None:
    key, person = _key(), str(uuid.uuid4())
    sealed = sealing.seal(key, "1960-05-17", person)
    assert b"1960" not in sealed
    assert sealed[:1] == sealing.VERSION
    assert sealing.unseal(key, sealed, person) == "1960-05-17"
    # A fresh nonce each time: the same date sealed twice is not the same bytes.
    assert sealing.seal(key, "1960-05-17", person) != sealed


@pytest.mark.parametrize("attack", ["another person", "another key", "a changed byte", "cut"])
def test_a_sealed_value_does_not_open_otherwise(attack: str) -> None:
    key, person = _key(), str(uuid.uuid4())
    sealed = sealing.seal(key, "2008-11-10", person)
    opener, owner = key, person
    if attack == "another person":
        owner = str(uuid.uuid4())
    elif attack == "another key":
        opener = _key()
    elif attack == "a changed byte":
        sealed = sealed[:-1] + bytes([sealed[-1] ^ 1])
    else:
        sealed = sealed[:10]
    with pytest.raises(sealing.SealError):
        sealing.unseal(opener, sealed, owner)


def test_a_key_file_of_the_wrong_length_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "short.key"
    path.write_text(base64.b64encode(b"x" * 16).decode())
    with pytest.raises(sealing.SealError, match="32 bytes"):
        sealing._key(str(path))
