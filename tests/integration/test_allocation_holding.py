"""How a budget may be held, through allocation's API (issue 13 items 8 and 10): a plan line's
payee kind agrees with its management option; agreement, revision-notice and end dates: an
agreement dated 2031 on a 2026-27 budget made the whole year and its Q4 disagree; notices dated
2019 and 2099 were accepted. Each is refused FAILED_PRECONDITION DATE_OUTSIDE_BUDGET_PERIOD and
moves nothing; a date inside the window is taken."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import grpc
import pytest

from onebudget.allocation.entrypoints.app import SPEC
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.allocation.v1 import allocation_service_pb2_grpc as pb_grpc
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.server import ServiceHost
from tests.conftest import StartService
from tests.integration.test_allocation_api import (
    add,
    eligible_person,
    line,
    money_snapshot,
    new_budget,
    pool_of,
    refused,
    rid,
    setup_funders,
)


@pytest.fixture
async def host(start_service: StartService) -> ServiceHost:
    return await start_service(SPEC)


@pytest.fixture
async def stub(host: ServiceHost) -> AsyncIterator[pb_grpc.AllocationServiceStub]:
    async with open_aio_channel(host.address) as channel:
        yield pb_grpc.AllocationServiceStub(channel)  # type: ignore[no-untyped-call]


async def test_a_plan_line_is_paid_as_its_money_is_held(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Before: a direct-payment line allowing a provider (and a notional line paying the person)
    was planned and agreed, then no payment could follow its plan (issue 13 item 8)."""
    await setup_funders(stub)
    budget = await new_budget(stub, await eligible_person(pool_of(host)))
    for option, kind in (
        (pb.MANAGEMENT_OPTION_DIRECT_PAYMENT, pb.PAYEE_KIND_PROVIDER),
        (pb.MANAGEMENT_OPTION_NOTIONAL, pb.PAYEE_KIND_PERSON),
    ):
        bad = line()
        bad.management_option = option
        bad.allowed_payee_kind = kind
        _, fields = await refused(
            stub.AddPlanLine(
                pb.AddPlanLineRequest(request_id=rid(), budget_id=budget.budget_id, line=bad)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert fields == ["line.allowed_payee_kind"]
    good = await add(stub, budget.budget_id, line())
    assert good.plan_lines[0].allowed_payee_kind == pb.PAYEE_KIND_PERSON


async def test_dates_outside_the_budgets_window_are_refused(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool))
    await add(stub, budget.budget_id, line())
    before = await money_snapshot(pool)
    for day in ("2031-05-01", "2024-03-31"):
        reason, _ = await refused(
            stub.AgreeBudget(
                pb.AgreeBudgetRequest(request_id=rid(), budget_id=budget.budget_id, agreed_on=day)
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert reason == "DATE_OUTSIDE_BUDGET_PERIOD"
    assert await money_snapshot(pool) == before  # nothing agreed, no money moved
    agreed = await stub.AgreeBudget(
        pb.AgreeBudgetRequest(request_id=rid(), budget_id=budget.budget_id, agreed_on="2026-05-01")
    )
    assert agreed.agreed_on == "2026-05-01"
    for notice in ("2019-06-01", "2099-12-31"):
        reason, _ = await refused(
            stub.ReviseBudget(
                pb.ReviseBudgetRequest(
                    request_id=rid(),
                    budget_id=budget.budget_id,
                    reasons=["more visits needed"],
                    notice_date=notice,
                    add_lines=[line(cost=1_000, occurrences=1)],
                )
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert reason == "DATE_OUTSIDE_BUDGET_PERIOD"
    revised = await stub.ReviseBudget(
        pb.ReviseBudgetRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            reasons=["more visits needed"],
            notice_date="2026-06-01",
            add_lines=[line(cost=1_000, occurrences=1)],
        )
    )
    assert revised.revision == 1
    reason, _ = await refused(
        stub.EndBudget(
            pb.EndBudgetRequest(
                request_id=rid(),
                budget_id=budget.budget_id,
                ended_on="2027-06-01",
                reasons=["needs met"],
                notice_date="2026-06-01",
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "DATE_OUTSIDE_BUDGET_PERIOD"
    # Found trying the stack: an end before the budget began, and a notice dated in the future
    # (which ended the budget at once), were both taken. A second input of each kind.
    start = date.fromisoformat(agreed.start_date)
    for end in (start - timedelta(days=1), date(2026, 3, 1)):
        reason, _ = await refused(
            stub.EndBudget(
                pb.EndBudgetRequest(
                    request_id=rid(),
                    budget_id=budget.budget_id,
                    ended_on=end.isoformat(),
                    reasons=["needs met"],
                    notice_date="2025-06-01",
                )
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert reason == "DATE_OUTSIDE_BUDGET_PERIOD"
    for ahead in (SYSTEM_CLOCK.today() + timedelta(days=1), date(2099, 1, 1)):
        _, fields = await refused(
            stub.EndBudget(
                pb.EndBudgetRequest(
                    request_id=rid(),
                    budget_id=budget.budget_id,
                    ended_on="2099-12-31",
                    reasons=["needs met"],
                    notice_date=ahead.isoformat(),
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert "notice_date" in fields
    ended = await stub.EndBudget(
        pb.EndBudgetRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            ended_on="2026-12-01",
            reasons=["needs met"],
            notice_date="2026-06-01",
        )
    )
    assert ended.status == pb.BUDGET_STATUS_ENDED
