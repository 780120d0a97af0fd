"""On 29 November the quarters not yet ended are provisional in every report (issue 16): the
target trend marks Q3 and Q4 (not "not met"), the summaries and the national return say so, and
`report quarterly` needs its quarter (help and behaviour agree) and names a preview as one."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from onebudget.cli import main
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.reporting.v1 import reporting_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.clock import FixedClock
from tests.conftest import StartService
from tests.integration.test_reporting_support import (
    YEAR,
    agreed_budget,
    caught_up,
    eligible_person,
    new_gss,
    new_ods,
    plan_line,
    setup_funders,
    start_stack,
)

TODAY = date(2026, 11, 29)


async def test_quarters_not_ended_are_provisional(
    start_service: StartService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    stack = await start_stack(start_service, payment=False)
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss)
    person = await eligible_person(stack, ods, gss)
    await agreed_budget(stack, person, ods, gss, [plan_line(1_000, (10_000, 0, 0))], nhs_only=True)
    await caught_up(stack)
    # A reporting service whose clock says 29 November 2026, reading the same read model.
    reporting = await start_service(REPORTING, clock=FixedClock.on(TODAY))
    async with open_aio_channel(reporting.address) as channel:
        report = api_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
        status = await report.GetTargetStatus(
            api.GetTargetStatusRequest(commissioner_ods_code=ods, financial_year=YEAR)
        )
        overall = status.targets[0]
        assert overall.provisional
        assert [p.provisional for p in overall.trend] == [False, False, True, True]
        for quarter, provisional in ((1, False), (2, False), (3, True), (4, True), (0, True)):
            summary = await report.GetCommissionerSummary(
                api.GetCommissionerSummaryRequest(
                    commissioner_ods_code=ods, financial_year=YEAR, quarter=quarter
                )
            )
            assert summary.provisional is provisional, quarter
            council = await report.GetCouncilSummary(
                api.GetCouncilSummaryRequest(
                    council_gss_code=gss, financial_year=YEAR, quarter=quarter
                )
            )
            assert council.provisional is provisional, quarter
        q4 = await report.ExportQuarterlyReturn(
            api.ExportQuarterlyReturnRequest(
                commissioner_ods_code=ods, financial_year=YEAR, quarter=4
            )
        )
        assert q4.provisional
        q2 = await report.ExportQuarterlyReturn(
            api.ExportQuarterlyReturnRequest(
                commissioner_ods_code=ods, financial_year=YEAR, quarter=2
            )
        )
        assert not q2.provisional

    monkeypatch.setenv("ONEBUDGET_REPORTING_ADDRESS", reporting.address)
    monkeypatch.chdir(tmp_path)
    common = ["--commissioner", ods, "--year", str(YEAR)]
    assert await asyncio.to_thread(main, ["report", "quarterly", *common, "--quarter", "4"]) == 0
    captured = capsys.readouterr()
    assert f"phb-return-{ods}-{YEAR}-Q4-provisional.csv" in captured.out
    assert "PROVISIONAL" in captured.out
    assert "has not ended" in captured.err
    assert (tmp_path / f"phb-return-{ods}-{YEAR}-Q4-provisional.csv").exists()
    assert await asyncio.to_thread(main, ["report", "quarterly", *common, "--quarter", "2"]) == 0
    assert (tmp_path / f"phb-return-{ods}-{YEAR}-Q2.csv").exists()
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["report", "target", *common]) == 0
    target = capsys.readouterr().out
    q4_rows = [line for line in target.splitlines() if " Q4 " in f" {line} "]
    assert q4_rows
    assert all("provisional" in line and " no " not in line for line in q4_rows)
    assert await asyncio.to_thread(main, ["report", "summary", *common, "--quarter", "4"]) == 0
    assert "PROVISIONAL" in capsys.readouterr().out
    await stack.close()


async def test_report_quarterly_needs_its_quarter(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["report", "quarterly", "--commissioner", "QNQ", "--year", "2026"],
        ["report", "quarterly", "--commissioner", "QNQ", "--year", "2026", "--quarter", "0"],
    ):
        with pytest.raises(SystemExit) as stopped:
            await asyncio.to_thread(main, argv)
        assert stopped.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert "--quarter" in err[-1]
        assert "Traceback" not in "\n".join(err)
    with pytest.raises(SystemExit):
        await asyncio.to_thread(main, ["report", "quarterly", "--help"])
    assert "1-4, the quarter of the return" in capsys.readouterr().out
