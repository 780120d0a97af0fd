"""Reports say they are rebuilding rather than showing partial figures (issue 16): from a
RebuildReadModel until every consumer has replayed what its stream held, each report answers
UNAVAILABLE READ_MODEL_REBUILDING with the progress; `report rebuild` shows the progress and
ends when the reports are current."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

from onebudget.cli import main
from onebudget.reporting.domain.errors import READ_MODEL_REBUILDING
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.service_layer.rebuild import (
    read_model_status,
    rebuild,
    refuse_while_rebuilding,
)
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.shared.errors import Unavailable
from tests.conftest import StartService
from tests.integration.test_reporting_support import (
    agreed_budget,
    caught_up,
    eligible_person,
    error_of,
    new_gss,
    new_ods,
    plan_line,
    pool_of,
    setup_funders,
    start_stack,
    summary,
)


class SlowReplay:
    """A ConsumerControl whose consumers have replayed `applied` of 40 events per stream."""

    def __init__(self) -> None:
        self.applied = 0

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        yield

    async def reset(self) -> list[str]:
        return ["reporting-allocation", "reporting-payment"]

    async def first_sequences(self) -> dict[str, int]:
        return {"ALLOCATION": 1, "PAYMENT": 1}

    async def last_sequences(self) -> dict[str, int]:
        return {"ALLOCATION": 40, "PAYMENT": 40}

    async def replay_positions(self) -> dict[str, tuple[int, bool]]:
        return {s: (self.applied, self.applied >= 40) for s in ("ALLOCATION", "PAYMENT")}


async def test_reports_are_refused_with_the_progress_until_the_replay_is_done(
    start_service: StartService,
) -> None:
    host = await start_service(REPORTING)
    pool = pool_of(host)
    control = SlowReplay()
    await rebuild(pool, control, api.RebuildReadModelRequest(request_id=str(uuid.uuid4())))
    for applied, said in ((0, "0 of 80 events replayed (0%)"), (30, "60 of 80 events")):
        control.applied = applied
        with pytest.raises(Unavailable) as refused:
            await refuse_while_rebuilding(pool, control)
        assert refused.value.reason == READ_MODEL_REBUILDING
        assert said in refused.value.message
        status = await read_model_status(pool, control)
        assert status.rebuilding
        assert (status.applied_events, status.total_events) == (applied * 2, 80)
    control.applied = 40
    await refuse_while_rebuilding(pool, control)  # done: the reports answer again
    assert not (await read_model_status(pool, control)).rebuilding
    control.applied = 0  # a finished rebuild is forgotten, not judged again
    await refuse_while_rebuilding(pool, control)


async def test_report_rebuild_shows_progress_and_ends_current(
    start_service: StartService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = await start_stack(start_service, payment=False)
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss)
    person = await eligible_person(stack, ods, gss)
    await agreed_budget(stack, person, ods, gss, [plan_line(1_000, (10_000, 0, 0))], nhs_only=True)
    await caught_up(stack)
    before = await summary(stack, ods)
    monkeypatch.setenv("ONEBUDGET_REPORTING_ADDRESS", stack.reporting.address)
    assert await asyncio.to_thread(main, ["report", "rebuild"]) == 0
    captured = capsys.readouterr()
    assert "read model wiped; replaying" in captured.err
    # Off a terminal (captured): plain progress lines, the last with the count and the rate.
    assert re.search(r"^replaying: done, [\d,]+ events in [\d.]+ s", captured.err, re.M)
    assert "\r" not in captured.err
    assert "\nrebuilt: " in captured.out
    assert "the reports are current" in captured.out
    status = await stack.report.GetReadModelStatus(api.GetReadModelStatusRequest())
    assert not status.rebuilding
    assert await summary(stack, ods) == before

    # --no-wait returns at once; a report asked straight after is refused, not partial.
    assert await asyncio.to_thread(main, ["report", "rebuild", "--no-wait"]) == 0
    capsys.readouterr()
    try:
        during = await summary(stack, ods)
    except grpc.aio.AioRpcError as error:
        code, reason, _ = error_of(error)
        assert (code, reason) == (grpc.StatusCode.UNAVAILABLE, READ_MODEL_REBUILDING)
    else:  # the replay of a few events may already be over: then the figures are whole
        assert during == before
    await caught_up(stack)
    await stack.close()
