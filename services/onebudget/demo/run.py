"""Load the demo into a running stack, wait for the reports to catch up, and show them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import grpc

from onebudget.demo import loader, synthetic
from onebudget.demo.rerun import DemoMismatch, DemoRecord, demo_day
from onebudget.payment.adapters import repository as payment_repository
from onebudget.reporting.entrypoints.cli import summary_text, target_text
from onebudget.reporting.v1 import reporting_service_pb2 as rpt
from onebudget.reporting.v1 import reporting_service_pb2_grpc as rpt_grpc
from onebudget.shared import settling
from onebudget.shared.channels import open_channel
from onebudget.shared.client import explain
from onebudget.shared.clock import SYSTEM_CLOCK

CATCH_UP_TIMEOUT_S = 120.0
RECORD_NAME = "demo.json"
WAIT_NOTE_EVERY_S = 10.0


def read_record(path: Path) -> DemoRecord | None:
    """What the stack's last demo load recorded (None: none, or unreadable)."""
    try:
        body = json.loads(path.read_text())
        return DemoRecord(people=int(body["people"]), today=date.fromisoformat(body["today"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(path: Path, record: DemoRecord) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"people": record.people, "today": record.today.isoformat()}))


def load_and_report(
    addresses: Mapping[str, str],
    *,
    people_count: int,
    state_dir: Path | None = None,
    database_url: str = "",
    nats_url: str = "",
) -> None:
    """Load the demo (again) and print the summary. `state_dir` is the stack's folder, where
    the load records its size and day (demo.json) so that a rerun reproduces the same world,
    and a rerun of another size stops with one line saying what to do (SystemExit). With the
    stack's `database_url` and `nats_url`, the summary waits until the stack is settled
    (shared/settling.py) and says so, or says what is still moving."""
    started = time.monotonic()
    record_path = state_dir / RECORD_NAME if state_dir is not None else None
    recorded = read_record(record_path) if record_path is not None else None
    try:
        today = demo_day(recorded, people_count, SYSTEM_CLOCK.today(), str(state_dir))
    except DemoMismatch as mismatch:
        raise SystemExit(f"onebudget up: {mismatch}") from None
    if record_path is not None:
        write_record(record_path, DemoRecord(people=people_count, today=today))
    again = " again" if recorded is not None else ""
    print(
        f"Loading a synthetic year{again} ({people_count} people, as of {today.isoformat()}) ...",
        flush=True,
    )
    try:
        loaded = asyncio.run(loader.load(addresses, people_count=people_count, today=today))
    except DemoMismatch as mismatch:
        raise SystemExit(f"onebudget up: {mismatch}") from None
    except grpc.aio.AioRpcError as error:
        raise SystemExit(f"the demo load was refused:\n{explain(error)}") from None
    if loaded.notes:  # a rerun after someone changed the demo's world: each change, one line
        print("Changed since the demo was first loaded, left as it is:", flush=True)
    for note in loaded.notes:
        print(note, flush=True)
    print(
        f"Loaded {len(loaded.budgets)} agreed budgets, {len(loaded.payments)} provider payments"
        f" and {len(loaded.schedules)} direct-payment schedules"
        f" in {time.monotonic() - started:.0f}s.",
        flush=True,
    )
    commissioner, year = synthetic.COMMISSIONER[0], synthetic.financial_year_of(today)
    settled = ""
    if database_url and nats_url:
        settled = settled_words(asyncio.run(wait_until_settled(database_url, nats_url)))
    with open_channel(addresses["reporting"]) as channel:
        stub = rpt_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
        reconciled = wait_reconciled(stub, commissioner, year, len(loaded.budgets))
        state = "reconciled with the ledger" if reconciled else "NOT yet reconciled"
        print(f"\nCommissioner summary ({settled}{state}):\n", flush=True)
        print(summary_text(stub, commissioner, year), flush=True)
        print("\n% of the allocation on PHBs against target:\n", flush=True)
        print(target_text(stub, commissioner, year), flush=True)


def settled_words(moving: list[str]) -> str:
    """How the summary's heading says whether its figures are final."""
    if not moving:
        return (
            "final: the stack is settled, every outbox drained, schedules caught up,"
            " reports current; "
        )
    return f"PROVISIONAL, still moving after {CATCH_UP_TIMEOUT_S:.0f}s: {'; '.join(moving)}; "


async def wait_until_settled(database_url: str, nats_url: str) -> list[str]:
    """Wait (up to CATCH_UP_TIMEOUT_S) until the stack is settled; what still moves at the end.
    Says once a while what it waits for (back-dated instalments take a scheduler run)."""
    last = [0.0]

    async def look() -> settling.Motion:
        return await settling.observe(
            database_url,
            nats_url,
            lambda conn: payment_repository.schedules_behind(conn, SYSTEM_CLOCK.today()),
        )

    def on_wait(moving: list[str]) -> None:
        if time.monotonic() - last[0] >= WAIT_NOTE_EVERY_S:
            last[0] = time.monotonic()
            print(f"Waiting for the stack to settle: {'; '.join(moving)}", flush=True)

    return await settling.wait_settled(look, timeout_s=CATCH_UP_TIMEOUT_S, on_wait=on_wait)


def wait_reconciled(
    stub: rpt_grpc.ReportingServiceStub, commissioner: str, year: int, budgets: int
) -> bool:
    """The reports are built from events: wait until they count every budget and every money
    figure equals the ledger's."""
    deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            summary = stub.GetCommissionerSummary(
                rpt.GetCommissionerSummaryRequest(
                    commissioner_ods_code=commissioner, financial_year=year
                )
            )
            check = stub.Reconcile(
                rpt.ReconcileRequest(commissioner_ods_code=commissioner, financial_year=year)
            )
            if summary.people_with_phb.year_to_date.total >= budgets and check.reconciled:
                return True
        except grpc.RpcError:
            pass  # the allocation event may not have reached the reports yet
        time.sleep(0.5)
    return False
