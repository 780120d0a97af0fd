"""`onebudget status` tells each component's health (issue 16: "each component, its address,
health"): the probes behind it against a real PostgreSQL, a real NATS and HTTP servers that answer
200, 503 or nothing."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from onebudget.shared.runtime.infra import LocalInfra
from onebudget.shared.runtime.ports import free_port
from onebudget.shared.runtime.probes import (
    NOT_SERVING,
    SERVING,
    UNREACHABLE,
    all_http_health,
    http_health,
    postgres_health,
)


class _Answers(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_health_says_serving_not_serving_or_unreachable(http_server: str) -> None:
    assert http_health(f"{http_server}/healthz") == SERVING
    assert http_health(f"{http_server}/starting") == NOT_SERVING  # answered 503
    assert http_health(f"http://127.0.0.1:{free_port()}/healthz") == UNREACHABLE
    assert http_health("") == UNREACHABLE  # no address known


def test_a_cluster_is_serving_only_when_every_node_is(http_server: str) -> None:
    ready, starting = f"{http_server}/healthz", f"{http_server}/starting"
    assert all_http_health([ready, ready, ready]) == SERVING
    assert all_http_health([ready, starting, ready]) == NOT_SERVING
    assert all_http_health([ready, f"http://127.0.0.1:{free_port()}/healthz"]) == NOT_SERVING
    assert all_http_health([]) == UNREACHABLE


def test_the_real_nats_is_serving(infra: LocalInfra) -> None:
    assert infra.nats is not None
    assert all_http_health(infra.nats.health_urls) == SERVING


def test_postgres_health_queries_the_real_server(pg_url: str) -> None:
    assert postgres_health(pg_url) == SERVING
    # It answered and refused us (no such role): not ready for us, and not silent.
    parts = urlsplit(pg_url)
    stranger = urlunsplit(parts._replace(netloc=f"no_such_role@{parts.hostname}:{parts.port}"))
    assert postgres_health(stranger) == NOT_SERVING
    nobody = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{free_port()}"))
    assert postgres_health(nobody) == UNREACHABLE
