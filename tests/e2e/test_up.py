"""`onebudget up` on a machine with nothing running: the whole stack starts, serves, and stops
on Ctrl-C or SIGTERM leaving no process and no lock behind; a second start works."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from onebudget.shared.runtime.ports import pid_alive
from onebudget.shared.stack import SERVICES, wait_serving

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


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_up_serves_and_stops_cleanly(tmp_path: Path, stop_signal: signal.Signals) -> None:
    child = _start(tmp_path)
    try:
        banner = _read_until_ready(child)
        addresses = dict(re.findall(r"^\s+(\w+)\s+grpc://(\S+)$", banner, re.MULTILINE))
        assert set(addresses) == set(SERVICES)
        for address in addresses.values():
            wait_serving(address, timeout_s=10)
        servers = _server_pids(tmp_path)
        assert len(servers) == 2
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
