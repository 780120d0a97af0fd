"""`onebudget report ...` against a running reporting service: readable tables, a CSV file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from onebudget.cli import main
from onebudget.reporting.entrypoints.cli import DIFFERENCES_EXIT
from tests.conftest import StartService
from tests.integration.test_reporting_support import (
    YEAR,
    agreed_budget,
    caught_up,
    eligible_person,
    new_gss,
    new_ods,
    plan_line,
    pool_of,
    setup_funders,
    start_stack,
)

ADDRESS_ENV = "ONEBUDGET_REPORTING_ADDRESS"


async def test_report_commands_print_tables_and_write_the_return(
    start_service: StartService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    stack = await start_stack(start_service, payment=False)
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss, allocation=123_456_789, target_bp=500)
    person = await eligible_person(stack, ods, gss)
    await agreed_budget(
        stack, person, ods, gss, [plan_line(150_000, (10_000, 0, 0))], nhs_only=True
    )
    await caught_up(stack)
    monkeypatch.setenv(ADDRESS_ENV, stack.reporting.address)
    common = ["--commissioner", ods, "--year", str(YEAR)]

    assert await asyncio.to_thread(main, ["report", "summary", *common]) == 0
    out = capsys.readouterr().out
    assert "£1,234,567.89" in out
    assert "£1,500.00" in out
    assert "not met" in out
    assert await asyncio.to_thread(main, ["report", "target", *common]) == 0
    assert "Q4" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["report", "reconcile", *common]) == 0
    assert "no differences" in capsys.readouterr().out
    target = tmp_path / "q1.csv"
    assert (
        await asyncio.to_thread(
            main, ["report", "quarterly", *common, "--quarter", "1", "--out", str(target)]
        )
        == 0
    )
    assert target.read_text().startswith("ODS_CODE,FINANCIAL_YEAR,QUARTER")
    # `--out -` is standard output (it wrote a file named "-"): the CSV alone, so it can be
    # piped; where it went is said on stderr.
    quarterly_to_stdout = ["report", "quarterly", *common, "--quarter", "1", "--out", "-"]
    assert await asyncio.to_thread(main, quarterly_to_stdout) == 0
    printed = capsys.readouterr()
    # (The in-process services log to this test's stdout too: the CSV's lines are all there.)
    written = target.read_bytes().decode()
    assert written in printed.out
    assert "wrote standard output" not in printed.out
    assert "wrote standard output" in printed.err
    assert not await asyncio.to_thread(Path("-").exists)
    # A quarter that is not 0-4 is refused by the command itself, one line naming it.
    with pytest.raises(SystemExit) as refused:
        await asyncio.to_thread(main, ["report", "summary", *common, "--quarter", "7"])
    assert refused.value.code == 2
    assert "argument --quarter: 7 is not a whole number from 0 to 4" in capsys.readouterr().err
    # A read model that no longer agrees with the ledger: reconcile prints the difference and
    # exits non-zero, so a scheduled check cannot take it for a clean run (it exited 0).
    await pool_of(stack.reporting).execute(
        "UPDATE reporting.commitments SET nhs_pence = nhs_pence + 714"
    )
    assert await asyncio.to_thread(main, ["report", "reconcile", *common]) == DIFFERENCES_EXIT
    out = capsys.readouterr().out
    assert "£7.14" in out
    assert "differences" in out
    await stack.close()
