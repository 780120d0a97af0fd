"""The ledger accounts of payees: one per funding stream, so money paid keeps its colour.

Layout: kind `payee`, owner = payee id, stream NHS / COUNCIL / CLIENT, no financial year, no
balance limit (a payee's account only accumulates what it was paid, less returns and
repayments). Ids are uuid5 of (payee id, stream), so transfers name them without a lookup.
Ledger transfer ids are uuid5 of (payment id, what, stream): a retry after a crash names the
same transfers, and the ledger applies each id at most once.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

from onebudget.payment.domain.model import PAYEE_ACCOUNT_KIND, STREAMS
from onebudget.shared.ledger import Account, FundingStream

_NAMESPACE = uuid.UUID("0b5e3a7c-9d41-5f0e-8c2b-7a6f1e4d3c21")


@lru_cache(maxsize=65536)  # a few hot providers take most payments; uuid5 is slow Python
def payee_account_id(payee_id: uuid.UUID, stream: FundingStream) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"payee|{payee_id}|{stream.value}")


def payee_accounts(payee_id: uuid.UUID) -> list[Account]:
    return [
        Account(payee_account_id(payee_id, s), PAYEE_ACCOUNT_KIND, str(payee_id), s)
        for s in STREAMS
    ]


def transfer_id(owner: uuid.UUID, what: str, stream: FundingStream) -> uuid.UUID:
    """The id of the transfer that does `what` for `owner` (a payment, return, ...) on one
    stream."""
    return uuid.uuid5(_NAMESPACE, f"{owner}|{what}|{stream.value}")


def instalment_payment_id(schedule_id: uuid.UUID, instalment_no: int) -> uuid.UUID:
    """Deterministic, so a second replica or a restart derives the same payment and transfers."""
    return uuid.uuid5(_NAMESPACE, f"instalment|{schedule_id}|{instalment_no}")
