"""A report reads payments summed per period in PostgreSQL (read_model.payments_by_period, issue
17: a commissioner's summary with 2 million payments must not load each one), and every total a
figure takes of them is the total of the payments themselves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onebudget.reporting.adapters import read_model
from onebudget.reporting.domain import figures, periods
from onebudget.reporting.domain.model import Budget, Movement, Stream
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from tests.conftest import StartService

YEAR = 2026
BUDGETS = [str(uuid.UUID(int=n)) for n in range(1, 4)]
OTHER_BUDGET = str(uuid.UUID(int=99))  # not asked for: its payments are in no sum


def _budget(budget_id: str) -> Budget:
    return Budget(
        budget_id=budget_id,
        person_id=budget_id,
        commissioner="QNQ",
        council="E10000015",
        year=YEAR,
        cohort="",
        child=False,
        start_date=None,
        end_date=None,
        agreed_on=None,
        ended_on=None,
        nhs_options=frozenset(),
        council_options=frozenset(),
        date_of_birth=None,
    )


# Days around the year and on each side of every cutoff (the boundaries are where a wrong
# bucket would show), signed pence as paid (+) and returned (-).
_cutoff_days = [c + timedelta(days=d) for c in periods.cutoffs(YEAR) for d in (-1, 0, 1)]
days = st.one_of(
    st.sampled_from(_cutoff_days),
    st.dates(date(YEAR - 1, 1, 1), date(YEAR + 2, 12, 31)),
)
pence = st.integers(-50_000, 1_000_000)
movements = st.lists(
    st.builds(
        Movement,
        st.sampled_from([*BUDGETS, OTHER_BUDGET]),
        days,
        pence,
        pence,
        pence,
    ),
    max_size=40,
)


@pytest.fixture
async def conn(start_service: StartService) -> AsyncIterator[asyncpg.Connection]:
    host = await start_service(REPORTING)
    assert host.runtime is not None
    async with host.runtime.pool.acquire() as connection:
        yield connection


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(paid=movements)
async def test_sums_per_period_give_every_total_of_the_payments(
    conn: asyncpg.Connection, paid: list[Movement]
) -> None:
    async with conn.transaction():
        await conn.execute("DELETE FROM reporting.payment_moves")
        for n, m in enumerate(paid):
            await read_model.put_payment_move(conn, f"paid:{n}", "paid", m)
        summed = await read_model.payments_by_period(conn, [_budget(b) for b in BUDGETS], YEAR)
    assert len(summed) <= len(periods.cutoffs(YEAR)) + 1
    assert all(m.budget_id == "" for m in summed)  # a sum names no budget
    mine = [m for m in paid if m.budget_id in BUDGETS]
    for stream in Stream:
        for until in (*periods.cutoffs(YEAR), None):
            assert figures.total(summed, stream, until=until) == figures.total(
                mine, stream, until=until
            ), (stream, until)
