"""Load the demo into a running stack and say what was loaded and where to look."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import date

import grpc

from onebudget.demo import loader
from onebudget.shared.client import explain


def load_and_report(addresses: Mapping[str, str], *, people_count: int) -> None:
    started = time.monotonic()
    print(f"Loading a synthetic year ({people_count} people) ...", flush=True)
    try:
        loaded = asyncio.run(
            loader.load(addresses, people_count=people_count, today=date.today())
        )
    except grpc.aio.AioRpcError as error:
        raise SystemExit(f"the demo load was refused:\n{explain(error)}") from None
    seconds = time.monotonic() - started
    print(
        f"Loaded {len(loaded.budgets)} agreed budgets, {len(loaded.payments)} provider payments"
        f" and {len(loaded.schedules)} direct-payment schedules in {seconds:.0f}s.",
        flush=True,
    )
