"""The finance dashboard: a small companion process that serves one page, its CSV and one JSON
view.

`python -m onebudget.reporting.entrypoints.dashboard` (started by `onebudget up`) listens on
ONEBUDGET_DASHBOARD_PORT and asks the reporting service (ONEBUDGET_REPORTING_ADDRESS) for the
figures on each request, so the page shows exactly what `GetCommissionerSummary`,
`GetTargetStatus` and `Reconcile` say: it computes nothing of its own but which quarters are
provisional (reporting/domain/periods.is_provisional, on the one clock). The page is rendered on
the server (dashboard_view.py: HTML and SVG, no script, no external resource), so the figures
are in the page when it arrives.

- `/`: the page; `/dashboard.css` its stylesheet;
- `/export.csv`: the target view per cohort and quarter as CSV (the page's "Download" link);
- `/api/dashboard`: the same model as JSON;
- `/healthz`: 200 while the dashboard process runs (what `onebudget up` waits for: before the
  demo is loaded, `/` rightly answers 404 for a commissioner reporting does not know yet).

When the reporting service cannot answer (down, or too slow), every one of them answers
503 Service Unavailable with `Retry-After`, never a 404: the figures exist, they cannot be read
now. An unknown commissioner or year is 404, a bad year 400.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
import jwt

from onebudget.reporting.domain.periods import is_provisional
from onebudget.reporting.entrypoints import dashboard_view as view
from onebudget.reporting.service_layer.mapping import cohort_label
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.reporting.v1 import reporting_service_pb2_grpc as api_grpc
from onebudget.shared.auth import ORGANISATIONS_CLAIM
from onebudget.shared.channels import open_channel, use_token
from onebudget.shared.client import error_reason, service_address
from onebudget.shared.clock import SYSTEM_CLOCK, Clock
from onebudget.shared.config import ConfigError, env_port, env_str
from onebudget.shared.runtime.issuer import LocalIssuer, RoleTokens, issuer_dir

CALL_TIMEOUT_S = 10.0
DEFAULT_PORT = 8050
RETRY_AFTER_S = 5
# The reporting service cannot answer now: the dashboard is unavailable, not the figures absent.
_UNAVAILABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


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


def _cohort(t: api.CohortTarget, year: int, today: date) -> dict[str, Any]:
    """One cohort's target view: the whole year and each quarter (year to date at its end),
    each marked provisional while it has not ended on `today`."""
    return {
        "cohort": cohort_label(t.cohort),
        "target_basis_points": t.target_basis_points,
        "target_pence": t.target_pence,
        "year": {
            "period_end": t.trend[-1].period_end if t.trend else "",
            "agreed_pence": t.agreed_pence,
            "agreed_basis_points": t.agreed_basis_points,
            "met": t.met,
            "gap_pence": t.gap_pence,
            "above_floor_pence": t.above_floor_pence,
            "provisional": is_provisional(year, 0, today),
        },
        "quarters": [
            {
                "quarter": p.quarter,
                "period_end": p.period_end,
                "agreed_pence": p.agreed_pence,
                "agreed_basis_points": p.agreed_basis_points,
                "met": p.met,
                "gap_pence": p.gap_pence,
                "above_floor_pence": p.above_floor_pence,
                "provisional": is_provisional(year, p.quarter, today),
            }
            for p in t.trend
        ],
    }


def dashboard_model(
    summary: api.CommissionerSummary,
    target: api.TargetStatus,
    check: api.Reconciliation,
    today: date,
) -> dict[str, Any]:
    """The page's figures, straight from the reporting service's answers (pence, basis points,
    England's dates); `today` (the one clock) decides only which periods are provisional."""
    year = summary.financial_year
    overall = next((t for t in target.targets if t.cohort == api.COHORT_ALL), None)
    return {
        "commissioner": summary.commissioner_ods_code,
        "financial_year": year,
        "today": today.isoformat(),
        "year_provisional": is_provisional(year, 0, today),
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
                "provisional": is_provisional(year, p.quarter, today),
            }
            for p in (overall.trend if overall is not None else [])
        ],
        "cohorts": [_cohort(t, year, today) for t in target.targets],
        "people_at_period_end": _people(summary.people_with_phb.at_period_end),
        "people_year_to_date": _people(summary.people_with_phb.year_to_date),
        "reconciled": check.reconciled,
        "figures_checked": check.figures_checked,
        "differences": len(check.differences),
    }


