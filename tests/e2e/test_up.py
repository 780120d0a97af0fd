"""`onebudget up` on a machine with nothing running: the whole stack starts, serves, and stops
on Ctrl-C or SIGTERM leaving no process and no lock behind; a second start works."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from onebudget.shared.roles import service_role
from onebudget.shared.runtime.ports import pid_alive
from onebudget.shared.runtime.postgres import PG_ROLE
from onebudget.shared.runtime.secrets import read_pgpass
from onebudget.shared.stack import SERVICES, wait_serving
from onebudget.shared.tls import CA_FILE_VARIABLE

READY_LINE = "Press Ctrl-C to stop."


def _start(state_dir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEBUDGET_")}
    env["ONEBUDGET_STATE_DIR"] = str(state_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "onebudget", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until_ready(child: subprocess.Popen[str], timeout_s: float = 90) -> str:
    assert child.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        seen.append(line)
        if READY_LINE in line:
            return "".join(seen)
    child.kill()
    raise AssertionError("stack did not start:\n" + "".join(seen))


def _server_pids(state_dir: Path) -> list[int]:
    pids = []
    pg_pid = state_dir / "run" / "postgres" / "data" / "postmaster.pid"
    nats_pid = state_dir / "run" / "nats" / "nats-server.pid"
    if pg_pid.exists():
        pids.append(int(pg_pid.read_text().splitlines()[0]))
    if nats_pid.exists():
        pids.append(int(nats_pid.read_text().strip()))
    return pids


def _assert_services_hold_only_their_own_secrets(state_dir: Path) -> None:
    """Issue 14, "no superuser at run time" (ADR 16): every service process of the stack was
    started after the migrations, with its own role's URL and a password file holding only its
    own role's password; nothing in its environment or arguments holds the superuser's; and
    it speaks to NATS over TLS."""
    superuser_password = read_pgpass(state_dir / "pgpass")[PG_ROLE]
    assert json.loads((state_dir / "run" / "stack.json").read_text())["nats"].startswith("tls://")
    for service in SERVICES:
        pid = int((state_dir / "run" / "pids" / f"{service}.pid").read_text())
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert superuser_password.encode() not in environ + cmdline, service
        variables = dict(
            entry.decode().split("=", 1) for entry in environ.split(b"\0") if b"=" in entry
        )
        passfile = Path(variables["PGPASSFILE"])
        assert superuser_password not in passfile.read_text(), service
        assert set(read_pgpass(passfile)) == {service_role(service)}
        assert passfile.stat().st_mode & 0o777 == 0o600
        assert variables["ONEBUDGET_MIGRATE"] == "false"
        assert urlsplit(variables["ONEBUDGET_DATABASE_URL"]).username == service_role(service)
        assert (state_dir / "run" / "logs" / f"{service}-migrate.log").exists()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_up_serves_and_stops_cleanly(
    tmp_path: Path, stop_signal: signal.Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    child = _start(tmp_path)
    try:
        banner = _read_until_ready(child)
        addresses = dict(re.findall(r"^\s+(\w+)\s+grpcs://(\S+)$", banner, re.MULTILINE))
        assert set(addresses) == set(SERVICES)
        # The services serve TLS with certificates of that stack's own CA (ADR 16).
        monkeypatch.setenv(CA_FILE_VARIABLE, str(tmp_path / "tls" / "ca.pem"))
        for address in addresses.values():
            wait_serving(address, timeout_s=10)
        servers = _server_pids(tmp_path)
        assert len(servers) == 2
        _assert_services_hold_only_their_own_secrets(tmp_path)
        child.send_signal(stop_signal)
        out, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, out
    assert "Stopped." in out
    time.sleep(0.2)
    assert [pid for pid in servers if pid_alive(pid)] == []
    assert _server_pids(tmp_path) == [], "a pid file was left behind"

    again = _start(tmp_path)  # a second start reuses the data and starts cleanly
    try:
        _read_until_ready(again)
        again.send_signal(signal.SIGINT)
        again.communicate(timeout=60)
    finally:
        if again.poll() is None:
            again.kill()
    assert again.returncode == 0


def _onebudget(state_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEBUDGET_")}
    env["ONEBUDGET_STATE_DIR"] = str(state_dir)
    return subprocess.run(
        [sys.executable, "-m", "onebudget", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _status(state_dir: Path) -> dict[str, list[str]]:
    done = _onebudget(state_dir, "status")
    rows = [line.split() for line in done.stdout.splitlines()[2:] if line.strip()]
    return {row[0]: row[1:] for row in rows if not row[0].startswith("logs")}


def test_up_supervises_its_children_and_the_cli_finds_it_among_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CA_FILE_VARIABLE, str(tmp_path / "tls" / "ca.pem"))  # that stack's CA
    # Another "stack" holds the default ports: listening sockets that never answer (a client
    # that fell back to the defaults would hang there, not reach our stack).
    squatters = []
    for port in SERVICES.values():
        squatter = socket.socket()
        try:
            squatter.bind(("127.0.0.1", port))
        except OSError:
            squatter.close()  # already taken by something else: just as good
            continue
        squatter.listen()
        squatters.append(squatter)
    child = _start(tmp_path)
    try:
        banner = _read_until_ready(child)
        addresses = dict(re.findall(r"^\s+(\w+)\s+grpcs://(\S+)$", banner, re.MULTILINE))
        assert all(addresses[s] != f"127.0.0.1:{p}" for s, p in SERVICES.items())
        status = _status(tmp_path)
        for service, address in addresses.items():
            # TLS only (ADR 16), so the URL says grpcs.
            assert status[service][:3] == [f"grpcs://{address}", "SERVING", "0"], status
        # Every component's health, not only the services' (issue 16): the dashboard's and
        # NATS's /healthz, and a query to PostgreSQL.
        for component in ("dashboard", "postgresql", "nats"):
            assert status[component][1] == "SERVING", status
        assert _onebudget(tmp_path, "status").returncode == 0
        # Each service's Prometheus metrics, where status says.
        with urllib.request.urlopen(status["payment"][3], timeout=10) as reply:  # noqa: S310
            assert b'onebudget_background_task_running{service="payment"' in reply.read()
        # Not logged in: one line, exit 2; then a finance officer of QNQ logs in (issue 14).
        anonymous = _onebudget(
            tmp_path, "report", "summary", "--commissioner", "QNQ", "--year", "2026"
        )
        assert anonymous.returncode == 2
        assert anonymous.stderr.startswith("onebudget: not logged in"), anonymous.stderr
        logged_in = _onebudget(tmp_path, "login", "--role", "commissioner_finance", "--org", "QNQ")
        assert logged_in.returncode == 0, logged_in.stderr
        assert "logged in as commissioner_finance for QNQ" in logged_in.stdout
        assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "issuer" / "signing-key.pem").stat().st_mode & 0o777 == 0o600
        # The CLI reaches this stack, not the squatters: a read of the ledger's accounts.
        listed = _onebudget(
            tmp_path, "report", "summary", "--commissioner", "QNQ", "--year", "2026"
        )
        assert "UNAVAILABLE" not in listed.stderr
        assert "DEADLINE" not in listed.stderr
        assert listed.returncode in (0, 1), listed.stderr  # 1: refused (no such allocation)

        # kill -9 of the payment service: reaped, told, started again, SERVING again.
        pid_file = tmp_path / "run" / "pids" / "payment.pid"
        first = int(pid_file.read_text())
        os.kill(first, signal.SIGKILL)
        assert child.stdout is not None
        told = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            told.append(line)
            if "payment: started again (restart 1)" in line:
                break
        assert any("payment: exited (killed by SIGKILL)" in line for line in told), told
        wait_serving(addresses["payment"], timeout_s=30)
        assert int(pid_file.read_text()) != first
        assert not Path(f"/proc/{first}").exists(), "the killed child was left a zombie"
        assert _status(tmp_path)["payment"][:3] == [
            f"grpcs://{addresses['payment']}",
            "SERVING",
            "1",
        ]
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
        for squatter in squatters:
            squatter.close()
    assert child.returncode == 0, out
    assert not (tmp_path / "run" / "stack.json").exists(), "the state file outlived the stack"
    assert _onebudget(tmp_path, "status").returncode == 3


def test_an_interrupted_start_exits_non_zero(tmp_path: Path) -> None:
    child = _start(tmp_path)
    try:
        # Interrupt once the stack has begun to start (its folder exists: PostgreSQL is being
        # made or started), before anything serves.
        deadline = time.monotonic() + 60
        while not (tmp_path / "run").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, out
    assert "Stopped." in out
    assert "Traceback" not in out
    # Nothing half-made is left to trip the next start (an interrupted initdb included).
    again = _start(tmp_path)
    try:
        _read_until_ready(again)
        again.send_signal(signal.SIGINT)
        again.communicate(timeout=60)
    finally:
        if again.poll() is None:
            again.kill()
    assert again.returncode == 0
