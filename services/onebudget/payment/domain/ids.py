"""Payment's own ids: its payments, and the ledger transfers each payment, return or repayment
makes. Pure; the accounts these transfers move money between are in `onebudget.ledger.chart`.

Ledger transfer ids are uuid5 of (payment id, what, stream) in payment's namespace (the chart's
`PAYMENT_NAMESPACE`, where payee account names start "payee|" instead): a retry after a crash names
the same transfers, and the ledger applies each id at most once. These stay in payment, not in
the chart: they name payment's transfers and payments, not accounts, and are on its hot path.
"""

from __future__ import annotations

import hashlib
import os
import uuid

from onebudget.ledger.chart import PAYMENT_NAMESPACE as _NAMESPACE
from onebudget.ledger.domain import FundingStream


def transfer_id(owner: uuid.UUID | str, what: str, stream: FundingStream) -> uuid.UUID:
    """The id of the transfer that does `what` for `owner` (a payment, return, ...) on one
    stream (`owner` as a UUID or its canonical text): uuid5(_NAMESPACE, "owner|what|stream"),
    made without uuid.UUID's slow __init__ (two per payment on the hot path)."""
    name = f"{owner}|{what}|{stream.value}".encode()
    digest = hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()
    return _versioned(int.from_bytes(digest[:16], "big"), 5)


def new_payment_id() -> uuid.UUID:
    """A random (version 4) UUID, as uuid.uuid4() makes it, for less CPU."""
    return _versioned(int.from_bytes(os.urandom(16), "big"), 4)


_NAMESPACE_BYTES = _NAMESPACE.bytes
_VARIANT_MASK = ~(0xC000 << 48) & ~(0xF000 << 64)


def _versioned(value: int, version: int) -> uuid.UUID:
    """uuid.UUID(int=value, version=version), setting the RFC 4122 variant and version bits the
    way uuid.UUID.__init__ does, then its two slots directly as __init__ does."""
    value = (value & _VARIANT_MASK) | (0x8000 << 48) | (version << 76)
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", uuid.SafeUUID.unknown)
    return made


def instalment_payment_id(schedule_id: uuid.UUID, instalment_no: int) -> uuid.UUID:
    """Deterministic, so a second replica or a restart derives the same payment and transfers."""
    return uuid.uuid5(_NAMESPACE, f"instalment|{schedule_id}|{instalment_no}")
