"""The finance dashboard in a real headless Chromium (Debian's `chromium`), over a demo year
loaded through the four real services: the page loads, its figures equal
GetCommissionerSummary's and GetTargetStatus's (per cohort and quarter, unfinished quarters marked
provisional), its CSV export reconciles with the report, and a screenshot is kept in
test-artifacts/dashboard.png once the figures are there. With the reporting service down, the
dashboard answers 503, not 404."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.demo import loader, synthetic
from onebudget.demo.run import wait_reconciled
from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.reporting.domain.periods import is_provisional
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.entrypoints.dashboard import serve
from onebudget.reporting.service_layer.mapping import cohort_label
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
        self.bars: dict[tuple[str, int], tuple[int, bool]] = {}  # (cohort, quarter) -> bp, prov.
        self.legend = False
        self.axes = 0
        self.export = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "body":
            self.loaded = found.get("data-loaded") or ""
        if tag == "rect" and found.get("class") == "bar":
            key = (str(found["data-cohort"]), int(str(found["data-quarter"])))
            self.bars[key] = (int(str(found["data-value"])), found["data-provisional"] == "true")
        if found.get("id") == "legend":
            self.legend = True
        if found.get("class") == "axis":
            self.axes += 1
        if tag == "a" and found.get("id") == "export":
            self.export = str(found.get("href"))
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


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:  # noqa: S310 (http://127.0.0.1 only)
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def figures_shown(url: str, agreed_pence: int, timeout_s: float = 60.0) -> str:
    """Wait until the page is served with its figures (the agreed money the report gives):
    the screenshot is taken of figures, never of a page still waiting for them."""
    deadline = time.monotonic() + timeout_s
    while True:
        status, _headers, body = fetch(url)
        page = Figures()
        page.feed(body.decode())
        if (
            status == 200
            and page.loaded == "true"
            and page.by_id.get("agreed") == str(agreed_pence)
        ):
            return body.decode()
        assert time.monotonic() < deadline, (status, body[-2000:])
        time.sleep(0.5)


def target_status(address: str, commissioner: str, year: int) -> rp.TargetStatus:
    with open_channel(address) as channel:
        stub = rp_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
        found: rp.TargetStatus = stub.GetTargetStatus(
            rp.GetTargetStatusRequest(commissioner_ods_code=commissioner, financial_year=year)
        )
        return found


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
    target = await asyncio.to_thread(target_status, addresses["reporting"], commissioner, year)
    port = free_port()
    server = serve("127.0.0.1", port, addresses["reporting"], (commissioner, year))
    try:
        url = f"http://127.0.0.1:{port}/?commissioner={commissioner}&year={year}"
        await asyncio.to_thread(figures_shown, url, summary.nhs_agreed_pence)
        dom = await asyncio.to_thread(browse, url, tmp_path / "profile", "--dump-dom")
        shot = artifacts / "dashboard.png"
        await asyncio.to_thread(browse, url, tmp_path / "profile2", f"--screenshot={shot}")
        page = Figures()
        page.feed(dom)
        assert page.export
        status, headers, exported = await asyncio.to_thread(
            fetch, f"http://127.0.0.1:{port}{page.export.replace('&amp;', '&')}"
        )
    finally:
        server.shutdown()

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
    # % against target per cohort and quarter, axes, a legend; unfinished quarters provisional.
    assert page.axes == 2
    assert page.legend
    cohorts = [cohort_label(t.cohort) for t in target.targets]
    assert {c for c, _q in page.bars} == set(cohorts)
    for t in target.targets:
        for p in t.trend:
            bp, provisional = page.bars[(cohort_label(t.cohort), p.quarter)]
            assert bp == (p.agreed_pence * 10_000 // t.target_pence if t.target_pence else 0)
            assert provisional == is_provisional(year, p.quarter, today)
    # The CSV export reconciles with the report, figure by figure.
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.decode())))
    by = {(r["cohort"], int(r["quarter"])): r for r in rows}
    assert len(rows) == 5 * len(target.targets)
    for t in target.targets:
        for p in t.trend:
            row = by[(cohort_label(t.cohort), p.quarter)]
            assert int(row["agreed_pence"]) == p.agreed_pence
            assert int(row["gap_pence"]) == p.gap_pence
            assert row["provisional"] == str(is_provisional(year, p.quarter, today)).lower()
        year_row = by[(cohort_label(t.cohort), 0)]
        assert int(year_row["agreed_pence"]) == t.agreed_pence
        assert int(year_row["gap_pence"]) == t.gap_pence
        assert int(year_row["target_pence"]) == t.target_pence


async def test_reporting_down_is_503_not_404() -> None:
    """No reporting service listens: the page, the CSV and the JSON say 503 with Retry-After."""
    port = free_port()
    server = serve("127.0.0.1", port, f"127.0.0.1:{free_port()}", ("QNQ", 2026))
    try:
        for path in ("/", "/export.csv", "/api/dashboard"):
            status, headers, body = await asyncio.to_thread(
                fetch, f"http://127.0.0.1:{port}{path}?commissioner=QNQ&year=2026"
            )
            assert status == 503, (path, status, body)
            assert headers["Retry-After"] == "5"
            assert b"not answering" in body
        status, _headers, body = await asyncio.to_thread(
            fetch, f"http://127.0.0.1:{port}/api/dashboard"
        )
        assert json.loads(body)["error"].startswith("the reporting service is not answering")
        status, _headers, _body = await asyncio.to_thread(
            fetch, f"http://127.0.0.1:{port}/?year=abc"
        )
        assert status == 400
        # The process itself is alive (what `onebudget up` waits for).
        status, _headers, body = await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/healthz")
        assert (status, body) == (200, b"ok")
    finally:
        server.shutdown()
