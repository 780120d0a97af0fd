"""The chart of accounts: every kind of ledger account, who owns it, and how its id is made.

Pure (no I/O). Every service that opens, names or reads a ledger account takes its kind, owner
and id from here, so the layout is written once (issue 12). Ids are uuid5 of the account's
identity, so an account is found again without a lookup table; the namespaces and the names
hashed are fixed forever (existing ledgers hold these ids: tests/unit/test_ledger_chart.py pins
them byte for byte).

| kind           | opened by  | owner                               | streams       | year | limit |
|----------------|------------|-------------------------------------|---------------|------|-------|
| `source`       | allocation | commissioner ODS / council GSS code | NHS / COUNCIL | yes  | no    |
| `allocation`   | allocation | commissioner ODS code (general)     | NHS           | yes  | yes   |
| `allocation`   | allocation | council GSS code (the PB pot)       | COUNCIL       | yes  | yes   |
| `ring_fence`   | allocation | "<ODS>" (general), "<ODS>:<cohort>" | NHS           | yes  | yes   |
| `budget`       | allocation | budget id                           | each of three | yes  | yes   |
| `contribution` | allocation | budget id                           | CLIENT        | yes  | no    |
| `payee`        | payment    | payee id                            | each of three | no   | no    |
| `pooled_fund`  | (none yet) | a Section 75 pooled fund            | COUNCIL       | -    | -     |

`limit` = `debits_must_not_exceed_credits` (the account can never go below zero on what is
available). A `source` is money arriving from outside (NHS England, the council's budget): its
balance goes negative by design; so does a `contribution` while it funds its budget. A payee's
account only accumulates what it was paid, less returns and repayments. The funding routes
between kinds (invariant 7) are `domain.FUNDING_ROUTES`, mirrored by `ledger.funding_routes`.

Readers (reporting's reconcile, allocation's plan-line use) find a commissioner's accounts by
these kinds and owners through `onebudget.ledger.reads`.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Final

from onebudget.ledger.domain import Account, FundingStream

SOURCE: Final = "source"
ALLOCATION: Final = "allocation"
RING_FENCE: Final = "ring_fence"
BUDGET: Final = "budget"
CONTRIBUTION: Final = "contribution"
PAYEE: Final = "payee"
POOLED_FUND: Final = "pooled_fund"

KINDS: Final[frozenset[str]] = frozenset(
    {SOURCE, ALLOCATION, RING_FENCE, BUDGET, CONTRIBUTION, PAYEE, POOLED_FUND}
)
# Which service opens (and so owns) the accounts of each kind.
OPENED_BY: Final[dict[str, str]] = {
    SOURCE: "allocation",
    ALLOCATION: "allocation",
    RING_FENCE: "allocation",
    BUDGET: "allocation",
    CONTRIBUTION: "allocation",
    PAYEE: "payment",
}

# -- allocation's accounts: uuid5(ALLOCATION_NAMESPACE, "kind|owner|stream|year") ------------------

ALLOCATION_NAMESPACE: Final = uuid.UUID("6f1f0c8e-3b8e-5a7e-9a55-0b1d9e7a1c01")


def _id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(ALLOCATION_NAMESPACE, "|".join(str(p) for p in parts))


def _account(kind: str, owner: str, stream: FundingStream, year: int, *, limited: bool) -> Account:
    return Account(
        id=_id(kind, owner, stream, year),
        kind=kind,
        owner=owner,
        funding_stream=stream,
        financial_year=year,
        debits_must_not_exceed_credits=limited,
    )


def commissioner_source(ods: str, year: int) -> Account:
    """Where a commissioner's (ICB's) NHS money for financial `year` comes from (unlimited)."""
    return _account(SOURCE, ods, FundingStream.NHS, year, limited=False)


def commissioner_allocation(ods: str, year: int) -> Account:
    """The commissioner's general NHS allocation account for `year`."""
    return _account(ALLOCATION, ods, FundingStream.NHS, year, limited=True)


def ring_fence(ods: str, year: int, cohort: str) -> Account:
    """The PHB ring-fence of a commissioner for `year`: general (`cohort` "") or per cohort."""
    owner = f"{ods}:{cohort}" if cohort else ods
    return _account(RING_FENCE, owner, FundingStream.NHS, year, limited=True)


def ring_fence_cohort(ods: str, owner: str) -> str:
    """The cohort of commissioner `ods`'s ring-fence with this owner ("" for the general one):
    the inverse of `ring_fence`'s owner."""
    return "" if owner == ods else owner[len(ods) + 1 :]


def council_source(gss: str, year: int) -> Account:
    """Where a council's money for `year` comes from (unlimited)."""
    return _account(SOURCE, gss, FundingStream.COUNCIL, year, limited=False)


def council_pot(gss: str, year: int) -> Account:
    """The council's personal-budget pot for `year`."""
    return _account(ALLOCATION, gss, FundingStream.COUNCIL, year, limited=True)


def budget_stream(budget_id: uuid.UUID, stream: FundingStream, year: int) -> Account:
    """One funding stream of an integrated budget."""
    return _account(BUDGET, str(budget_id), stream, year, limited=True)


def contribution(budget_id: uuid.UUID, year: int) -> Account:
    """The person's assessed contribution to a budget (negative while it funds the budget)."""
    return _account(CONTRIBUTION, str(budget_id), FundingStream.CLIENT, year, limited=False)


# -- payment's accounts: uuid5(PAYMENT_NAMESPACE, "payee|<payee id>|<stream>") ---------------------

# Payment's namespace: payee accounts here; payment's own ids (its transfers, its instalments'
# payments) are uuid5 in it too, with names that never start "payee|" (payment/domain/ids.py).
PAYMENT_NAMESPACE: Final = uuid.UUID("0b5e3a7c-9d41-5f0e-8c2b-7a6f1e4d3c21")


@lru_cache(maxsize=65536)  # a few hot providers take most payments; uuid5 is slow Python
def payee_account_id(payee_id: uuid.UUID, stream: FundingStream) -> uuid.UUID:
    """The id of a payee's account on one stream: one per stream, so money paid keeps its
    colour."""
    return uuid.uuid5(PAYMENT_NAMESPACE, f"payee|{payee_id}|{stream.value}")


def payee_accounts(payee_id: uuid.UUID) -> list[Account]:
    """A payee's three accounts (NHS, COUNCIL, CLIENT): no year, no balance limit."""
    return [Account(payee_account_id(payee_id, s), PAYEE, str(payee_id), s) for s in FundingStream]
