"""The ledger API over asyncpg. Every function takes a connection, so it runs inside whatever
transaction the caller holds (a service commits its own rows, its transfers and its outbox event
together); without one, each call runs in its own transaction.

Creating transfers costs two round trips per batch, whatever its size: `ledger.begin_batch`
locks the chain head and the accounts and returns their state, `domain.decide` predicts every
result in memory, and one INSERT ... SELECT FROM unnest(...) appends the accepted transfers
(the database stamps, validates and posts them).
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any
from uuid import UUID

import asyncpg

from onebudget.ledger.domain import (
    Account,
    AccountRecord,
    Balance,
    CreateAccountResult,
    CreateTransferResult,
    FundingStream,
    LedgerState,
    StoredTransfer,
    Transfer,
    decide,
    validate_account,
)
from onebudget.shared.audit import actor_label
from onebudget.shared.identity import current_actor
from onebudget.shared.metrics import note_ledger_transfers

MIGRATIONS_PACKAGE = "onebudget.ledger.migrations"
PAGE_SIZE_MAX = 1000

_ACCOUNT_COLUMNS = (
    "id, kind, owner, funding_stream, financial_year, debits_must_not_exceed_credits,"
    " credits_must_not_exceed_debits, debits_posted, credits_posted, debits_pending,"
    " credits_pending"
)
_TRANSFER_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount, reason, budget_ref, plan_line_ref,"
    " payment_ref, pending, post_pending, void_pending, expire_pending, linked, funding,"
    " pending_id, reverses_id, timeout_s, expires_at, ts"
)

# The services' database role may not insert into ledger tables (ADR 13): the rows go through
# the ledger's own SECURITY DEFINER function, which runs this statement as the ledger's owner.
_INSERT_TRANSFERS = """
SELECT ledger.append_transfers($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[],
    $6::text[], $7::text[], $8::text[], $9::bool[], $10::bool[], $11::bool[], $12::bool[],
    $13::bool[], $14::uuid[], $15::uuid[], $16::int[], $17::bigint[], $18::bigint[],
    $19::bytea[], $20::bytea[]),
    ledger.record_transfer_actors($1::uuid[], $21::text[])
"""


def _quote(text: str) -> str:
    """PostgreSQL's quote_literal."""
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return "E" + quoted if "\\" in text else quoted


_quote_code = functools.lru_cache(maxsize=1024)(_quote)  # reason codes: a small vocabulary


def _quote_nullable(value: object) -> str:
    """PostgreSQL's quote_nullable (of the value's text form)."""
    return "NULL" if value is None else _quote(str(value))


def transfer_content(t: StoredTransfer, text: Callable[[object], str] = str) -> bytes:
    """What a transfer's hash covers: the text ledger.transfer_digest builds, byte for byte."""
    return (
        f"{t.id}|{text(t.debit_account_id)}|{text(t.credit_account_id)}|{t.amount}"
        f"|{_quote_code(t.reason)}|{_quote_nullable(t.budget_ref)}|{_quote_nullable(t.plan_line_ref)}"
        f"|{_quote_nullable(t.payment_ref)}|{'t' if t.pending else 'f'}"
        f"|{'t' if t.post_pending else 'f'}|{'t' if t.void_pending else 'f'}"
        f"|{'t' if t.expire_pending else 'f'}|{'t' if t.linked else 'f'}"
        f"|{'t' if t.funding else 'f'}|{_quote_nullable(t.pending_id)}"
        f"|{_quote_nullable(t.reverses_id)}|{t.timeout_s}|{_quote_nullable(t.expires_at)}|{t.ts}"
    ).encode()


def chain_hashes(prev_hash: bytes, transfers: Sequence[StoredTransfer]) -> list[bytes]:
    """Each transfer's hash = sha256(previous hash || content), from the chain head's hash."""
    texts: dict[object, str] = {}  # a batch names few accounts; str(UUID) is slow Python

    def text(value: object) -> str:
        found = texts.get(value)
        if found is None:
            found = texts[value] = str(value)
        return found

    hashes: list[bytes] = []
    for t in transfers:
        prev_hash = sha256(prev_hash + transfer_content(t, text)).digest()
        hashes.append(prev_hash)
    return hashes


class LedgerInvariantViolation(RuntimeError):
    """The database refused what Python decided: a bug here, never a business outcome."""


async def apply_ledger_migrations(pool: asyncpg.Pool) -> list[str]:
    from onebudget.shared.db import apply_migrations

    return await apply_migrations(pool, "ledger", MIGRATIONS_PACKAGE)


