"""The ledger accounts allocation owns, with ids derived from what they are for.

Layout (kind, owner, stream; `limited` = debits_must_not_exceed_credits):
- `source`      owner ODS / GSS code, NHS / COUNCIL, per year, unlimited: money arriving from
                outside (NHS England, the council's budget); its balance goes negative by design.
- `allocation`  commissioner ODS code, NHS, per year, limited: the general allocation account.
- `ring_fence`  "<ODS>" or "<ODS>:<cohort>", NHS, per year, limited: the PHB ring-fence.
- `allocation`  council GSS code, COUNCIL, per year, limited: the personal-budget pot.
- `budget`      budget id, one per stream (NHS, COUNCIL, CLIENT), per year, limited.
- `contribution` budget id, CLIENT, per year, unlimited: the person's assessed contribution
                (negative while it funds the budget).
Ids are uuid5 of that identity, so an account is found again without a lookup table.
"""

from __future__ import annotations

import uuid

from onebudget.ledger.domain import Account, FundingStream

_NAMESPACE = uuid.UUID("6f1f0c8e-3b8e-5a7e-9a55-0b1d9e7a1c01")


def _id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, "|".join(str(p) for p in parts))


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
    return _account("source", ods, FundingStream.NHS, year, limited=False)


def commissioner_allocation(ods: str, year: int) -> Account:
    return _account("allocation", ods, FundingStream.NHS, year, limited=True)


def ring_fence(ods: str, year: int, cohort: str) -> Account:
    owner = f"{ods}:{cohort}" if cohort else ods
    return _account("ring_fence", owner, FundingStream.NHS, year, limited=True)


def council_source(gss: str, year: int) -> Account:
    return _account("source", gss, FundingStream.COUNCIL, year, limited=False)


def council_pot(gss: str, year: int) -> Account:
    return _account("allocation", gss, FundingStream.COUNCIL, year, limited=True)


def budget_stream(budget_id: uuid.UUID, stream: FundingStream, year: int) -> Account:
    return _account("budget", str(budget_id), stream, year, limited=True)


def contribution(budget_id: uuid.UUID, year: int) -> Account:
    return _account("contribution", str(budget_id), FundingStream.CLIENT, year, limited=False)
