"""`onebudget people ...` and `onebudget eligibility ...` against a running service."""

from __future__ import annotations

import asyncio

import pytest

from onebudget.cli import main
from onebudget.entitlement.entrypoints.app import SPEC
from tests.conftest import StartService
from tests.integration.test_entitlement_support import new_nhs_number


async def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    # The CLI is synchronous; the service runs on this loop, so the CLI gets a thread.
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_people_and_eligibility_commands(
    start_service: StartService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host = await start_service(SPEC)
    monkeypatch.setenv("ONEBUDGET_ENTITLEMENT_ADDRESS", host.address)
    nhs = new_nhs_number()
    code, out, _ = await _run(
        capsys,
        *("people", "register", "--nhs-number", nhs, "--given-name", "Grace"),
        *("--family-name", "Hopper", "--date-of-birth", "1950-12-09"),
        *("--commissioner", "QNQ", "--council", "E06000001"),
    )
    assert code == 0
    assert "PERSON ID" in out
    # The service logs to this process's stdout too: find the table row by its NHS number.
    [row] = [line for line in out.splitlines() if f" {nhs} " in line]
    person_id = row.split()[0]
    code, out, _ = await _run(capsys, "people", "show", person_id)
    assert (code, "Grace Hopper" in out) == (0, True)
    code, out, _ = await _run(capsys, "people", "list", "--commissioner", "QNQ")
    assert person_id in out
    code, out, _ = await _run(
        capsys,
        *("eligibility", "record", person_id, "--category", "CHC"),
        *("--decided-on", "2024-04-02", "--deciding-body", "QNQ CHC panel"),
    )
    assert (code, "GRANTED" in out) == (0, True)
    code, out, _ = await _run(capsys, "eligibility", "list", person_id)
    assert "QNQ CHC panel" in out
    code, _, err = await _run(
        capsys,
        *("eligibility", "record", person_id, "--category", "WHEELCHAIR", "--refused"),
        *("--decided-on", "2024-04-02", "--deciding-body", "panel"),
    )
    assert code == 1
    assert "INVALID_ARGUMENT" in err
    assert "reasons:" in err
