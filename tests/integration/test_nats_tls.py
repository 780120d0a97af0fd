"""NATS over TLS (issue 14, "Transport and secrets"; ADR 16, docs/security-transport.md).

The embedded NATS server the tests (and `onebudget up`) start serves TLS only, with a certificate
of the project's CA: a client that speaks plain text is refused before the server reads its
CONNECT, a client that verifies the server with the CA (`bus.auth_options`, `bus.connect`)
connects and its connection is TLS, and a client that does not trust the CA (another CA, or the
system's) is refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import nats
import nats.errors
import pytest
from structlog.testing import capture_logs

from onebudget.shared import bus
from onebudget.shared.runtime.certs import LocalCA
from onebudget.shared.runtime.infra import LocalInfra, nats_password_file
from onebudget.shared.runtime.nats import LocalNats


@pytest.fixture
def embedded(infra: LocalInfra) -> LocalNats:
    if not isinstance(infra.nats, LocalNats):
        pytest.skip("ONEBUDGET_NATS_URL points at a server these tests did not start")
    return infra.nats


async def _quiet(_error: Exception) -> None:
    return None


def _address(server: LocalNats) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def _connections(url: str) -> list[dict[str, str]]:
    with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 (loopback)
        found: list[dict[str, str]] = json.loads(reply.read())["connections"]
    return found


def _plain_exchange(server: LocalNats, user: str) -> tuple[dict[str, object], bytes]:
    """Speak the NATS protocol in plain text with a right user and password: the server's INFO,
    and everything it answered to CONNECT and PING."""
    password = nats_password_file(user).read_text().strip()
    with socket.create_connection(_address(server), timeout=5) as sock:
        info_line = sock.makefile("rb").readline()
        connect = json.dumps({"user": user, "pass": password, "verbose": False})
        sock.sendall(f"CONNECT {connect}\r\nPING\r\n".encode())
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    assert info_line.startswith(b"INFO "), info_line
    return json.loads(info_line[5:]), answer


def test_the_embedded_server_is_addressed_over_tls(embedded: LocalNats) -> None:
    assert embedded.url.startswith("tls://127.0.0.1:")
    config = json.loads(embedded.config_file.read_text())
    assert config["tls"]["cert_file"].endswith("nats.pem")
    assert config["tls"]["verify"] is False  # clients prove themselves with a user, not a cert


def test_a_plain_text_client_is_refused(embedded: LocalNats) -> None:
    for user in (bus.OPERATOR_USER, bus.nats_user("allocation")):
        info, answer = _plain_exchange(embedded, user)
        assert info["tls_required"] is True
        assert b"PONG" not in answer, answer  # never connected
        assert b"+OK" not in answer, answer


async def test_a_client_that_trusts_the_ca_connects_over_tls(embedded: LocalNats) -> None:
    for user in (bus.OPERATOR_USER, bus.nats_user("payment")):
        options = bus.auth_options(user, str(nats_password_file(user)))
        assert isinstance(options["tls"], ssl.SSLContext)
        nc = await nats.connect(embedded.url, allow_reconnect=False, **options)
        try:
            await nc.flush(timeout=5)
            client_id = nc.client_id
        finally:
            await nc.close()
        # The server's own view of that connection (its monitoring endpoint): TLS.
        url = f"http://127.0.0.1:{embedded.monitor_port}/connz?cid={client_id}&state=all"
        connections = await asyncio.to_thread(_connections, url)
        assert len(connections) == 1, connections
        assert connections[0]["tls_version"].startswith("1."), connections


async def test_the_services_connection_verifies_the_server(embedded: LocalNats) -> None:
    user = bus.nats_user("reporting")
    nc = await bus.connect(embedded.url, name="test-tls", user=user,
                           password_file=str(nats_password_file(user)))  # fmt: skip
    try:
        await nc.flush(timeout=5)
        assert nc.connected_url is not None
        assert nc.connected_url.scheme == "tls"
    finally:
        await nc.close()


@pytest.mark.parametrize("trust", ["another CA", "the system's CAs"])
async def test_a_client_that_does_not_trust_the_ca_is_refused(
    embedded: LocalNats, tmp_path: Path, trust: str
) -> None:
    if trust == "another CA":
        other = LocalCA(tmp_path / "impostor").ensure()
        context = ssl.create_default_context(cafile=str(other.ca_file))
    else:
        context = ssl.create_default_context()
    user = bus.OPERATOR_USER
    options = {**bus.auth_options(user, str(nats_password_file(user))), "tls": context}
    with pytest.raises((nats.errors.Error, OSError)) as refused:
        await nats.connect(
            embedded.url,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            connect_timeout=3,
            error_cb=_quiet,
            **options,
        )
    seen = repr(refused.value) + repr(refused.value.__cause__)
    assert isinstance(refused.value, (nats.errors.NoServersError, ssl.SSLError)) or (
        "certificate" in seen.lower()
    ), seen


async def test_closing_a_tls_connection_says_nothing_a_user_would_read_as_a_fault(
    embedded: LocalNats,
) -> None:
    # The tester's finding: every `ledger verify`, `audit verify` and settling poll printed
    # asyncio's "returning true from eof_received() has no effect when using ssl" and a
    # "nats_disconnected" warning for a connection the program closed itself.
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep(logging.WARNING)
    logging.getLogger("asyncio").addHandler(keep)
    user = bus.nats_user("reporting")
    try:
        with capture_logs() as logs:
            for _ in range(3):
                nc = await bus.connect(embedded.url, name="test-tls-close", user=user,
                                       password_file=str(nats_password_file(user)))  # fmt: skip
                await nc.flush(timeout=5)
                await nc.close()
            await asyncio.sleep(0.2)  # asyncio's SSL shutdown ends after close() returns
        logging.getLogger("asyncio").warning("another asyncio warning is kept")
    finally:
        logging.getLogger("asyncio").removeHandler(keep)
    assert [r.getMessage() for r in seen] == ["another asyncio warning is kept"]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == []
    assert "nats_closed" in [e["event"] for e in logs]
