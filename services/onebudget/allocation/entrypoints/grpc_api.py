"""The gRPC servicer: each RPC hands its request to a service-layer handler."""

from __future__ import annotations

from typing import Any

import asyncpg

from onebudget.allocation.service_layer import allocations, budgets
from onebudget.allocation.service_layer.importing import BudgetsImport
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.allocation.v1 import allocation_service_pb2_grpc as pb_grpc
from onebudget.shared.clock import Clock
from onebudget.shared.policy import CategoryPolicy

Context = Any  # grpc.aio.ServicerContext


class AllocationServicer(pb_grpc.AllocationServiceServicer):
    def __init__(self, pool: asyncpg.Pool, clock: Clock, policy: CategoryPolicy) -> None:
        """`clock.today()` (England's date) dates agreements, ends and year closes; `policy`
        refuses plan lines of excluded categories."""
        self._pool = pool
        self._today = clock.today
        self._policy = policy
        self._import = BudgetsImport(pool, clock.today, policy)

    async def RegisterCommissioner(
        self, request: pb.RegisterCommissionerRequest, _context: Context
    ) -> pb.Commissioner:
        return await allocations.register_commissioner(self._pool, request)

    async def RegisterCouncil(
        self, request: pb.RegisterCouncilRequest, _context: Context
    ) -> pb.Council:
        return await allocations.register_council(self._pool, request)

    async def SetCommissionerAllocation(
        self, request: pb.SetCommissionerAllocationRequest, _context: Context
    ) -> pb.CommissionerAllocation:
        return await allocations.set_commissioner_allocation(self._pool, request)

    async def GetCommissionerAllocation(
        self, request: pb.GetCommissionerAllocationRequest, _context: Context
    ) -> pb.CommissionerAllocation:
        return await allocations.get_commissioner_allocation(self._pool, request)

    async def SetCouncilAllocation(
        self, request: pb.SetCouncilAllocationRequest, _context: Context
    ) -> pb.CouncilAllocation:
        return await allocations.set_council_allocation(self._pool, request)

    async def CloseFinancialYear(
        self, request: pb.CloseFinancialYearRequest, _context: Context
    ) -> pb.CommissionerAllocation:
        return await allocations.close_financial_year(self._pool, request, self._today)

    async def CreateBudget(self, request: pb.CreateBudgetRequest, _context: Context) -> pb.Budget:
        return await budgets.create_budget(self._pool, request)

    async def GetBudget(self, request: pb.GetBudgetRequest, _context: Context) -> pb.Budget:
        return await budgets.get_budget(self._pool, request)

    async def ListBudgets(
        self, request: pb.ListBudgetsRequest, _context: Context
    ) -> pb.ListBudgetsResponse:
        return await budgets.list_budgets(self._pool, request)

    async def AddPlanLine(self, request: pb.AddPlanLineRequest, _context: Context) -> pb.Budget:
        return await budgets.add_plan_line(self._pool, request, self._policy)

    async def RemovePlanLine(
        self, request: pb.RemovePlanLineRequest, _context: Context
    ) -> pb.Budget:
        return await budgets.remove_plan_line(self._pool, request)

    async def AgreeBudget(self, request: pb.AgreeBudgetRequest, _context: Context) -> pb.Budget:
        return await budgets.agree_budget(self._pool, request, self._today, self._policy)

    async def ReviseBudget(self, request: pb.ReviseBudgetRequest, _context: Context) -> pb.Budget:
        return await budgets.revise_budget(self._pool, request, self._policy)

    async def EndBudget(self, request: pb.EndBudgetRequest, _context: Context) -> pb.Budget:
        return await budgets.end_budget(self._pool, request, self._today)

    async def ImportBudgets(
        self, request: pb.ImportBudgetsRequest, _context: Context
    ) -> pb.ImportBudgetsResponse:
        return await self._import.import_budgets(request)
