"""The short chaos run (scripts/chaos is the long one): PostgreSQL crashed, NATS killed -9 and
each of the four services killed -9 in turn, under a payment load. Nothing lost, nothing twice,
every count matching, every part back by itself, the reports reconciled."""

from __future__ import annotations

import os
from pathlib import Path

from onebudget.chaos.run import run_chaos


def _failures_logged(logs: str) -> str:
    """The services' own account of an unexpected answer (their `rpc_failed` lines, with the
    traceback), so a failure here says why, not only that (the folder is swept after the run)."""
    if not logs:
        return "(no logs kept)"
    found = [
        line
        for log in sorted(Path(logs).glob("*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if "rpc_failed" in line or "Traceback" in line or "Error" in line
    ]
    return "\n".join(found[-40:]) or f"(nothing logged as failed in {logs})"


async def test_every_part_crashes_in_turn_and_nothing_is_lost_or_duplicated() -> None:
    report = await run_chaos(
        name=f"test-{os.getpid()}/chaos", people=12, in_flight=4, phase_s=1.0, down_s=1.0
    )
    print(report.markdown())
    assert report.unexpected_errors == [], _failures_logged(report.logs)
    assert [f.part for f in report.faults] == [
        "postgresql",
        "nats",
        "entitlement service",
        "allocation service",
        "payment service",
        "reporting service",
    ]
    assert all(f.resumed_after_s is not None for f in report.faults), report.faults
    assert report.payments_ok > 0
    assert report.retries > 0  # the faults were felt (else this test proves nothing)
    assert report.lost == 0
    assert report.duplicated == 0
    assert report.pence_told == report.pence_in_rows == report.pence_in_ledger
    assert report.events.keys() == {"ENTITLEMENT", "ALLOCATION", "PAYMENT"}
    for stream, (messages, rows) in report.events.items():
        assert messages == rows, stream
    assert report.reconciled
    assert report.clean
