"""The gRPC face of the reporting service: each RPC hands its request to a use case.

Errors are typed domain errors; the shared edge interceptor turns them into google.rpc.Status.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from onebudget.reporting.adapters.replica import read_lag_ms
from onebudget.reporting.service_layer.queries import ReportQueries
from onebudget.reporting.service_layer.rebuild import (
    ConsumerControl,
    read_model_status,
    rebuild,
    refuse_while_rebuilding,
)
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.reporting.v1 import reporting_service_pb2_grpc as api_grpc
from onebudget.shared.clock import SYSTEM_CLOCK, Clock

SERVICE_NAME = "onebudget.reporting.v1.ReportingService"
Context = Any  # grpc.aio.ServicerContext


READ_LAG_KEY = "x-onebudget-read-lag-ms"  # trailing metadata when reports come from a replica


class ReportingServicer(api_grpc.ReportingServiceServicer):
    def __init__(
        self,
        pool: asyncpg.Pool,
        consumers: ConsumerControl,
        *,
        reads: asyncpg.Pool | None = None,
        replica: bool = False,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._pool = pool
        self._reads = reads if reads is not None else pool
        self._replica = replica
        self._queries = ReportQueries(self._reads, clock)
        self._consumers = consumers

    async def _say_lag(self, context: Context) -> None:
        """On a replica, tell the caller how far behind the primary the figures may be (ms of
        WAL received but not yet replayed; 0 when replay has caught up with what arrived)."""
        if self._replica and context is not None:
            lag_ms = await read_lag_ms(self._reads)
            context.set_trailing_metadata(((READ_LAG_KEY, str(lag_ms)),))

    async def GetCommissionerSummary(
        self, request: api.GetCommissionerSummaryRequest, context: Context
    ) -> api.CommissionerSummary:
        await refuse_while_rebuilding(self._pool, self._consumers)
        answer = await self._queries.get_commissioner_summary(request)
        await self._say_lag(context)
        return answer

    async def GetCouncilSummary(
        self, request: api.GetCouncilSummaryRequest, context: Context
    ) -> api.CouncilSummary:
        await refuse_while_rebuilding(self._pool, self._consumers)
        answer = await self._queries.get_council_summary(request)
        await self._say_lag(context)
        return answer

    async def GetTargetStatus(
        self, request: api.GetTargetStatusRequest, context: Context
    ) -> api.TargetStatus:
        await refuse_while_rebuilding(self._pool, self._consumers)
        answer = await self._queries.get_target_status(request)
        await self._say_lag(context)
        return answer

    async def ExportQuarterlyReturn(
        self, request: api.ExportQuarterlyReturnRequest, context: Context
    ) -> api.QuarterlyReturn:
        await refuse_while_rebuilding(self._pool, self._consumers)
        answer = await self._queries.export_quarterly_return(request)
        await self._say_lag(context)
        return answer

    async def Reconcile(
        self, request: api.ReconcileRequest, context: Context
    ) -> api.Reconciliation:
        await refuse_while_rebuilding(self._pool, self._consumers)
        answer = await self._queries.reconcile(request)
        await self._say_lag(context)
        return answer

    async def RebuildReadModel(
        self, request: api.RebuildReadModelRequest, _: Context
    ) -> api.RebuildReadModelResponse:
        return await rebuild(self._pool, self._consumers, request)

    async def GetReadModelStatus(
        self, request: api.GetReadModelStatusRequest, _: Context
    ) -> api.ReadModelStatus:
        return await read_model_status(self._pool, self._consumers)
