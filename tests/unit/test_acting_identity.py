"""Background work acts as its service, never as the caller whose call started it (issue 14):
a task keeps the context it was created in, so payment's batch workers, started by the first
release, would otherwise act as that first broker for ever (and record it on every batch)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from onebudget.payment.config import PaymentSettings
from onebudget.payment.service_layer.release import ReleaseBatcher
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.identity import Actor, Role, acting_as, current_actor, system_actor


async def test_batch_workers_act_as_the_service_not_the_first_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Actor] = []
    workers = PaymentSettings.from_env({}).batch_workers
    all_started = asyncio.Event()

    async def work(_self: Any) -> None:
        seen.append(current_actor())
        if len(seen) == workers:
            all_started.set()

    monkeypatch.setattr(ReleaseBatcher, "_work", work)
    with acting_as(system_actor("payment")):  # as ServiceHost builds the servicers
        no_pool: Any = None  # the workers never reach the database here
        batcher = ReleaseBatcher(no_pool, PaymentSettings.from_env({}), SYSTEM_CLOCK)
    with acting_as(Actor("broker-1", Role.CARE_BROKER, ("QNQ",))):  # the first release
        batcher.start()
    await asyncio.wait_for(all_started.wait(), 5)
    await batcher.stop()
    assert {a.subject for a in seen} == {"system:payment"}
