"""`onebudget audit verify` (ADR 17): a superuser who changes, deletes or re-hashes audit records
with the triggers off is seen, with the record's position, in one line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from onebudget.payment.entrypoints.app import SPEC
from onebudget.shared import audit, bus
from onebudget.shared.audit_anchor import ensure_anchor_stream, publish_anchor, verify_trail
from onebudget.shared.audit_log import records
from onebudget.shared.server import ServiceHost
from tests.conftest import StartService
from tests.integration.test_payment_support import payee, stub

OFF = "ALTER TABLE payment.audit_log DISABLE TRIGGER USER"
ON = "ALTER TABLE payment.audit_log ENABLE TRIGGER USER"


@dataclass
class Trail:
    host: ServiceHost
    su: asyncpg.Connection  # the database superuser (the migrating role)
    nats_url: str

    async def verify(self) -> list[str]:
        nc = await bus.connect(self.nats_url, name="test-operator")
        try:
            return await verify_trail(self.su, "payment", nc.jetstream())
        finally:
            await nc.close()

    def command(self) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "ONEBUDGET_DATABASE_URL": self.host.config.database_url,
            "ONEBUDGET_NATS_URL": self.nats_url,
        }
        return subprocess.run(
            [sys.executable, "-m", "onebudget", "audit", "verify", "--service", "payment"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    async def tamper(self, *statements: str) -> None:
        async with self.su.transaction():
            await self.su.execute(OFF)
            for statement in statements:
                await self.su.execute(statement)
            await self.su.execute(ON)


@pytest.fixture
async def trail(start_service: StartService, nats_url: str) -> AsyncIterator[Trail]:
    """Five records in payment's trail, the last one anchored."""
    host = await start_service(SPEC)
    channel, s = stub(host)
    async with channel:
        for _ in range(5):
            await payee(s)
    su = await asyncpg.connect(host.config.database_url)
    nc = await bus.connect(nats_url, name="test-operator")
    try:
        await ensure_anchor_stream(nc.jetstream())
        anchored = await publish_anchor(su, nc.jetstream(), "payment")
        assert anchored is not None
        assert anchored.seq == 5
    finally:
        await nc.close()
    try:
        yield Trail(host, su, nats_url)
    finally:
        await su.close()


async def test_a_whole_trail_verifies(trail: Trail) -> None:
    assert await trail.verify() == []
    done = trail.command()
    assert (done.returncode, done.stdout) == (0, "OK\n"), done.stderr
    # Its progress, off a terminal: one plain last line on stderr (shared/progress).
    assert "audit verify: done, 1 trails in " in done.stderr
    assert "\r" not in done.stderr


async def test_a_changed_record_is_seen_at_its_position(trail: Trail) -> None:
    await trail.tamper("UPDATE payment.audit_log SET subject = 'someone-else' WHERE seq = 2")
    expected = "audit payment: record 2 changed (its hash does not match)"
    assert await trail.verify() == [expected]
    done = trail.command()
    assert (done.returncode, done.stdout) == (1, expected + "\n")


async def test_a_deleted_record_is_seen_at_its_position(trail: Trail) -> None:
    await trail.tamper("DELETE FROM payment.audit_log WHERE seq = 3")
    expected = "audit payment: record 3 missing (deleted)"
    assert await trail.verify() == [expected]
    done = trail.command()
    assert (done.returncode, done.stdout) == (1, expected + "\n")


async def test_an_inserted_record_is_seen_at_its_position(trail: Trail) -> None:
    await trail.tamper(
        "UPDATE payment.audit_log SET seq = -seq WHERE seq >= 4",  # make room at 4
        "UPDATE payment.audit_log SET seq = 1 - seq WHERE seq < 0",
        "INSERT INTO payment.audit_log SELECT 4, at, 'forger', role, organisations, client_id,"
        " method, request_id, resource, outcome, reason, prev_hash, hash"
        " FROM payment.audit_log WHERE seq = 3",
    )
    found = await trail.verify()
    assert found[0] == (
        "audit payment: record 4 does not follow record 3 (a record inserted or replaced before it)"
    )


async def test_a_rehashed_trail_is_seen_against_its_anchor(trail: Trail) -> None:
    """The superuser changes record 1 and re-hashes every record after it and the head: the
    chain is consistent again, but record 5 no longer has its anchored hash."""
    async with trail.su.transaction():
        rows = [r async for r in records(trail.su, "payment")]
    prev = audit.GENESIS_HASH
    statements = []
    for r in rows:
        subject = "someone-else" if r.seq == 1 else r.subject
        content = audit.content(
            audit.epoch_us(r.at), subject, r.role, r.organisations, r.client_id, r.method,
            r.request_id, r.resource, r.outcome, r.reason,
        )  # fmt: skip
        h = audit.record_hash(prev, r.seq, content)
        statements.append(
            f"UPDATE payment.audit_log SET subject = '{subject}',"
            f" prev_hash = '\\x{prev.hex()}', hash = '\\x{h.hex()}' WHERE seq = {r.seq}"
        )
        prev = h
    statements.append(f"UPDATE payment.audit_head SET last_hash = '\\x{prev.hex()}'")
    await trail.tamper(*statements)
    assert await trail.verify() == [
        "audit payment: record 5 differs from its anchor (the chain was rewritten at or before it)"
    ]


async def test_a_trail_cut_back_is_seen(trail: Trail) -> None:
    await trail.tamper(
        "DELETE FROM payment.audit_log WHERE seq >= 4",
        "ALTER TABLE payment.audit_head DISABLE TRIGGER USER",
        "UPDATE payment.audit_head SET last_seq = 3,"
        " last_hash = (SELECT hash FROM payment.audit_log WHERE seq = 3)",
        "ALTER TABLE payment.audit_head ENABLE TRIGGER USER",
    )
    assert await trail.verify() == [
        "audit payment: the anchored record 5 is gone (the trail was cut back)"
    ]
    done = trail.command()
    assert done.returncode == 1
    assert done.stdout.count("\n") == 1