@asynccontextmanager
async def _transaction(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """The caller's transaction if there is one, else a new one."""
    if conn.is_in_transaction():
        yield
        return
    async with conn.transaction():
        yield


# -- accounts ------------------------------------------------------------------------------------


def _account_from_row(row: asyncpg.Record) -> AccountRecord:
    account = Account(
        id=row["id"],
        kind=row["kind"],
        owner=row["owner"],
        funding_stream=FundingStream(row["funding_stream"]),
        financial_year=row["financial_year"],
        debits_must_not_exceed_credits=row["debits_must_not_exceed_credits"],
        credits_must_not_exceed_debits=row["credits_must_not_exceed_debits"],
    )
    balance = Balance(
        row["debits_posted"], row["credits_posted"], row["debits_pending"], row["credits_pending"]
    )
    return AccountRecord(account, balance)


async def create_accounts(
    conn: asyncpg.Connection, accounts: Sequence[Account]
) -> list[CreateAccountResult]:
    """Create accounts; one result per account. A retry with the same fields is `exists`."""
    results = [validate_account(a) for a in accounts]
    valid = [a for a, r in zip(accounts, results, strict=True) if r is CreateAccountResult.OK]
    async with _transaction(conn):
        inserted = {
            row["id"]
            for row in await conn.fetch(
                "SELECT id FROM ledger.create_accounts($1::uuid[], $2::text[], $3::text[],"
                " $4::text[], $5::smallint[], $6::bool[], $7::bool[]) AS c (id)",
                [a.id for a in valid],
                [a.kind for a in valid],
                [a.owner for a in valid],
                [str(a.funding_stream) for a in valid],
                [a.financial_year for a in valid],
                [a.debits_must_not_exceed_credits for a in valid],
                [a.credits_must_not_exceed_debits for a in valid],
            )
        }
        found = await lookup_accounts(conn, [a.id for a in valid])
        existing = {r.account.id: r.account for r in found}
    for i, account in enumerate(accounts):
        if results[i] is not CreateAccountResult.OK:
            continue
        if account.id in inserted:
            inserted.discard(account.id)  # a duplicate later in the same call is a retry
        elif existing[account.id] == account:
            results[i] = CreateAccountResult.EXISTS
        else:
            results[i] = CreateAccountResult.EXISTS_WITH_DIFFERENT_FIELDS
    return results


async def lookup_accounts(conn: asyncpg.Connection, ids: Sequence[UUID]) -> list[AccountRecord]:
    """The accounts found, in the order asked (missing ids are left out)."""
    rows = await conn.fetch(
        f"SELECT {_ACCOUNT_COLUMNS} FROM ledger.accounts WHERE id = ANY($1::uuid[])", list(ids)
    )
    by_id = {row["id"]: _account_from_row(row) for row in rows}
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


async def available_balances(conn: asyncpg.Connection, ids: Sequence[UUID]) -> dict[UUID, int]:
    """What each found account may still draw (credits posted - debits posted - debits pending),
    read without locking: a cheap first look for a caller that decides before the ledger does
    (the ledger still decides every transfer against the locked balances)."""
    rows = await conn.fetch(
        "SELECT id, credits_posted - debits_posted - debits_pending AS available"
        " FROM ledger.accounts WHERE id = ANY($1::uuid[])",
        list(ids),
    )
    return {row[0]: row[1] for row in rows}


# -- transfers -----------------------------------------------------------------------------------


def _transfer_from_values(v: Sequence[Any]) -> StoredTransfer:
    def uuid_or_none(x: Any) -> UUID | None:
        return None if x is None else UUID(str(x))

    return StoredTransfer(
        id=UUID(str(v[0])),
        debit_account_id=UUID(str(v[1])),
        credit_account_id=UUID(str(v[2])),
        amount=int(v[3]),
        reason=v[4],
        budget_ref=v[5],
        plan_line_ref=v[6],
        payment_ref=v[7],
        pending=v[8],
        post_pending=v[9],
        void_pending=v[10],
        expire_pending=v[11],
        linked=v[12],
        funding=v[13],
        pending_id=uuid_or_none(v[14]),
        reverses_id=uuid_or_none(v[15]),
        timeout_s=int(v[16]),
        expires_at=None if v[17] is None else int(v[17]),
        ts=int(v[18]),
    )


def _state_from_json(data: dict[str, Any]) -> LedgerState:
    accounts: dict[UUID, tuple[Account, Balance]] = {}
    for v in data["accounts"]:
        account = Account(
            id=UUID(v[0]),
            kind=v[1],
            owner="",  # not needed to decide; kept out of the hot path
            funding_stream=FundingStream(v[2]),
            debits_must_not_exceed_credits=v[3],
            credits_must_not_exceed_debits=v[4],
        )
        accounts[account.id] = (account, Balance(v[5], v[6], v[7], v[8]))
    transfers = {t.id: t for t in map(_transfer_from_values, data["transfers"])}
    return LedgerState(
        base_ts=int(data["base"]),
        accounts=accounts,
        transfers=transfers,
        resolutions={UUID(k): v for k, v in data["resolutions"].items()},
        reversed_amounts={UUID(k): int(v) for k, v in data["reversed"].items()},
    )


async def _begin_batch(
    conn: asyncpg.Connection, transfers: Sequence[Transfer], clock: int | None
) -> tuple[LedgerState, bytes]:
    account_ids: set[UUID] = set()
    pending_ids: set[UUID] = set()
    reverses_ids: set[UUID] = set()
    for t in transfers:
        for a in (t.debit_account_id, t.credit_account_id):
            if a is not None:
                account_ids.add(a)
        if t.pending_id is not None:
            pending_ids.add(t.pending_id)
        if t.reverses_id is not None:
            reverses_ids.add(t.reverses_id)
    raw = await conn.fetchval(
        "SELECT ledger.begin_batch($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::bigint)",
        list({t.id for t in transfers}),
        list(account_ids),
        list(pending_ids),
        list(reverses_ids),
        clock,
    )
    data = json.loads(raw)
    return _state_from_json(data), bytes.fromhex(data["head_hash"])


def transfer_actors(requested: Sequence[Transfer], accepted: Sequence[StoredTransfer]) -> list[str]:
    """Who makes each accepted transfer: the actor its request names, else the actor of the
    call or task in progress (shared/identity.current_actor)."""
    default = actor_label(current_actor())
    named = {t.id: t.actor for t in requested if t.actor}
    if not named:
        return [default] * len(accepted)
    return [named.get(t.id, default) for t in accepted]


async def _append(
    conn: asyncpg.Connection,
    accepted: Sequence[StoredTransfer],
    head_hash: bytes,
    actors: Sequence[str],
) -> None:
    """Insert the accepted transfers stamped (timestamps as decided, hashes chained from the
    head); the database checks every stamp set-based and refuses the statement if one is off."""
    hashes = chain_hashes(head_hash, accepted)
    await conn.execute(
        _INSERT_TRANSFERS,
        [t.id for t in accepted],
        [t.debit_account_id for t in accepted],
        [t.credit_account_id for t in accepted],
        [t.amount for t in accepted],
        [t.reason for t in accepted],
        [t.budget_ref for t in accepted],
        [t.plan_line_ref for t in accepted],
        [t.payment_ref for t in accepted],
        [t.pending for t in accepted],
        [t.post_pending for t in accepted],
        [t.void_pending for t in accepted],
        [t.linked for t in accepted],
        [t.funding for t in accepted],
        [t.pending_id for t in accepted],
        [t.reverses_id for t in accepted],
        [t.timeout_s for t in accepted],
        [t.expires_at for t in accepted],
        [t.ts for t in accepted],
        [head_hash, *hashes[:-1]],
        hashes,
        list(actors),
    )


async def create_transfer_groups(
    conn: asyncpg.Connection,
    groups: Sequence[Sequence[Transfer]],
    *,
    clock: int | None = None,
) -> list[list[CreateTransferResult]]:
    """Create the transfers of several callers in one batch: results per group, in order; a
    linked chain never spans groups. `clock` (µs) only moves the ledger clock forward."""
    flat = [t for group in groups for t in group]
    if not flat:
        return [[] for _ in groups]
    async with _transaction(conn):
        state, head_hash = await _begin_batch(conn, flat, clock)
        results, accepted = decide(groups, state)
        if accepted:
            try:
                await _append(conn, accepted, head_hash, transfer_actors(flat, accepted))
            except asyncpg.CheckViolationError as error:
                raise LedgerInvariantViolation(str(error)) from error
            note_ledger_transfers(len(accepted))  # counted if and when the caller commits
    return results


async def create_transfers(
    conn: asyncpg.Connection, transfers: Sequence[Transfer], *, clock: int | None = None
) -> list[CreateTransferResult]:
    """Create transfers in order; one result per transfer. Runs in the caller's transaction
    when there is one (then nothing is final until the caller commits)."""
    return (await create_transfer_groups(conn, [transfers], clock=clock))[0]


def _transfer_from_row(row: asyncpg.Record) -> StoredTransfer:
    return _transfer_from_values([row[k] for k in range(19)])


async def lookup_transfers(conn: asyncpg.Connection, ids: Sequence[UUID]) -> list[StoredTransfer]:
    """The transfers found, in the order asked (missing ids are left out)."""
    rows = await conn.fetch(
        f"SELECT {_TRANSFER_COLUMNS} FROM ledger.transfers WHERE id = ANY($1::uuid[])", list(ids)
    )
    by_id = {row["id"]: _transfer_from_row(row) for row in rows}
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


def to_ledger_ts(at: int | datetime) -> int:
    """A ledger timestamp (µs since the epoch) from an int or an aware datetime."""
    if isinstance(at, datetime):
        assert at.tzinfo is not None, "a naive datetime has no defined instant"
        return int(at.timestamp() * 1_000_000)
    return at


# The legs of the account's transfers up to a ledger time, summed (the view reads each side of
# the transfers by its (account, ts) index: migration 0170).
_BALANCE_AT = """
SELECT EXISTS (SELECT 1 FROM ledger.accounts WHERE id = $1) AS found,
       coalesce(sum(debits_posted), 0)::bigint AS dpo,
       coalesce(sum(credits_posted), 0)::bigint AS cpo,
       coalesce(sum(debits_pending), 0)::bigint AS dpe,
       coalesce(sum(credits_pending), 0)::bigint AS cpe
FROM ledger.entries WHERE account_id = $1 AND ts <= $2
"""


async def get_account_balance(
    conn: asyncpg.Connection, account_id: UUID, *, at: int | datetime | None = None
) -> Balance | None:
    """The account's balance now, or as it was just after ledger time `at` (µs): the sums of
    the legs of its transfers up to `at` (ledger.entries derives them from the transfer rows)."""
    if at is None:
        found = await lookup_accounts(conn, [account_id])
        return found[0].balance if found else None
    row = await conn.fetchrow(_BALANCE_AT, account_id, to_ledger_ts(at))
    assert row is not None
    if not row["found"]:
        return None
    return Balance(row["dpo"], row["cpo"], row["dpe"], row["cpe"])


# An account's transfers after a ledger time: the merge, in ledger time, of the transfers that
# debit it and those that credit it, each side read in order from its own index (migration 0170)
# and cut at the page, so a page costs the same whatever the account's history holds.
_ACCOUNT_HISTORY = f"""
SELECT * FROM (
    (SELECT {_TRANSFER_COLUMNS} FROM ledger.transfers
     WHERE debit_account_id = $1 AND ts > $2 ORDER BY ts LIMIT $3)
    UNION ALL
    (SELECT {_TRANSFER_COLUMNS} FROM ledger.transfers
     WHERE credit_account_id = $1 AND ts > $2 ORDER BY ts LIMIT $3)) h
ORDER BY ts LIMIT $3
"""


@dataclass(frozen=True, slots=True)
class TransferPage:
    transfers: list[StoredTransfer]
    next_page_token: str | None


async def list_transfers(
    conn: asyncpg.Connection,
    account_id: UUID,
    *,
    page_size: int = 100,
    page_token: str | None = None,
) -> TransferPage:
    """The account's transfers in ledger-time order, a page at a time (AIP-158 style)."""
    page_size = max(1, min(page_size, PAGE_SIZE_MAX))
    after = int(page_token) if page_token else -1
    rows = await conn.fetch(_ACCOUNT_HISTORY, account_id, after, page_size + 1)
    transfers = [_transfer_from_row(row) for row in rows[:page_size]]
    more = len(rows) > page_size
    return TransferPage(transfers, str(transfers[-1].ts) if more else None)


async def expire_pending(
    conn: asyncpg.Connection, *, at: int | None = None, limit_max: int = 1000
) -> int:
    """Release pending transfers whose timeout has passed; returns how many. `at` (µs) moves
    the ledger clock forward to that instant first (tests, operations)."""
    async with _transaction(conn):
        count = await conn.fetchval("SELECT ledger.expire_pending($1, $2)", at, limit_max)
    note_ledger_transfers(int(count))
    return int(count)


async def ledger_clock(conn: asyncpg.Connection) -> int:
    """The ledger time of the last transfer (µs), or later if the clock was moved forward."""
    return int(await conn.fetchval("SELECT last_ts FROM ledger.chain_head WHERE id = 1"))
