"""The gRPC face of the reporting service: each RPC hands its request to a use case.

Errors are typed domain errors; the shared edge interceptor turns them into google.rpc.Status.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from onebudget.reporting.service_layer.queries import ReportQueries
from onebudget.reporting.service_layer.rebuild import ConsumerControl, rebuild
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.reporting.v1 import reporting_service_pb2_grpc as api_grpc

SERVICE_NAME = "onebudget.reporting.v1.ReportingService"
Context = Any  # grpc.aio.ServicerContext


class ReportingServicer(api_grpc.ReportingServiceServicer):
    def __init__(self, pool: asyncpg.Pool, consumers: ConsumerControl) -> None:
        self._pool = pool
        self._queries = ReportQueries(pool)
        self._consumers = consumers

    async def GetCommissionerSummary(
        self, request: api.GetCommissionerSummaryRequest, _: Context
    ) -> api.CommissionerSummary:
        return await self._queries.get_commissioner_summary(request)

    async def GetCouncilSummary(
        self, request: api.GetCouncilSummaryRequest, _: Context
    ) -> api.CouncilSummary:
        return await self._queries.get_council_summary(request)

    async def GetTargetStatus(
        self, request: api.GetTargetStatusRequest, _: Context
    ) -> api.TargetStatus:
        return await self._queries.get_target_status(request)

    async def ExportQuarterlyReturn(
        self, request: api.ExportQuarterlyReturnRequest, _: Context
    ) -> api.QuarterlyReturn:
        return await self._queries.export_quarterly_return(request)

    async def Reconcile(self, request: api.ReconcileRequest, _: Context) -> api.Reconciliation:
        return await self._queries.reconcile(request)

    async def RebuildReadModel(
        self, request: api.RebuildReadModelRequest, _: Context
    ) -> api.RebuildReadModelResponse:
        return await rebuild(self._pool, self._consumers, request)
