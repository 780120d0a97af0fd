"""The finance dashboard: a small companion process that serves one page and one JSON view.

`python -m onebudget.reporting.entrypoints.dashboard` (started by `onebudget up`) listens on
ONEBUDGET_DASHBOARD_PORT and asks the reporting service (ONEBUDGET_REPORTING_ADDRESS) for the
figures on each request, so the page shows exactly what `GetCommissionerSummary`,
`GetTargetStatus` and `Reconcile` say: it computes nothing of its own. The page has no external
resources (no CDN, no fonts): it works on a machine with no internet.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import json
import os
import re
import signal
import sys
import threading
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc

from onebudget.reporting.service_layer.mapping import cohort_label
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.reporting.v1 import reporting_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_channel
from onebudget.shared.client import error_reason, service_address
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.config import ConfigError, env_port, env_str

CALL_TIMEOUT_S = 10.0
DEFAULT_PORT = 8050
PAGE = "dashboard.html"


def _fy(today: date) -> int:
    return today.year if today.month >= 4 else today.year - 1


def _people(counts: api.PeopleCounts) -> dict[str, Any]:
    return {
        "total": counts.total,
        "adults": counts.adults,
        "children": counts.children,
        "notional": counts.notional,
        "third_party": counts.third_party,
        "direct_payment": counts.direct_payment,
        "by_category": {
            str(api.Category.Name(c.category)).removeprefix("CATEGORY_"): c.people
            for c in counts.by_category
        },
    }


def dashboard_model(
    summary: api.CommissionerSummary, target: api.TargetStatus, check: api.Reconciliation
) -> dict[str, Any]:
    """The page's figures, straight from the reporting service's answers (pence, basis points)."""
    overall = next((t for t in target.targets if t.cohort == api.COHORT_ALL), None)
    return {
        "commissioner": summary.commissioner_ods_code,
        "financial_year": summary.financial_year,
        "period_end": summary.period_end,
        "allocation_pence": summary.allocation_pence,
        "phb_target_pence": summary.phb_target_pence,
        "phb_target_basis_points": summary.phb_target_basis_points,
        "nhs_agreed_pence": summary.nhs_agreed_pence,
        "nhs_agreed_basis_points": summary.nhs_agreed_basis_points,
        "nhs_paid_pence": summary.nhs_paid_pence,
        "nhs_paid_basis_points": summary.nhs_paid_basis_points,
        "target_met": summary.target_met,
        "ring_fences": [
            {
                "cohort": cohort_label(f.cohort),
                "target_pence": f.target_pence,
                "agreed_pence": f.agreed_pence,
                "balance_pence": f.balance_pence,
                "agreed_basis_points": f.agreed_basis_points,
                "target_met": f.target_met,
                "above_floor_pence": f.above_floor_pence,
            }
            for f in summary.ring_fences
        ],
        "quarters": [
            {
                "quarter": p.quarter,
                "agreed_basis_points": p.agreed_basis_points,
                "met": p.met,
                "gap_pence": p.gap_pence,
            }
            for p in (overall.trend if overall is not None else [])
        ],
        "people_at_period_end": _people(summary.people_with_phb.at_period_end),
        "people_year_to_date": _people(summary.people_with_phb.year_to_date),
        "reconciled": check.reconciled,
        "figures_checked": check.figures_checked,
        "differences": len(check.differences),
    }


class Dashboard:
    """Fetches the three answers from the reporting service for one commissioner and year."""

    def __init__(self, reporting_address: str) -> None:
        self._channel = open_channel(reporting_address)
        self._stub = api_grpc.ReportingServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def model(self, commissioner: str, year: int) -> dict[str, Any]:
        summary = self._stub.GetCommissionerSummary(
            api.GetCommissionerSummaryRequest(
                commissioner_ods_code=commissioner, financial_year=year, quarter=0
            ),
            timeout=CALL_TIMEOUT_S,
        )
        target = self._stub.GetTargetStatus(
            api.GetTargetStatusRequest(commissioner_ods_code=commissioner, financial_year=year),
            timeout=CALL_TIMEOUT_S,
        )
        check = self._stub.Reconcile(
            api.ReconcileRequest(commissioner_ods_code=commissioner, financial_year=year),
            timeout=CALL_TIMEOUT_S,
        )
        return dashboard_model(summary, target, check)

    def close(self) -> None:
        self._channel.close()


def _inline_hashes(page: bytes, tag: str) -> list[str]:
    """CSP source expressions ('sha256-...') of the page's inline <tag> blocks."""
    found = re.findall(rb"<" + tag.encode() + rb"[^>]*>(.*?)</" + tag.encode() + rb">", page, re.S)
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'" for body in found
    ]


def security_headers(page: bytes) -> dict[str, str]:
    """What every answer of the dashboard says to the browser (issue 14): nothing runs or loads
    but the page's own script and style (by their hashes) and its own /api; no framing, no
    sniffing of content types, no referrer. (No Server banner: see Handler.version_string.)"""
    scripts = " ".join(_inline_hashes(page, "script"))
    styles = " ".join(_inline_hashes(page, "style"))
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src {scripts}; style-src {styles}; "
            "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }


def _handler(dashboard: Dashboard, defaults: tuple[str, int]) -> type[BaseHTTPRequestHandler]:
    page = importlib.resources.files("onebudget.reporting.entrypoints").joinpath(PAGE).read_bytes()
    headers = security_headers(page)

    class Handler(BaseHTTPRequestHandler):
        def version_string(self) -> str:
            return ""  # no Server banner (BaseHTTPServer would name Python and its version)

        def send_header(self, keyword: str, value: str) -> None:
            if keyword.lower() == "server":
                return  # not even an empty one
            super().send_header(keyword, value)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", page)
            elif url.path == "/api/dashboard":
                self._api(parse_qs(url.query))
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found")

        def _api(self, query: dict[str, list[str]]) -> None:
            commissioner = (query.get("commissioner") or [defaults[0]])[0]
            try:
                year = int((query.get("year") or [str(defaults[1])])[0])
                body = dashboard.model(commissioner, year)
                status = HTTPStatus.OK
            except ValueError:
                body, status = {"error": "year must be a whole number"}, HTTPStatus.BAD_REQUEST
            except grpc.RpcError as error:
                body = {"error": error.details(), "reason": error_reason(error)}
                status = HTTPStatus.NOT_FOUND
            self._send(status, "application/json", json.dumps(body).encode())

        def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the reporting service logs every RPC the page causes."""

    return Handler


def serve(
    host: str, port: int, reporting_address: str, defaults: tuple[str, int]
) -> ThreadingHTTPServer:
    """A running server (in a daemon thread); `shutdown()` stops it."""
    dashboard = Dashboard(reporting_address)
    server = ThreadingHTTPServer((host, port), _handler(dashboard, defaults))
    threading.Thread(target=server.serve_forever, name="dashboard", daemon=True).start()
    return server


def main() -> int:
    try:
        port = env_port(os.environ, "ONEBUDGET_DASHBOARD_PORT", DEFAULT_PORT)
        host = env_str(os.environ, "ONEBUDGET_DASHBOARD_HOST", "127.0.0.1")
    except ConfigError as exc:
        print(f"onebudget-dashboard: configuration error: {exc}", file=sys.stderr)
        return 2
    commissioner = env_str(os.environ, "ONEBUDGET_DASHBOARD_COMMISSIONER", "QNQ")
    server = serve(
        host, port, service_address("reporting"), (commissioner, _fy(SYSTEM_CLOCK.today()))
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
