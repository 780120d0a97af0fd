"""Issue 13, funding (items 1-3), through allocation's gRPC API on a real PostgreSQL and NATS.

Each reproduction from the issue is a test here (the set-up: a commissioner with an allocation and
a PHB target, a council with a pot, a person with a granted eligibility; "line" = 10,000p x 10,
NHS 100%, notional, paid to a provider):
1. the PHB target is a floor: NHS money comes from the cohort's ring-fence, then the general
   ring-fence, then the general allocation, and goes back to where it came from;
2. the person pays no more than assessed, and never towards NHS care;
3. adult CHC is NHS-only.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import grpc

from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.allocation.v1 import allocation_service_pb2_grpc as pb_grpc
from onebudget.events.v1 import allocation_pb2 as ev
from onebudget.events.v1 import entitlement_pb2 as ent
from onebudget.events.v1 import envelope_pb2
from onebudget.shared.server import ServiceHost
from tests.integration.test_allocation_api import (
    GSS,
    ODS,
    add,
    agree,
    eligible_person,
    host,
    money_snapshot,
    new_budget,
    outbox_count,
    pool_of,
    refused,
    rid,
    setup_funders,
    stub,
)

__all__ = ["host", "stub"]  # the fixtures, used by name

CHC = ent.ELIGIBILITY_CATEGORY_CHC
LTC = ent.ELIGIBILITY_CATEGORY_LONG_TERM_CONDITION
MH = ent.ELIGIBILITY_CATEGORY_MENTAL_HEALTH
JOINT = ent.ELIGIBILITY_CATEGORY_JOINT_PACKAGE
FAILED = grpc.StatusCode.FAILED_PRECONDITION


def line(
    cost: int = 10_000, occurrences: int = 10, split: tuple[int, int, int] = (10_000, 0, 0)
) -> pb.PlanLineInput:
    """The issue's line: 10,000p x 10, NHS 100%, notional, paid to a provider."""
    return pb.PlanLineInput(
        description="Community nursing",
        category="nursing_care",
        cost_per_occurrence_pence=cost,
        frequency=pb.FREQUENCY_WEEKLY,
        occurrences=occurrences,
        split=pb.FundingSplit(
            nhs_basis_points=split[0], council_basis_points=split[1], client_basis_points=split[2]
        ),
        management_option=pb.MANAGEMENT_OPTION_NOTIONAL,
        allowed_payee_kind=pb.PAYEE_KIND_PROVIDER,
    )


async def balance(pool: asyncpg.Pool, account_id: Any) -> int:
    value = await pool.fetchval(
        "SELECT credits_posted - debits_posted FROM ledger.accounts WHERE id = $1",
        account_id if isinstance(account_id, uuid.UUID) else uuid.UUID(account_id),
    )
    return int(value)


async def funded_from(pool: asyncpg.Pool, budget: pb.Budget) -> dict[str, int]:
    """Net NHS pence each source account put into the budget, by the source's ledger kind and
    owner, from the ledger's transfers."""
    nhs = next(s for s in budget.streams if s.funding_stream == pb.FUNDING_STREAM_NHS)
    rows = await pool.fetch(
        "SELECT a.kind || ':' || a.owner AS source,"
        " sum(CASE WHEN t.credit_account_id = $1 THEN t.amount ELSE -t.amount END) AS pence"
        " FROM ledger.transfers t JOIN ledger.accounts a"
        " ON a.id = CASE WHEN t.credit_account_id = $1 THEN t.debit_account_id"
        " ELSE t.credit_account_id END"
        " WHERE $1 IN (t.credit_account_id, t.debit_account_id) AND t.funding GROUP BY 1",
        uuid.UUID(nhs.account_id),
    )
    return {r["source"]: int(r["pence"]) for r in rows if r["pence"]}


async def last_event(pool: asyncpg.Pool, kind: type[Any]) -> Any:
    rows = await pool.fetch("SELECT envelope FROM allocation.outbox ORDER BY seq DESC")
    for row in rows:
        envelope = envelope_pb2.EventEnvelope.FromString(bytes(row["envelope"]))
        message = kind()
        if envelope.payload.Is(message.DESCRIPTOR):
            envelope.payload.Unpack(message)
            return message
    raise AssertionError(f"no {kind.__name__} in the outbox")


