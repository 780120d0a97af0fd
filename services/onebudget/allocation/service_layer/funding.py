"""Money moves, always inside the command's transaction: a refusal raises, the caller's
transaction rolls back, and nothing (rows, transfers, outbox, idempotency) is left behind."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from onebudget.allocation.domain import errors
from onebudget.allocation.domain.funders import NhsAllocationExhausted
from onebudget.ledger import store
from onebudget.ledger.domain import (
    Account,
    CreateAccountResult,
    CreateTransferResult,
    Transfer,
)
from onebudget.shared.errors import DomainError

_ACCOUNT_OK = (CreateAccountResult.OK, CreateAccountResult.EXISTS)


@dataclass(frozen=True)
class Move:
    """One transfer, and the business error to raise if the debit side is short of money."""

    debit: uuid.UUID
    credit: uuid.UUID
    amount: int
    reason: str
    funding: bool = True
    budget_ref: str | None = None
    shortfall: DomainError | None = None


async def open_accounts(conn: asyncpg.Connection, accounts: Sequence[Account]) -> None:
    results = await store.create_accounts(conn, accounts)
    for account, result in zip(accounts, results, strict=True):
        assert result in _ACCOUNT_OK, (account, result)


async def move_money(conn: asyncpg.Connection, moves: Sequence[Move]) -> None:
    """All the moves as one linked chain (all or nothing); zero amounts are skipped."""
    real = [m for m in moves if m.amount > 0]
    if not real:
        return
    results = await store.create_transfers(conn, transfers_of(real))
    raise_for(real, results)


def transfers_of(moves: Sequence[Move]) -> list[Transfer]:
    """The moves (all of positive amount) as one linked chain of transfers."""
    real = moves
    return [
        Transfer(
            id=uuid.uuid4(),
            debit_account_id=m.debit,
            credit_account_id=m.credit,
            amount=m.amount,
            reason=m.reason,
            budget_ref=m.budget_ref,
            funding=m.funding,
            linked=i < len(real) - 1,
        )
        for i, m in enumerate(real)
    ]


def raise_for(real: Sequence[Move], results: Sequence[CreateTransferResult]) -> None:
    """The ledger's results of `transfers_of(real)`: raises the first short move's business
    error; anything else refused is our bug (asserted)."""
    for move, result in zip(real, results, strict=True):
        if result is CreateTransferResult.EXCEEDS_AVAILABLE_BALANCE and move.shortfall:
            raise move.shortfall
    failed = [
        (m, r)
        for m, r in zip(real, results, strict=True)
        if r not in (CreateTransferResult.OK, CreateTransferResult.LINKED_EVENT_FAILED)
    ]
    # Anything else is our bug (a wrong route, a missing account): never a business outcome.
    assert not failed, failed
    assert all(r is CreateTransferResult.OK for r in results), results


def nhs_short(account: uuid.UUID, needed: int) -> DomainError:
    """A source the domain chose ran short between the read and the move (the allocation row is
    locked, so only a bug gets here): the same refusal the domain gives when nothing can pay."""
    return NhsAllocationExhausted(
        "the commissioner's NHS money for PHBs ran short",
        source_account_id=account,
        needed_pence=needed,
    )


def council_pot_short(account: uuid.UUID, needed: int) -> DomainError:
    return errors.precondition(
        errors.COUNCIL_POT_EXHAUSTED,
        "the council's personal-budget pot has not enough money left for this",
        council_pot_account_id=str(account),
        needed_pence=str(needed),
    )


def cut_too_deep(stream: str, cut: int) -> DomainError:
    return errors.precondition(
        errors.CUT_BELOW_SPENT,
        f"the {stream} stream cannot be cut below what is already spent or reserved",
        funding_stream=stream,
        cut_pence=str(cut),
    )
