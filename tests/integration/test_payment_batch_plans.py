"""A payment batch's statements are planned as index lookups, however small the tables were
when they were first planned (issue 17: costs that stay flat as the ledger grows).

The bulk bench found the claim's look-up of kept payments (retention, invariant 14) planned as a
sequential scan while `payment.payments` was small; asyncpg keeps a connection's prepared
statements, so every later batch read every payment ever made (276 ms a batch of 500 at about
30,000 payments, against 34 ms with the index). The batch's transaction now plans with index
lookups only (release.INDEX_LOOKUPS_ONLY)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest

from onebudget.payment.adapters.repository import CLAIM_REQUESTS
from onebudget.payment.entrypoints.app import SPEC
from onebudget.payment.service_layer import release as release_module
from onebudget.payment.service_layer.release import INDEX_LOOKUPS_ONLY
from tests.conftest import StartService
from tests.integration.test_payment_support import funded_budget, payee, release, stub


def _scans(plan: Any) -> list[tuple[str, str]]:
    """(node type, relation) of every scan in an EXPLAIN (FORMAT JSON) plan."""
    found: list[tuple[str, str]] = []
    stack = [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        if "Relation Name" in node:
            found.append((node["Node Type"], node["Relation Name"]))
        stack.extend(node.get("Plans", []))
    return found


async def _plan(conn: asyncpg.Connection, *settings: str) -> list[tuple[str, str]]:
    """The scans of the claim of 500 request ids, planned (EXPLAIN without ANALYZE: nothing
    is inserted) in a transaction with `settings`."""
    ids = [str(uuid.uuid4()) for _ in range(500)]
    args = (ids, ["ReleasePayment"] * 500, [b"x" * 32] * 500, ["broker"] * 500)
    async with conn.transaction():
        for setting in settings:
            await conn.execute(setting)
        plan = await conn.fetchval("EXPLAIN (FORMAT JSON) " + CLAIM_REQUESTS, *args)
    return _scans(json.loads(plan))


async def test_a_batch_claims_request_ids_through_the_index_on_an_empty_service(
    start_service: StartService,
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    async with host.runtime.pool.acquire() as conn:
        # What the planner does on its own with a fresh service's empty tables: the kind of
        # plan a prepared statement keeps while the table grows.
        alone = await _plan(conn)
        assert ("Seq Scan", "payments") in alone, alone
        # What a batch plans with.
        in_batch = await _plan(conn, INDEX_LOOKUPS_ONLY)
        assert ("Seq Scan", "payments") not in in_batch, in_batch
        assert any(relation == "payments" for _, relation in in_batch), in_batch


async def test_every_batch_runs_with_index_lookups_only_and_the_pool_gets_it_back_reset(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: the setting is made once on the connection a batch worker holds (one round
    trip fewer per batch than a SET LOCAL in each transaction); each batch still runs under it,
    the first and a later one on the same connection, and the pool's reset takes it off."""
    host = await start_service(SPEC)
    assert host.runtime is not None
    seen: list[str] = []
    run = release_module._Batch.run

    async def watched(self: Any) -> Any:
        seen.append(await self.conn.fetchval("SHOW enable_seqscan"))
        return await run(self)

    monkeypatch.setattr(release_module._Batch, "run", watched)
    channel, s = stub(host)
    async with channel:
        async with host.runtime.pool.acquire() as conn:
            b = await funded_budget(conn, (1_000, 1_000, 0))
        provider = await payee(s)
        for amount in (100, 200, 300):
            await s.ReleasePayment(release(b, provider, amount))
    assert seen == ["off", "off", "off"]
    # Every connection the pool hands out again has the server's default back.
    for _ in range(8):
        async with host.runtime.pool.acquire() as conn:
            assert await conn.fetchval("SHOW enable_seqscan") == "on"