async def nhs_budget(
    stub: pb_grpc.AllocationServiceStub, pool: asyncpg.Pool, pence: int, category: Any
) -> pb.Budget:
    """An agreed budget of `pence` NHS money for a new person of `category`."""
    budget = await new_budget(stub, await eligible_person(pool, category))
    await add(stub, budget.budget_id, line(cost=pence, occurrences=1))
    return await agree(stub, budget.budget_id)


# -- 1. the PHB target is a floor, not a ceiling --------------------------------------------------


async def test_a_target_of_zero_still_funds_a_chc_phb_from_the_allocation(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Reproduction: phb_target_basis_points 0 refused one CHC PHB (RING_FENCE_EXHAUSTED) while
    £1m sat unspent."""
    allocation = await setup_funders(stub, allocation=100_000_000, target_bp=0)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool, CHC))
    await add(stub, budget.budget_id, line())
    agreed = await agree(stub, budget.budget_id)
    assert agreed.status == pb.BUDGET_STATUS_AGREED
    assert await funded_from(pool, agreed) == {f"allocation:{ODS}": 100_000}
    assert await balance(pool, allocation.allocation_account_id) == 100_000_000 - 100_000
    event = await last_event(pool, ev.BudgetAgreed)
    assert [(s.account_id, s.ring_fence, s.cohort, s.pence) for s in event.nhs_funding] == [
        (allocation.allocation_account_id, False, "", 100_000)
    ]


async def test_a_chc_budget_beyond_the_ring_fence_takes_the_rest_from_the_allocation(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Reproduction: a £90,000 CHC budget refused while the general allocation held £900,000."""
    allocation = await setup_funders(stub, allocation=100_000_000, target_bp=1_000)  # £100,000
    pool = pool_of(host)
    await nhs_budget(stub, pool, 2_000_000, CHC)  # fence left £80,000
    big = await nhs_budget(stub, pool, 9_000_000, CHC)
    assert big.status == pb.BUDGET_STATUS_AGREED
    assert await funded_from(pool, big) == {
        f"ring_fence:{ODS}": 8_000_000,
        f"allocation:{ODS}": 1_000_000,
    }
    fence = allocation.ring_fences[0]
    assert await balance(pool, fence.account_id) == 0
    assert await balance(pool, allocation.allocation_account_id) == 90_000_000 - 1_000_000
    event = await last_event(pool, ev.BudgetAgreed)
    assert [(s.ring_fence, s.pence) for s in event.nhs_funding] == [
        (True, 8_000_000),
        (False, 1_000_000),
    ]


async def test_an_ltc_budget_past_its_cohort_ring_fence_draws_on_the_general_one(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Reproduction: an LTC budget refused while the general ring-fence held £67,220."""
    allocation = await setup_funders(
        stub,
        allocation=100_000_000,
        target_bp=1_000,
        cohorts=((pb.COHORT_LONG_TERM_CONDITION, 100),),  # LTC £10,000, general £90,000
    )
    pool = pool_of(host)
    fences = {f.cohort: f.account_id for f in allocation.ring_fences}
    await nhs_budget(stub, pool, 2_278_000, MH)  # general ring-fence left: £67,220
    assert await balance(pool, fences[pb.COHORT_UNSPECIFIED]) == 6_722_000
    ltc = await nhs_budget(stub, pool, 2_000_000, LTC)
    assert await funded_from(pool, ltc) == {
        f"ring_fence:{ODS}:LONG_TERM_CONDITION": 1_000_000,
        f"ring_fence:{ODS}": 1_000_000,
    }
    assert await balance(pool, fences[pb.COHORT_LONG_TERM_CONDITION]) == 0
    assert await balance(pool, fences[pb.COHORT_UNSPECIFIED]) == 5_722_000
    # Past both ring-fences, the general allocation pays the rest.
    more = await nhs_budget(stub, pool, 6_000_000, LTC)
    assert await funded_from(pool, more) == {
        f"ring_fence:{ODS}": 5_722_000,
        f"allocation:{ODS}": 278_000,
    }


async def test_a_budget_is_refused_only_when_the_whole_allocation_cannot_pay(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    await setup_funders(stub, allocation=1_000_000, target_bp=1_000)
    pool = pool_of(host)
    await nhs_budget(stub, pool, 999_999, CHC)
    budget = await new_budget(stub, await eligible_person(pool, CHC))
    await add(stub, budget.budget_id, line(cost=2, occurrences=1))
    before, events = await money_snapshot(pool), await outbox_count(pool)
    reason, _ = await refused(agree(stub, budget.budget_id), FAILED)
    assert reason == "NHS_ALLOCATION_EXHAUSTED"
    assert await money_snapshot(pool) == before
    assert await outbox_count(pool) == events
    # One penny is what is left, and it pays.
    await nhs_budget(stub, pool, 1, CHC)


async def test_money_goes_back_to_its_source_the_allocation_first(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """A cut returns what the general allocation paid first, so the PHBs keep the ring-fenced
    money; an end returns the rest to each source (invariant 8 holds for every ring-fence)."""
    allocation = await setup_funders(stub, allocation=100_000_000, target_bp=100)  # £10,000
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool, CHC))
    await add(stub, budget.budget_id, line(cost=600_000, occurrences=1))
    await add(stub, budget.budget_id, line(cost=700_000, occurrences=1))
    agreed = await agree(stub, budget.budget_id)
    fence, general = allocation.ring_fences[0].account_id, allocation.allocation_account_id
    assert await funded_from(pool, agreed) == {
        f"ring_fence:{ODS}": 1_000_000,
        f"allocation:{ODS}": 300_000,
    }
    cut = await stub.ReviseBudget(
        pb.ReviseBudgetRequest(
            request_id=rid(),
            budget_id=budget.budget_id,
            reasons=["needs changed"],
            notice_date="2026-06-01",
            remove_plan_line_ids=[agreed.plan_lines[1].plan_line_id],
        )
    )
    assert await funded_from(pool, cut) == {f"ring_fence:{ODS}": 600_000}
    assert await balance(pool, fence) == 400_000
    assert await balance(pool, general) == 99_000_000
    revised = await last_event(pool, ev.BudgetRevised)
    assert [(s.ring_fence, s.pence) for s in revised.nhs_funding] == [
        (False, -300_000),
        (True, -400_000),
    ]
    await stub.EndBudget(pb.EndBudgetRequest(request_id=rid(), budget_id=budget.budget_id))
    assert await balance(pool, fence) == 1_000_000
    assert await balance(pool, general) == 99_000_000
    ended = await last_event(pool, ev.BudgetEnded)
    assert [(s.ring_fence, s.pence) for s in ended.nhs_funding] == [(True, -600_000)]


# -- 2. the person pays no more than assessed, and never towards NHS care -------------------------


async def test_a_client_part_beyond_the_assessed_contribution_is_refused(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Reproductions: client_contribution_pence 0 and a 50/40/10 line (charging 10,000p); a
    50% / 0.01% / 49.99% line."""
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool, JOINT), client_contribution_pence=0)
    for split in ((5_000, 4_000, 1_000), (5_000, 1, 4_999)):
        reason, _ = await refused(add(stub, budget.budget_id, line(split=split)), FAILED)
        assert reason == "CLIENT_CONTRIBUTION_EXCEEDED"
    # With an assessed £100 the 10,000p part fits; one penny more over the plan does not.
    assessed = await new_budget(
        stub, await eligible_person(pool, JOINT), client_contribution_pence=10_000
    )
    await add(stub, assessed.budget_id, line(split=(5_000, 4_000, 1_000)))
    reason, _ = await refused(
        add(stub, assessed.budget_id, line(cost=10, occurrences=1, split=(0, 9_000, 1_000))),
        FAILED,
    )
    assert reason == "CLIENT_CONTRIBUTION_EXCEEDED"
    agreed = await agree(stub, assessed.budget_id)
    client = next(s for s in agreed.streams if s.funding_stream == pb.FUNDING_STREAM_CLIENT)
    assert client.agreed_pence == 10_000


