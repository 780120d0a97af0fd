"""The ledger model of test_ledger_state_machine, with the writes going through the optimistic
group committer, and every third write going straight to the database behind its back (as
another process would): every result still equals the model's, whichever path decided it,
and after every step the balances (the sums of each account's transfers) and hash chain agree
with the model."""

from __future__ import annotations

from typing import ClassVar

import asyncpg
import pytest

from onebudget import ledger
from onebudget.ledger import CreateTransferResult as R
from onebudget.ledger import Transfer
from tests.property.test_ledger_state_machine import LedgerMachine, run_machine

BEHIND_ITS_BACK_EVERY = 3


class GroupCommitMachine(LedgerMachine):
    paths: ClassVar[dict[str, int]] = {"optimistic": 0, "locked": 0}

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.run(self._start_committer())

    async def _start_committer(self) -> None:
        base, _, _ = self.pg_url.rpartition("/")
        self.pool = await asyncpg.create_pool(f"{base}/{self.db}", min_size=1, max_size=3)
        self.committer = ledger.GroupCommitter(self.pool)
        self.committer.start()

    async def _stop_committer(self) -> None:
        await self.committer.stop()
        await self.pool.close()
        self.paths["optimistic"] += self.committer.optimistic_batches
        self.paths["locked"] += self.committer.locked_batches

    def teardown(self) -> None:
        try:
            self.run(self._stop_committer())
        finally:
            super().teardown()

    def submit(self, transfers: list[Transfer]) -> list[R]:
        self.writes += 1
        if self.writes % BEHIND_ITS_BACK_EVERY == 0:
            return super().submit(transfers)
        expected = self.model.apply_batch(transfers)
        actual = self.run(self.committer.create_transfers(transfers))
        assert actual == expected, (transfers, actual, expected)
        self.sent += transfers
        self.learn_expiry(transfers, actual)
        return actual


@pytest.mark.slow
def test_group_committer_agrees_with_model(pg_url: str) -> None:
    run_machine(GroupCommitMachine, pg_url)
    # Both paths were taken (a run where one never was would prove nothing about it).
    assert GroupCommitMachine.paths["optimistic"] > 0
    assert GroupCommitMachine.paths["locked"] > 0
