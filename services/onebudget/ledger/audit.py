"""Recompute the ledger from its own records and report every disagreement.

The triggers keep the ledger right against ordinary statements; `verify` catches what they
cannot see: rows written with triggers disabled, restored from a doctored backup, or edited on
disk. It recomputes the hash chain, every balance from the account's transfers (a transfer row
names both its accounts; no entry rows are stored since migration 0170, ADR 22), and the money
invariants (1, 2, 3, 5, 7 of design.md), each with one set-based query. A balance edited on disk,
a transfer added or removed without its effect on the balances, or an amount edited, shows up as
a balance that differs from the sums of the account's transfers.

A chain that is consistent is not yet the chain that was written: whoever may edit rows with
triggers off may re-hash every transfer after the one edited. Given the latest anchor published
outside the database (ledger/anchor.py), verify also checks that the transfer at the anchored
ledger time is still there with the anchored hash, which no re-hash can keep.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from onebudget.ledger.anchor import Anchor

GENESIS_HASH = bytes(32)
_REPORT_ROWS_MAX = 20

_CHAIN = """
SELECT id, ts FROM (
    SELECT t.id, t.ts, t.prev_hash, t.hash,
           lag(t.hash, 1, $1::bytea) OVER (ORDER BY t.ts) AS expected_prev,
           ledger.transfer_digest(t.prev_hash, t) AS expected_hash
    FROM ledger.transfers t) s
WHERE prev_hash IS DISTINCT FROM expected_prev OR hash IS DISTINCT FROM expected_hash
ORDER BY ts LIMIT $2
"""

_HEAD = """
SELECT h.last_hash = coalesce(
           (SELECT t.hash FROM ledger.transfers t ORDER BY t.ts DESC LIMIT 1), $1::bytea)
       AND h.last_ts >= coalesce((SELECT max(ts) FROM ledger.transfers), 0)
FROM ledger.chain_head h WHERE h.id = 1
"""

# Invariant 2: each account's balances equal the sums of its transfers' legs (ledger.entries,
# the view of migration 0170, derives them from the transfer rows: the rule the statement
# trigger moves the balances by), and no limited account is beyond its limit (invariant 3).
_BALANCES = """
SELECT a.id FROM ledger.accounts a
LEFT JOIN (SELECT account_id, sum(debits_posted) AS dpo, sum(credits_posted) AS cpo,
                  sum(debits_pending) AS dpe, sum(credits_pending) AS cpe
           FROM ledger.entries GROUP BY account_id) s ON s.account_id = a.id
WHERE (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending)
      IS DISTINCT FROM (coalesce(s.dpo, 0), coalesce(s.cpo, 0), coalesce(s.dpe, 0),
                        coalesce(s.cpe, 0))
   OR (a.debits_must_not_exceed_credits
       AND a.debits_posted + a.debits_pending > a.credits_posted)
   OR (a.credits_must_not_exceed_debits
       AND a.credits_posted + a.credits_pending > a.debits_posted)
ORDER BY a.id LIMIT $1
"""

_TOTALS = """
SELECT sum(debits_posted) = sum(credits_posted) AND sum(debits_pending) = sum(credits_pending)
FROM ledger.accounts
"""

_COLOUR = """
SELECT n.id FROM ledger.transfers n
JOIN ledger.accounts d ON d.id = n.debit_account_id
JOIN ledger.accounts c ON c.id = n.credit_account_id
WHERE n.pending_id IS NULL AND (
    (NOT n.funding AND d.funding_stream <> c.funding_stream)
    OR (n.funding AND NOT EXISTS (
        SELECT 1 FROM ledger.funding_routes r
        WHERE r.debit_kind = d.kind AND r.debit_stream = d.funding_stream
          AND r.credit_kind = c.kind AND r.credit_stream = c.funding_stream)))
ORDER BY n.ts LIMIT $1
"""

_RESOLUTIONS = """
SELECT n.id FROM ledger.transfers n
LEFT JOIN ledger.transfers p ON p.id = n.pending_id
WHERE n.pending_id IS NOT NULL AND (
       p.id IS NULL OR NOT p.pending
    OR p.debit_account_id <> n.debit_account_id OR p.credit_account_id <> n.credit_account_id
    OR p.ts >= n.ts
    OR (n.post_pending AND n.amount > p.amount)
    OR ((n.void_pending OR n.expire_pending) AND n.amount <> p.amount))
ORDER BY n.ts LIMIT $1
"""


async def _anchor_problems(conn: asyncpg.Connection, anchor: Anchor | None) -> list[str]:
    ledger_id = await conn.fetchval("SELECT ledger_id FROM ledger.identity")
    if anchor is None:
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM ledger.transfers)"):
            return [
                f"ledger {ledger_id} has transfers but no anchor (never published, or its"
                " identity was changed)"
            ]
        return []
    if anchor.ledger_id != ledger_id:
        return [f"the anchor is of ledger {anchor.ledger_id}, not of this ledger {ledger_id}"]
    stored = await conn.fetchval("SELECT hash FROM ledger.transfers WHERE ts = $1", anchor.ts)
    if stored is None:
        return [f"the anchored transfer at ts {anchor.ts} is gone (the ledger was cut back)"]
    if bytes(stored) != anchor.hash:
        return [
            f"the transfer at ts {anchor.ts} differs from its anchor: the chain was rewritten"
            " at or before it"
        ]
    return []


VERIFY_CHECKS = 7  # the checks verify() makes, each reported to its `checked` callback


def _nothing() -> None:
    pass


async def verify(
    conn: asyncpg.Connection,
    *,
    anchor: Anchor | None = None,
    anchored: bool = False,
    checked: Callable[[], None] = _nothing,
) -> list[str]:
    """Every mismatch found (an empty list means the ledger is consistent). With `anchored`
    (or an `anchor`), the chain is also checked against `anchor`, the latest one published
    (read it before calling, so everything it names is in this snapshot): a ledger with
    transfers and no anchor is a mismatch too. `checked` is called after each of the
    VERIFY_CHECKS checks (a long verification's progress)."""
    problems: list[str] = []
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if anchored or anchor is not None:
            problems.extend(await _anchor_problems(conn, anchor))
        checked()
        for row in await conn.fetch(_CHAIN, GENESIS_HASH, _REPORT_ROWS_MAX):
            problems.append(f"hash chain broken at transfer {row['id']} (ts {row['ts']})")
        checked()
        if not await conn.fetchval(_HEAD, GENESIS_HASH):
            problems.append("chain head does not match the last transfer")
        checked()
        for row in await conn.fetch(_BALANCES, _REPORT_ROWS_MAX):
            problems.append(f"account {row['id']} balances differ from the sums of its transfers")
        checked()
        if await conn.fetchval(_TOTALS) is False:
            problems.append("total debits differ from total credits")
        checked()
        for row in await conn.fetch(_COLOUR, _REPORT_ROWS_MAX):
            problems.append(f"transfer {row['id']} changes the colour of money off a route")
        checked()
        for row in await conn.fetch(_RESOLUTIONS, _REPORT_ROWS_MAX):
            problems.append(f"transfer {row['id']} does not match its pending transfer")
        checked()
    return problems
