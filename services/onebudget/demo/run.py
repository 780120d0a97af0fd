"""Load the demo into a running stack, wait for the reports to catch up, and show them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import grpc

from onebudget.demo import loader, synthetic
from onebudget.reporting.entrypoints.cli import summary_text, target_text
from onebudget.reporting.v1 import reporting_service_pb2 as rpt
from onebudget.reporting.v1 import reporting_service_pb2_grpc as rpt_grpc
from onebudget.shared.channels import open_channel
from onebudget.shared.client import explain
from onebudget.shared.clock import SYSTEM_CLOCK

CATCH_UP_TIMEOUT_S = 120.0


def load_and_report(addresses: Mapping[str, str], *, people_count: int) -> None:
    started = time.monotonic()
    today = SYSTEM_CLOCK.today()
    print(f"Loading a synthetic year ({people_count} people) ...", flush=True)
    try:
        loaded = asyncio.run(loader.load(addresses, people_count=people_count, today=today))
    except grpc.aio.AioRpcError as error:
        raise SystemExit(f"the demo load was refused:\n{explain(error)}") from None
    print(
        f"Loaded {len(loaded.budgets)} agreed budgets, {len(loaded.payments)} provider payments"
        f" and {len(loaded.schedules)} direct-payment schedules"
        f" in {time.monotonic() - started:.0f}s.",
        flush=True,
    )
    commissioner, year = synthetic.COMMISSIONER[0], synthetic.financial_year_of(today)
    with open_channel(addresses["reporting"]) as channel:
        stub = rpt_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
        reconciled = wait_reconciled(stub, commissioner, year, len(loaded.budgets))
        state = "reconciled with the ledger" if reconciled else "NOT yet reconciled"
        print(f"\nCommissioner summary ({state}):\n", flush=True)
        print(summary_text(stub, commissioner, year), flush=True)
        print("\n% of the allocation on PHBs against target:\n", flush=True)
        print(target_text(stub, commissioner, year), flush=True)


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
