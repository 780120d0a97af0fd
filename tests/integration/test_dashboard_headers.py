"""The dashboard's security headers (issue 14): a content security policy that lets only the
page's own script and style run, no sniffing, no framing, and no Server banner."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from onebudget.reporting.entrypoints.dashboard import serve
from onebudget.shared.runtime.ports import free_port


@pytest.fixture
def dashboard_url() -> Iterator[str]:
    port = free_port()
    # The page and a missing path answer without asking reporting, so no service is needed.
    server = serve("127.0.0.1", port, "127.0.0.1:9", ("QNQ", 2026))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


def _get(url: str, authorization: str = "") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)  # noqa: S310 (loopback)
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (loopback)
            return reply.status, dict(reply.headers.items()), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


@pytest.mark.parametrize("path", ["/", "/no-such-page", "/healthz", "/dashboard.css"])
def test_every_answer_carries_the_security_headers(dashboard_url: str, path: str) -> None:
    status, headers, _ = _get(dashboard_url + path)
    # "/" asks reporting, which is not there: 503, and still the headers.
    assert status in (200, 404, 503)
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "Server" not in headers
    assert "Python" not in str(headers)


def test_the_policy_runs_no_script_and_styles_only_from_the_dashboard(dashboard_url: str) -> None:
    """The page is rendered on the server: no script may run, styles come from its own
    stylesheet only, and the page has neither an inline script nor an inline style."""
    _, headers, page = _get(dashboard_url + "/")
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert "script-src" not in csp  # default-src 'none' applies: nothing runs
    assert csp["style-src"] == "'self'"
    assert csp["default-src"] == "'none'"
    assert re.search(rb"<script", page) is None
    assert re.search(rb"<style", page) is None
    assert b'rel="stylesheet" href="/dashboard.css"' in page


@pytest.mark.parametrize("authorization", ["Basic YTpi", "Token abc", "Bearer", "Bearer   "])
@pytest.mark.parametrize("path", ["/", "/api/dashboard", "/export.csv"])
def test_credentials_that_are_not_a_bearer_token_are_refused(
    dashboard_url: str, path: str, authorization: str
) -> None:
    """Found by a new user: `Authorization: Basic ...` showed the dashboard's own figures as if
    no credentials had been sent. Refused 401 before reporting is asked (it is not even up)."""
    status, headers, _ = _get(dashboard_url + path, authorization)
    assert status == 401
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/", "/healthz", "/dashboard.css", "/no-such-page"])
def test_head_answers_what_get_would_without_the_body(dashboard_url: str, path: str) -> None:
    # The tester's `curl -I` got 501 Unsupported method ('HEAD').
    get_status, get_headers, get_body = _get(dashboard_url + path)
    request = urllib.request.Request(dashboard_url + path, method="HEAD")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (loopback)
            status, headers, body = reply.status, dict(reply.headers.items()), reply.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, dict(error.headers.items()), error.read()
    assert status == get_status
    assert body == b""
    assert headers["Content-Length"] == str(len(get_body))
    assert headers["Content-Type"] == get_headers["Content-Type"]
    assert headers["Content-Security-Policy"] == get_headers["Content-Security-Policy"]
