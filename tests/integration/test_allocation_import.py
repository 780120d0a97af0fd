"""ImportBudgets over gRPC against the real database, ledger and NATS (ADR 23, issue 17): each
item is CreateBudget + AddPlanLine per line + AgreeBudget by the unary calls' rules and gives
the same budget, money and events; refused items write nothing and move no money; a re-run
answers the same and writes nothing; scope per item."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.allocation.v1 import allocation_service_pb2_grpc as pb_grpc
from onebudget.events.v1 import entitlement_pb2 as ent
from onebudget.shared.server import ServiceHost
from tests.integration.test_allocation_api import (
    NHS_ONLY,
    YEAR,
    add,
    agree,
    eligible_person,
    feed,
    granted,
    host,
    line,
    money_snapshot,
    new_budget,
    outbox_count,
    pool_of,
    rid,
    setup_funders,
    stub,
)

__all__ = ["host", "stub"]  # the fixtures, shared with test_allocation_api
Stub = pb_grpc.AllocationServiceStub


def item(person: str, *lines: pb.PlanLineInput, **budget: Any) -> pb.ImportBudgetItem:
    fields: dict[str, Any] = {"person_id": person, "financial_year": YEAR}
    fields.update(budget)
    return pb.ImportBudgetItem(
        request_id=rid(),
        budget=pb.CreateBudgetRequest(**fields),
        lines=list(lines) if lines else [line()],
        agreed_on="2026-06-01",
    )


async def send(stub: Stub, *items: pb.ImportBudgetItem) -> list[pb.ImportBudgetResult]:
    response: pb.ImportBudgetsResponse = await stub.ImportBudgets(
        pb.ImportBudgetsRequest(request_id=rid(), items=items)
    )
    assert len(response.results) == len(items)
    return list(response.results)


def reason(result: pb.ImportBudgetResult) -> str:
    assert result.WhichOneof("outcome") == "error", result
    return result.error.reason


def comparable(budget: pb.Budget) -> pb.Budget:
    """A budget without what differs between two made alike (ids, times)."""
    copy = pb.Budget()
    copy.CopyFrom(budget)
    copy.budget_id = copy.person_id = ""
    for s in copy.streams:
        s.account_id = ""
    for x in copy.plan_lines:
        x.plan_line_id = ""
    return copy


async def test_an_imported_budget_is_the_one_the_unary_calls_make(
    stub: Stub, host: ServiceHost
) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    by_hand, imported_person = await eligible_person(pool), await eligible_person(pool)
    lines = (line(), line(cost=3333, occurrences=3, split=(3333, 3333, 3334)))
    made = await new_budget(stub, by_hand, client_contribution_pence=5_000)
    await add(stub, made.budget_id, *lines)
    await stub.AgreeBudget(
        pb.AgreeBudgetRequest(request_id=rid(), budget_id=made.budget_id, agreed_on="2026-06-01")
    )
    events_before = await outbox_count(pool)
    [result] = await send(stub, item(imported_person, *lines, client_contribution_pence=5_000))
    got = result.imported
    assert got.person_id == imported_person
    assert len(got.plan_line_ids) == 2
    assert got.version == 4
    assert (got.agreed_nhs_pence, got.agreed_council_pence, got.agreed_client_pence) == (
        63_333,
        43_333,
        3_333,
    )
    hand = await stub.GetBudget(pb.GetBudgetRequest(budget_id=made.budget_id))
    imported = await stub.GetBudget(pb.GetBudgetRequest(budget_id=got.budget_id))
    assert imported.status == pb.BUDGET_STATUS_AGREED
    assert [x.plan_line_id for x in imported.plan_lines] == list(got.plan_line_ids)
    assert comparable(imported) == comparable(hand)
    # The same events as the unary calls: created, one per line, agreed (versions 1 to 4).
    rows = await pool.fetch(
        "SELECT subject FROM allocation.outbox ORDER BY seq OFFSET $1", events_before
    )
    assert [r["subject"].split(".")[3] for r in rows] == [
        "created",
        "plan_line_added",
        "plan_line_added",
        "agreed",
    ]
    audited = await pool.fetch(
        "SELECT resource, outcome FROM allocation.audit_log WHERE method = 'ImportBudgets'"
    )
    assert [(r["resource"], r["outcome"]) for r in audited] == [(f"budgets/{got.budget_id}", "OK")]


async def test_each_bad_item_is_refused_alone_and_moves_no_money(
    stub: Stub, host: ServiceHost
) -> None:
    await setup_funders(stub, allocation=2_000_000, target_bp=500)  # a £1,000 ring-fence
    pool = pool_of(host)
    has_one = await eligible_person(pool)
    await agree(
        stub, (await add(stub, (await new_budget(stub, has_one)).budget_id, line())).budget_id
    )
    twice, good = await eligible_person(pool), await eligible_person(pool)
    no_phb = rid()
    await feed(pool, granted(no_phb, ent.ELIGIBILITY_CATEGORY_JOINT_PACKAGE), no_phb)
    big = line(cost=5_000_000, occurrences=1)  # more NHS money than the commissioner has
    items = [
        item(rid()),  # allocation has never heard of this person
        item(no_phb),  # eligibility granted, no PHB (yet)
        item(has_one),  # already holds a budget for the year
        item(twice),
        item(twice),  # a second budget for the same person and year in one call
        item(good, line(category="alcohol")),
        item(await eligible_person(pool), line(split=(5000, 4000, 1000))),  # no contribution
        item(await eligible_person(pool), big),
        pb.ImportBudgetItem(request_id=rid(), budget=pb.CreateBudgetRequest(
            person_id=good, financial_year=YEAR)),  # no lines
        item(good, line(split=(5000, 4000, 0))),  # a split that does not sum to 10,000
        item(good),
    ]  # fmt: skip
    before_money, before_events = await money_snapshot(pool), await outbox_count(pool)
    results = await send(stub, *items)
    assert [r.error.reason for r in results] == [
        "PERSON_NOT_FOUND",
        "NO_PHB_GRANTED",
        "BUDGET_EXISTS_FOR_YEAR",
        "",
        "BUDGET_EXISTS_FOR_YEAR",
        "CATEGORY_EXCLUDED",
        "CLIENT_CONTRIBUTION_EXCEEDED",
        "NHS_ALLOCATION_EXHAUSTED",
        "PLAN_EMPTY",
        "INVALID_REQUEST",
        "",
    ]
    assert [v.field for v in results[9].error.field_violations] == ["items[9].lines[0].split"]
    assert results[5].error.metadata["field"] == "lines[0].category"
    assert results[0].error.code == grpc.StatusCode.NOT_FOUND.value[0]
    # The two imported budgets moved their money and wrote three events each; nothing else.
    assert await outbox_count(pool) == before_events + 6
    assert await money_snapshot(pool) != before_money
    imported = [r.imported.budget_id for r in results if r.WhichOneof("outcome") == "imported"]
    assert len(imported) == 2
    rows = await pool.fetch("SELECT budget_id FROM allocation.budgets WHERE status = 'AGREED'")
    assert len(rows) == 3
    idempotency = await pool.fetchval(
        "SELECT count(*) FROM allocation.idempotency WHERE method = 'ImportBudgets'"
    )
    assert idempotency == 2
    audited = await pool.fetchval(
        "SELECT count(*) FROM allocation.audit_log WHERE method = 'ImportBudgets'"
    )
    assert audited == len(items)


async def test_a_rerun_answers_the_same_and_writes_nothing(stub: Stub, host: ServiceHost) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    person, later = await eligible_person(pool), rid()
    items = [item(person), item(later)]
    first = await send(stub, *items)
    assert reason(first[1]) == "PERSON_NOT_FOUND"
    before_money, before_events = await money_snapshot(pool), await outbox_count(pool)
    again = await send(stub, *items)
    assert again[0] == first[0]
    assert await money_snapshot(pool) == before_money
    assert await outbox_count(pool) == before_events
    # Once allocation has learnt the person's decisions the refused item comes in under its
    # own request_id; a changed item under a used id is refused and moves nothing.
    await feed(pool, granted(later, ent.ELIGIBILITY_CATEGORY_JOINT_PACKAGE), later)
    from tests.integration.test_allocation_api import phb_granted

    await feed(pool, phb_granted(later, ent.ELIGIBILITY_CATEGORY_JOINT_PACKAGE), later, 1)
    changed = pb.ImportBudgetItem()
    changed.CopyFrom(items[0])
    changed.agreed_on = "2026-06-02"
    retried = await send(stub, changed, items[1])
    assert reason(retried[0]) == "REQUEST_ID_REUSED"
    assert retried[1].imported.person_id == later
    assert await outbox_count(pool) == before_events + 3


async def test_scope_is_checked_per_item(stub: Stub, host: ServiceHost) -> None:
    await setup_funders(stub)
    pool = pool_of(host)
    # NHS-only CHC: the budget belongs to the commissioner alone; the test's care manager does
    # not act for this one.
    foreign = await eligible_person(pool, ent.ELIGIBILITY_CATEGORY_CHC)
    await pool.execute(
        "UPDATE allocation.people SET commissioner_ods_code = 'Z9Z9Z',"
        " council_gss_code = 'E06999999' WHERE person_id = $1",
        foreign,
    )
    await pool.execute(
        "INSERT INTO allocation.commissioners (ods_code, name) VALUES ('Z9Z9Z', 'Elsewhere')"
    )
    ours = await eligible_person(pool)
    results = await send(stub, item(foreign, line(split=NHS_ONLY)), item(ours))
    assert reason(results[0]) == "PERMISSION_DENIED_ORGANISATION"
    assert results[1].WhichOneof("outcome") == "imported"


async def test_the_call_itself_needs_one_to_a_thousand_items(stub: Stub) -> None:
    for items in ([], [item(rid()) for _ in range(1_001)]):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ImportBudgets(pb.ImportBudgetsRequest(request_id=rid(), items=items))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