class Dashboard:
    """Fetches the three answers from the reporting service for one commissioner and year."""

    def __init__(self, reporting_address: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self._clock = clock
        self._address = reporting_address
        self._channel = open_channel(reporting_address)
        self._stub = api_grpc.ReportingServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def model(self, commissioner: str, year: int, token: str = "") -> dict[str, Any]:
        """The page's figures; with a user's bearer `token` they are asked for as that user
        (the reporting service then shows only their organisation's: issue 14), else as the
        dashboard's own identity."""
        if not token:
            return self._model(self._stub, commissioner, year)
        with open_channel(self._address, token=token) as channel:
            stub = api_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
            return self._model(stub, commissioner, year)

    def _model(self, stub: Any, commissioner: str, year: int) -> dict[str, Any]:
        summary = stub.GetCommissionerSummary(
            api.GetCommissionerSummaryRequest(
                commissioner_ods_code=commissioner, financial_year=year, quarter=0
            ),
            timeout=CALL_TIMEOUT_S,
        )
        target = stub.GetTargetStatus(
            api.GetTargetStatusRequest(commissioner_ods_code=commissioner, financial_year=year),
            timeout=CALL_TIMEOUT_S,
        )
        check = stub.Reconcile(
            api.ReconcileRequest(commissioner_ods_code=commissioner, financial_year=year),
            timeout=CALL_TIMEOUT_S,
        )
        return dashboard_model(summary, target, check, self._clock.today())

    def close(self) -> None:
        self._channel.close()


def _http_status(error: grpc.RpcError) -> HTTPStatus:
    code = error.code()
    if code in _UNAVAILABLE:
        return HTTPStatus.SERVICE_UNAVAILABLE
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return HTTPStatus.UNAUTHORIZED
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return HTTPStatus.FORBIDDEN
    if code == grpc.StatusCode.NOT_FOUND:
        return HTTPStatus.NOT_FOUND
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return HTTPStatus.BAD_REQUEST
    return HTTPStatus.BAD_GATEWAY


# What every answer of the dashboard says to the browser (issue 14). The page is rendered on the
# server with no script and one same-origin stylesheet, so the policy allows no script at all and
# styles only from this origin; no framing, no sniffing of content types, no referrer. (No Server
# banner: see Handler.version_string.)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none';"
        " form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _first_organisation(token: str) -> str:
    """The first organisation a token names, to choose the page's commissioner (not trusted:
    the reporting service verifies the token and decides)."""
    if not token:
        return ""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return ""
    organisations = claims.get(ORGANISATIONS_CLAIM) or [""]
    return str(organisations[0]) if isinstance(organisations, list) else ""


def _handler(dashboard: Dashboard, defaults: tuple[str, int]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def version_string(self) -> str:
            return ""  # no Server banner (BaseHTTPServer would name Python and its version)

        def send_header(self, keyword: str, value: str) -> None:
            if keyword.lower() == "server":
                return  # not even an empty one
            super().send_header(keyword, value)

        # HEAD (RFC 9110 9.3.2): what GET would answer, status and headers, without the body;
        # monitors and `curl -I` use it (it answered 501 Unsupported method).
        _head_only = False

        def do_HEAD(self) -> None:
            self._head_only = True
            self.do_GET()

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/healthz":
                # The dashboard process answers (what `onebudget up` waits for), whether or not
                # the reporting service has figures yet.
                self._send(HTTPStatus.OK, "text/plain; charset=utf-8", b"ok")
            elif url.path == "/dashboard.css":
                self._send(HTTPStatus.OK, "text/css; charset=utf-8", view.STYLESHEET)
            elif url.path in ("/", "/api/dashboard", "/export.csv"):
                self._figures(url.path, parse_qs(url.query))
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found")

        def _figures(self, path: str, query: dict[str, list[str]]) -> None:
            # A user's own identity (issue 14): `Authorization: Bearer <token>` is passed on to
            # the reporting service, which verifies it and refuses another organisation's
            # figures; the user's first organisation is the page's default.
            header = self.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            token = token.strip() if scheme.lower() == "bearer" else ""
            default = _first_organisation(token) or defaults[0]
            commissioner = (query.get("commissioner") or [default])[0]
            raw_year = (query.get("year") or [str(defaults[1])])[0]
            asked = {"commissioner": commissioner, "year": raw_year}
            if header.strip() and not token:
                # Credentials that are not a bearer token (Basic, an empty Bearer) are refused,
                # never taken as no credentials at all.
                message = "Authorization must be `Bearer <token>`"
                self._fail(path, HTTPStatus.UNAUTHORIZED, message, "TOKEN_INVALID", asked)
                return
            try:
                model = dashboard.model(commissioner, int(raw_year), token)
            except ValueError:
                self._fail(path, HTTPStatus.BAD_REQUEST, "year must be a whole number", "", asked)
                return
            except grpc.RpcError as error:
                status = _http_status(error)
                message = (
                    "the reporting service is not answering; the figures are unavailable now"
                    if status == HTTPStatus.SERVICE_UNAVAILABLE
                    else str(error.details())
                )
                self._fail(path, status, message, error_reason(error), asked)
                return
            if path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", view.render_page(model))
            elif path == "/export.csv":
                name = view.csv_file_name(model)
                self._send(
                    HTTPStatus.OK,
                    "text/csv; charset=utf-8",
                    view.render_csv(model),
                    {"Content-Disposition": f'attachment; filename="{name}"'},
                )
            else:
                self._send(HTTPStatus.OK, "application/json", json.dumps(model).encode())

        def _fail(
            self,
            path: str,
            status: HTTPStatus,
            message: str,
            reason: str,
            asked: dict[str, str],
        ) -> None:
            headers = (
                {"Retry-After": str(RETRY_AFTER_S)}
                if status == HTTPStatus.SERVICE_UNAVAILABLE
                else {}
            )
            if path == "/":
                body = view.render_error(message, reason, asked)
                self._send(status, "text/html; charset=utf-8", body, headers)
            elif path == "/export.csv":
                self._send(status, "text/plain; charset=utf-8", message.encode(), headers)
            else:
                body = json.dumps({"error": message, "reason": reason}).encode()
                self._send(status, "application/json", body, headers)

        def _send(
            self,
            status: HTTPStatus,
            kind: str,
            body: bytes,
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            if not self._head_only:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the reporting service logs every RPC the page causes."""

    return Handler


def serve(
    host: str,
    port: int,
    reporting_address: str,
    defaults: tuple[str, int],
    clock: Clock = SYSTEM_CLOCK,
) -> ThreadingHTTPServer:
    """A running server (in a daemon thread); `shutdown()` stops it. `clock` decides which
    quarters are provisional (the one clock; a FixedClock in tests)."""
    dashboard = Dashboard(reporting_address, clock)
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
    issuer = os.environ.get("ONEBUDGET_OIDC_ISSUER", "").strip()
    if issuer:
        # Under `onebudget up`: the dashboard reads as a finance officer of its commissioner,
        # with tokens from the local issuer's key (issue 14; docs/security.md).
        use_token(RoleTokens(LocalIssuer(issuer_dir(), issuer), (commissioner,), "dashboard"))
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
