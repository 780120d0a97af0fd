"""The self-started servers survive what people do to them: a killed run, a second start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import nats
import pytest

from onebudget.shared.runtime.infra import project_passwords_file, sweep_dead_test_infra
from onebudget.shared.runtime.nats import LocalNats
from onebudget.shared.runtime.ports import pid_alive
from onebudget.shared.runtime.postgres import LocalPostgres

# The project's passwords, which the session's PGPASSFILE holds (ADR 16).
PASSWORDS = project_passwords_file()


@pytest.fixture(autouse=True)
def _passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSFILE", str(PASSWORDS))


async def _pg_answers(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        value: int = await conn.fetchval("SELECT 42")
        return value
    finally:
        await conn.close()


def test_postgres_left_running_by_a_killed_run_is_replaced(tmp_path: Path) -> None:
    first = LocalPostgres(tmp_path / "pg", tuned_for_tests=True, passwords_file=PASSWORDS)
    first.start()
    # The run that started it dies without stopping it; the next run must start anyway.
    second = LocalPostgres(tmp_path / "pg", tuned_for_tests=True, passwords_file=PASSWORDS)
    second.start()
    try:
        assert asyncio.run(_pg_answers(second.url)) == 42
    finally:
        second.stop()
    assert not (tmp_path / "pg" / "data" / "postmaster.pid").exists()


def test_postgres_stale_pid_file_does_not_break_start(tmp_path: Path) -> None:
    server = LocalPostgres(tmp_path / "pg", tuned_for_tests=True, passwords_file=PASSWORDS)
    server.start()
    pid = int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)  # a machine crash: the pid file stays behind
    again = LocalPostgres(tmp_path / "pg", tuned_for_tests=True, passwords_file=PASSWORDS)
    again.start()
    try:
        assert asyncio.run(_pg_answers(again.url)) == 42
    finally:
        again.stop()


def test_postgres_restart_keeps_data_and_fresh_replaces_it(tmp_path: Path) -> None:
    server = LocalPostgres(tmp_path / "pg", tuned_for_tests=True, passwords_file=PASSWORDS)
    server.start()

    async def create() -> None:
        conn = await asyncpg.connect(server.url)
        await conn.execute("CREATE TABLE kept (x int)")
        await conn.close()

    async def has_table(url: str) -> bool:
        conn = await asyncpg.connect(url)
        try:
            return bool(await conn.fetchval("SELECT to_regclass('public.kept') IS NOT NULL"))
        finally:
            await conn.close()

    asyncio.run(create())
    server.stop()
    server.start()
    assert asyncio.run(has_table(server.url))
    server.stop()
    server.start(fresh=True)
    try:
        assert not asyncio.run(has_table(server.url))
    finally:
        server.stop()


def test_nats_left_running_by_a_killed_run_is_replaced(tmp_path: Path) -> None:
    first = LocalNats(tmp_path / "nats")
    first.start()
    old_pid = int(first.pid_file.read_text())
    second = LocalNats(tmp_path / "nats")  # a new run; `first` is never stopped
    second.start()
    try:
        assert old_pid != int(second.pid_file.read_text())

        async def jetstream_ok() -> bool:
            nc = await nats.connect(second.url)
            try:
                await nc.jetstream().account_info()
                return True
            finally:
                await nc.close()

        assert asyncio.run(jetstream_ok())
        assert not pid_alive(old_pid)
    finally:
        second.stop()
    assert not second.pid_file.exists()


def test_the_sweeper_stops_a_dead_runs_nested_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test process killed outright leaves a stack it started under its folder (the chaos
    run's services, PostgreSQL and NATS, one level down): the next session's sweep stops every
    one of them, services included, and removes the folder."""
    monkeypatch.setenv("ONEBUDGET_STATE_DIR", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that is no longer alive: the test process that died
    folder = tmp_path / f"test-{gone.pid}"
    bus = LocalNats(folder / "chaos" / "nats")
    bus.start()
    service = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "onebudget-probe-service"]
    )
    pids = folder / "chaos" / "pids"
    pids.mkdir(parents=True)
    (pids / "payment.pid").write_text(str(service.pid))
    marker = b"onebudget-probe-service"
    while marker not in Path(f"/proc/{service.pid}/cmdline").read_bytes():
        time.sleep(0.01)  # the child has exec'd: its command line is its own
    try:
        sweep_dead_test_infra()
        assert service.wait(timeout=15) is not None
        assert bus._process is not None
        assert bus._process.wait(timeout=15) is not None
        assert not folder.exists()
    finally:
        service.kill()
        bus.stop()