async def test_a_revision_may_not_charge_the_person_beyond_the_assessment(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(
        stub, await eligible_person(pool, JOINT), client_contribution_pence=10_000
    )
    await add(stub, budget.budget_id, line(split=(5_000, 4_000, 1_000)))
    await agree(stub, budget.budget_id)
    reason, _ = await refused(
        stub.ReviseBudget(
            pb.ReviseBudgetRequest(
                request_id=rid(),
                budget_id=budget.budget_id,
                reasons=["more care"],
                notice_date="2026-06-01",
                add_lines=[line(cost=100, occurrences=1, split=(0, 9_000, 1_000))],
            )
        ),
        FAILED,
    )
    assert reason == "CLIENT_CONTRIBUTION_EXCEEDED"


async def test_a_client_part_on_nhs_only_care_is_refused(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(
        stub, await eligible_person(pool, JOINT), client_contribution_pence=1_000_000
    )
    for split in ((9_000, 0, 1_000), (0, 0, 10_000)):
        _, fields = await refused(
            add(stub, budget.budget_id, line(split=split)), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert fields == ["line.split.client_basis_points"]


async def test_a_draft_planned_before_the_rules_is_not_agreed_overcharging(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """A draft whose lines were planned before the rules (its rows written as they were then)
    is checked again when it is agreed: nothing moves."""
    await setup_funders(stub)
    pool = pool_of(host)
    budget = await new_budget(stub, await eligible_person(pool, JOINT))
    await add(stub, budget.budget_id, line(split=(5_000, 5_000, 0)))
    await pool.execute(
        "UPDATE allocation.plan_lines SET council_basis_points = 4000, client_basis_points = 1000,"
        " council_pence = 40000, client_pence = 10000 WHERE budget_id = $1",
        uuid.UUID(budget.budget_id),
    )
    before = await money_snapshot(pool)
    reason, _ = await refused(agree(stub, budget.budget_id), FAILED)
    assert reason == "CLIENT_CONTRIBUTION_EXCEEDED"
    assert await money_snapshot(pool) == before


# -- 3. NHS-only cohorts ---------------------------------------------------------------------------


async def test_a_chc_budget_is_nhs_only(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    """Reproduction: a CHC budget split 20/70/10 NHS/council/client was agreed."""
    await setup_funders(stub)
    pool = pool_of(host)
    person = await eligible_person(pool, CHC)  # living in the council's area
    for fields in (
        {"council_gss_code": GSS},
        {"indicative_council_pence": 1},
        {"client_contribution_pence": 500},
    ):
        reason, _ = await refused(new_budget(stub, person, **fields), FAILED)
        assert reason == "COHORT_NHS_ONLY"
    budget = await new_budget(stub, person)
    assert [s.funding_stream for s in budget.streams] == [pb.FUNDING_STREAM_NHS]
    assert budget.council_gss_code == ""
    for split in ((2_000, 7_000, 1_000), (9_999, 1, 0)):
        reason, _ = await refused(add(stub, budget.budget_id, line(split=split)), FAILED)
        assert reason == "COHORT_NHS_ONLY"
    await add(stub, budget.budget_id, line())
    assert (await agree(stub, budget.budget_id)).status == pb.BUDGET_STATUS_AGREED


async def test_childrens_continuing_care_may_sit_in_a_joint_package(
    stub: pb_grpc.AllocationServiceStub, host: ServiceHost
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    person = await eligible_person(pool, ent.ELIGIBILITY_CATEGORY_CHILDRENS_CC)
    budget = await new_budget(stub, person, council_gss_code=GSS, client_contribution_pence=0)
    await add(stub, budget.budget_id, line(split=(6_000, 4_000, 0)))
    agreed = await agree(stub, budget.budget_id)
    assert agreed.status == pb.BUDGET_STATUS_AGREED
    assert len(agreed.streams) == 3
