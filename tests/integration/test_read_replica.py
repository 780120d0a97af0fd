"""Reporting reads from a PostgreSQL streaming replica (issue 15, item 11): a hot standby of the
test server made with pg_basebackup over loopback. The projections keep writing to the primary;
the reports come from the replica, still reconcile with the ledger (read on the replica too,
in the same snapshot), and say how far behind they may be."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.allocation.v1 import allocation_service_pb2_grpc as al_grpc
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.entrypoints.grpc_servicer import READ_LAG_KEY
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.reporting.v1 import reporting_service_pb2_grpc as api_grpc
from onebudget.shared import db
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.runtime.infra import LocalInfra, project_state_dir
from onebudget.shared.runtime.postgres import LocalPostgres
from tests.conftest import StartService
from tests.integration.test_reporting_support import (
    YEAR,
    Stack,
    agreed_budget,
    caught_up,
    eligible_person,
    new_gss,
    new_ods,
    plan_line,
    setup_funders,
)

CATCH_UP_S = 60.0


@pytest.fixture
async def replica(infra: LocalInfra) -> AsyncIterator[LocalPostgres]:
    assert infra.postgres is not None, "needs the embedded server (not an external URL)"
    folder = project_state_dir() / f"test-{os.getpid()}" / f"replica-{uuid.uuid4().hex[:6]}"
    standby = LocalPostgres(folder, tuned_for_tests=True)
    await asyncio.to_thread(standby.start_replica_of, infra.postgres)
    try:
        yield standby
    finally:
        await asyncio.to_thread(standby.stop)


async def test_reports_come_from_the_replica_and_reconcile(
    start_service: StartService, replica: LocalPostgres
) -> None:
    allocation = await start_service(ALLOCATION)
    assert allocation.runtime is not None
    database = allocation.config.database_url.rpartition("/")[2]
    reporting = await start_service(
        REPORTING, read_database_url=db.database_url_for(replica.url, database)
    )
    assert reporting.runtime is not None
    assert await reporting.runtime.reads.fetchval("SELECT pg_is_in_recovery()") is True
    assert await reporting.runtime.pool.fetchval("SELECT pg_is_in_recovery()") is False
    channels = [open_aio_channel(h.address) for h in (allocation, reporting)]
    stack = Stack(
        allocation=allocation,
        payment=None,
        reporting=reporting,
        alloc=al_grpc.AllocationServiceStub(channels[0]),  # type: ignore[no-untyped-call]
        pay=None,
        report=api_grpc.ReportingServiceStub(channels[1]),  # type: ignore[no-untyped-call]
        channels=channels,
    )
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss, allocation=50_000_000, target_bp=500)
    person = await eligible_person(stack, ods, gss)
    await agreed_budget(
        stack, person, ods, gss, [plan_line(123_400, (10_000, 0, 0))], nhs_only=True
    )
    await caught_up(stack)
    # Wait until the replica has replayed everything the primary has written so far (its
    # schema included: a report asked of a replica that has not replayed the tables would fail).
    written = await allocation.runtime.pool.fetchval("SELECT pg_current_wal_lsn()::text")
    for _ in range(int(CATCH_UP_S * 10)):
        replayed = await reporting.runtime.reads.fetchval(
            "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", written
        )
        if replayed:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the replica never replayed what the primary wrote")

    # The replica shows what the primary's projections wrote once it has replayed it.
    deadline = asyncio.get_running_loop().time() + CATCH_UP_S
    while True:
        call = stack.report.Reconcile(
            api.ReconcileRequest(commissioner_ods_code=ods, financial_year=YEAR)
        )
        result = await call
        trailing = dict(await call.trailing_metadata() or ())
        summary = await stack.report.GetCommissionerSummary(
            api.GetCommissionerSummaryRequest(commissioner_ods_code=ods, financial_year=YEAR)
        )
        if result.reconciled and summary.nhs_agreed_pence == 123_400:
            break
        assert asyncio.get_running_loop().time() < deadline, "the replica never caught up"
        await asyncio.sleep(0.2)
    assert int(trailing[READ_LAG_KEY]) >= 0
    assert result.figures_checked > 0

    # The reads really are the replica's: without it, reports are unavailable (retry later),
    # while the primary still takes the projections.
    await asyncio.to_thread(replica.stop, mode="immediate")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.report.GetCommissionerSummary(
            api.GetCommissionerSummaryRequest(commissioner_ods_code=ods, financial_year=YEAR)
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    await stack.close()
