"""The report use cases: validate, read the facts, compute in the domain, map to messages.

Reads run in one REPEATABLE READ, read-only transaction, so every figure of one answer comes from
the same snapshot of the read model (and, for Reconcile, of the ledger).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from onebudget.reporting.adapters import ledger_reads, read_model
from onebudget.reporting.domain import errors, figures, periods, quarterly
from onebudget.reporting.domain.model import Allocation
from onebudget.reporting.service_layer import mapping, validation
from onebudget.reporting.v1 import reporting_service_pb2 as api
from onebudget.shared.clock import SYSTEM_CLOCK, Clock
from onebudget.shared.errors import Violations
from onebudget.shared.identity import current_actor
from onebudget.shared.metrics import observe_reconciliation
from onebudget.shared.permissions import check_scope


class ReportQueries:
    def __init__(self, pool: asyncpg.Pool, clock: Clock = SYSTEM_CLOCK) -> None:
        """`clock` gives England's date that says whether a period has ended (provisional)."""
        self._pool = pool
        self._clock = clock

    def _provisional(self, year: int, quarter: int) -> bool:
        return periods.is_provisional(year, quarter, self._clock.today())

    @asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[asyncpg.Connection]:
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield conn

    async def commissioner_figures(
        self, conn: asyncpg.Connection, ods: str, year: int, quarter: int
    ) -> figures.CommissionerFigures:
        allocation = await _allocation(conn, ods, year)
        facts = await read_model.budget_facts(conn, year=year, commissioner=ods)
        paid = await read_model.payments_by_period(conn, facts.budgets, year)
        return figures.commissioner_figures(
            allocation, facts.budgets, facts.commitments, paid, quarter, facts.nhs_draws
        )

    async def get_commissioner_summary(
        self, request: api.GetCommissionerSummaryRequest
    ) -> api.CommissionerSummary:
        v = Violations()
        validation.check_ods(request.commissioner_ods_code, v)
        validation.check_year(request.financial_year, v)
        validation.check_quarter(request.quarter, v)
        v.raise_if_any()
        # Each commissioner's (council's) figures only for its own staff (issue 14).
        check_scope(current_actor(), [request.commissioner_ods_code])
        async with self._snapshot() as conn:
            found = await self.commissioner_figures(
                conn, request.commissioner_ods_code, request.financial_year, request.quarter
            )
        answer = mapping.commissioner_summary(found)
        answer.provisional = self._provisional(request.financial_year, request.quarter)
        return answer

    async def get_council_summary(
        self, request: api.GetCouncilSummaryRequest
    ) -> api.CouncilSummary:
        v = Violations()
        validation.check_gss(request.council_gss_code, v)
        validation.check_year(request.financial_year, v)
        validation.check_quarter(request.quarter, v)
        v.raise_if_any()
        # Each commissioner's (council's) figures only for its own staff (issue 14).
        check_scope(current_actor(), [request.council_gss_code])
        gss, year = request.council_gss_code, request.financial_year
        async with self._snapshot() as conn:
            pot = await read_model.get_council_pot(conn, gss, year)
            if pot is None:
                raise errors.council_not_found(gss, year)
            facts = await read_model.budget_facts(conn, year=year, council=gss)
            paid = await read_model.payments_by_period(conn, facts.budgets, year)
        answer = mapping.council_summary(
            figures.council_figures(pot, facts.budgets, facts.commitments, paid, request.quarter)
        )
        answer.provisional = self._provisional(year, request.quarter)
        return answer

    async def get_target_status(self, request: api.GetTargetStatusRequest) -> api.TargetStatus:
        v = Violations()
        validation.check_ods(request.commissioner_ods_code, v)
        validation.check_year(request.financial_year, v)
        v.raise_if_any()
        # Each commissioner's (council's) figures only for its own staff (issue 14).
        check_scope(current_actor(), [request.commissioner_ods_code])
        ods, year = request.commissioner_ods_code, request.financial_year
        async with self._snapshot() as conn:
            allocation = await _allocation(conn, ods, year)
            facts = await read_model.budget_facts(conn, year=year, commissioner=ods)
        targets = figures.target_status(allocation, facts.budgets, facts.commitments)
        return mapping.target_status(
            ods, year, allocation.allocation_pence, targets, self._clock.today()
        )

    async def export_quarterly_return(
        self, request: api.ExportQuarterlyReturnRequest
    ) -> api.QuarterlyReturn:
        v = Violations()
        validation.check_ods(request.commissioner_ods_code, v)
        validation.check_year(request.financial_year, v)
        validation.check_quarter(request.quarter, v, whole_year_allowed=False)
        v.raise_if_any()
        # Each commissioner's (council's) figures only for its own staff (issue 14).
        check_scope(current_actor(), [request.commissioner_ods_code])
        async with self._snapshot() as conn:
            found = await self.commissioner_figures(
                conn, request.commissioner_ods_code, request.financial_year, request.quarter
            )
        return api.QuarterlyReturn(
            csv=quarterly.to_csv(found),
            file_name=quarterly.file_name(found),
            columns=list(quarterly.COLUMNS),
            provisional=self._provisional(request.financial_year, request.quarter),
        )

    async def reconcile(self, request: api.ReconcileRequest) -> api.Reconciliation:
        v = Violations()
        validation.check_ods(request.commissioner_ods_code, v)
        validation.check_year(request.financial_year, v)
        v.raise_if_any()
        # Each commissioner's (council's) figures only for its own staff (issue 14).
        check_scope(current_actor(), [request.commissioner_ods_code])
        ods, year = request.commissioner_ods_code, request.financial_year
        async with self._snapshot() as conn:
            found = await self.commissioner_figures(conn, ods, year, 0)
            ledger = await ledger_reads.commissioner_money(conn, ods, year)
        reported = figures.money_figures(found)
        diffs = figures.differences(reported, ledger)
        observe_reconciliation(ods, year, len(diffs))
        return api.Reconciliation(
            commissioner_ods_code=ods,
            financial_year=year,
            figures_checked=len(reported.keys() | ledger.keys()),
            differences=[
                api.FigureDifference(
                    figure=d.figure,
                    reported_pence=d.reported_pence,
                    ledger_pence=d.ledger_pence,
                    difference_pence=d.difference_pence,
                )
                for d in diffs
            ],
            reconciled=not diffs,
        )


async def _allocation(conn: asyncpg.Connection, ods: str, year: int) -> Allocation:
    allocation = await read_model.get_allocation(conn, ods, year)
    if allocation is not None:
        return allocation
    if not await read_model.commissioner_known(conn, ods):
        raise errors.commissioner_not_found(ods)
    raise errors.allocation_not_found(ods, year)
