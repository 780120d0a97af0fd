"""The finance dashboard in a real headless Chromium (Debian's `chromium`), over a demo year
loaded through the four real services: the page loads, its figures equal
GetCommissionerSummary's, and a screenshot is kept in test-artifacts/dashboard.png."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.demo import loader, synthetic
from onebudget.demo.run import wait_reconciled
from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.entrypoints.dashboard import serve
from onebudget.reporting.v1 import reporting_service_pb2 as rp
from onebudget.reporting.v1 import reporting_service_pb2_grpc as rp_grpc
from onebudget.shared.channels import open_channel
from onebudget.shared.runtime.ports import free_port
from tests.conftest import StartService

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PEOPLE = 12
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1500",
    "--virtual-time-budget=10000",
]


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: scripts/setup installs it (apt-get)")
        pytest.skip("chromium is not installed (scripts/setup installs it when run as root)")
    return found


class Figures(HTMLParser):
    """Every element's data-value, by its id, and the management-option cells by group."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.groups: dict[str, str] = {}
        self.loaded = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "body":
            self.loaded = found.get("data-loaded") or ""
        value = found.get("data-value")
        if value is None:
            return
        if found.get("id"):
            self.by_id[str(found["id"])] = value
        if found.get("data-group"):
            self.groups[str(found["data-group"])] = value


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def browse(url: str, profile: Path, *extra: str) -> str:
    done = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def caught_up_summary(
    address: str, commissioner: str, year: int, budgets: int
) -> rp.CommissionerSummary:
    """Once the reports count every budget and reconcile with the ledger: the summary. (Sync
    gRPC, so it runs in a thread: the services answer on the test's event loop.)"""
    with open_channel(address) as channel:
        stub = rp_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
        assert wait_reconciled(stub, commissioner, year, budgets)
        summary: rp.CommissionerSummary = stub.GetCommissionerSummary(
            rp.GetCommissionerSummaryRequest(
                commissioner_ods_code=commissioner, financial_year=year
            )
        )
        return summary


async def test_dashboard_shows_the_reporting_figures(
    start_service: StartService,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    chromium()  # fail or skip before starting anything
    monkeypatch.setenv("ONEBUDGET_PAYMENT_SCHEDULER_INTERVAL_S", "1")
    hosts = {s.name: await start_service(s) for s in (ENTITLEMENT, ALLOCATION, PAYMENT, REPORTING)}
    addresses = {name: host.address for name, host in hosts.items()}
    today = date.today()
    loaded = await loader.load(addresses, people_count=PEOPLE, today=today)
    commissioner, year = synthetic.COMMISSIONER[0], synthetic.financial_year_of(today)

    summary = await asyncio.to_thread(
        caught_up_summary, addresses["reporting"], commissioner, year, len(loaded.budgets)
    )
    port = free_port()
    server = serve("127.0.0.1", port, addresses["reporting"], (commissioner, year))
    try:
        url = f"http://127.0.0.1:{port}/?commissioner={commissioner}&year={year}"
        dom = await asyncio.to_thread(browse, url, tmp_path / "profile", "--dump-dom")
        shot = artifacts / "dashboard.png"
        await asyncio.to_thread(browse, url, tmp_path / "profile2", f"--screenshot={shot}")
    finally:
        server.shutdown()

    page = Figures()
    page.feed(dom)
    assert page.loaded == "true", dom[-2000:]
    assert int(page.by_id["allocation"]) == summary.allocation_pence
    assert int(page.by_id["target"]) == summary.phb_target_pence
    assert int(page.by_id["agreed"]) == summary.nhs_agreed_pence
    assert int(page.by_id["paid"]) == summary.nhs_paid_pence
    assert page.by_id["reconciled"] == "true"
    people = summary.people_with_phb.at_period_end
    assert int(page.groups["total"]) == people.total == PEOPLE
    assert int(page.groups["direct_payment"]) == people.direct_payment
    assert int(page.groups["notional"]) == people.notional
    assert summary.nhs_agreed_pence > 0
    assert shot.exists()
    assert shot.stat().st_size > 10_000  # a rendered page, not an empty image
