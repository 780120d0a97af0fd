"""A broker does the job from the tools (issue 16): full ids in `finance budgets`, a budget with
its plan lines, what is left on each and its payees (`broker budget`), payees by organisation
(ListPayees, paged), and `broker pay` printed as a person reads it."""

from __future__ import annotations

import asyncio
import re

import grpc
import pytest

from onebudget.cli import main
from onebudget.events.v1 import entitlement_pb2 as ent
from onebudget.payment.v1 import payment_service_pb2 as pay
from tests.conftest import StartService
from tests.integration.test_reporting_support import (
    Stack,
    agreed_budget,
    caught_up,
    eligible_person,
    error_of,
    new_gss,
    new_ods,
    plan_line,
    rid,
    setup_funders,
    start_stack,
)


def _addresses(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    assert stack.payment is not None
    monkeypatch.setenv("ONEBUDGET_ALLOCATION_ADDRESS", stack.allocation.address)
    monkeypatch.setenv("ONEBUDGET_PAYMENT_ADDRESS", stack.payment.address)


async def _provider(stack: Stack, organisation: str, name: str) -> pay.Payee:
    assert stack.pay is not None
    found: pay.Payee = await stack.pay.RegisterPayee(
        pay.RegisterPayeeRequest(
            request_id=rid(),
            kind=pay.PAYEE_KIND_PROVIDER,
            name=name,
            organisation_code=organisation,
        )
    )
    return found


async def test_list_payees_by_organisation_pages_and_filters(start_service: StartService) -> None:
    stack = await start_stack(start_service)
    assert stack.pay is not None
    ods, other = new_ods(), new_ods()
    mine = [await _provider(stack, ods, f"Care {i}") for i in range(5)]
    await _provider(stack, other, "Elsewhere Ltd")
    seen: list[str] = []
    token = ""
    for _ in range(5):
        page = await stack.pay.ListPayees(
            pay.ListPayeesRequest(page_size=2, page_token=token, organisation_code=ods)
        )
        assert len(page.payees) <= 2
        seen += [p.payee_id for p in page.payees]
        token = page.next_page_token
        if not token:
            break
    assert seen == [p.payee_id for p in mine]
    assert {p.organisation_code for p in mine} == {ods}
    # Another filter with that token is refused, as is a bad person id and a bad organisation.
    first = await stack.pay.ListPayees(pay.ListPayeesRequest(page_size=2, organisation_code=ods))
    for bad in (
        pay.ListPayeesRequest(page_token=first.next_page_token, organisation_code=other),
        pay.ListPayeesRequest(person_id="not-a-uuid"),
        pay.ListPayeesRequest(page_size=-1),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stack.pay.ListPayees(bad)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.pay.RegisterPayee(
            pay.RegisterPayeeRequest(
                request_id=rid(),
                kind=pay.PAYEE_KIND_PROVIDER,
                name="Bad Org",
                organisation_code="not an org",
            )
        )
    assert error_of(refused.value)[2] == ["organisation_code"]
    providers = await stack.pay.ListPayees(
        pay.ListPayeesRequest(organisation_code=other, kind=pay.PAYEE_KIND_PROVIDER)
    )
    assert [p.name for p in providers.payees] == ["Elsewhere Ltd"]
    await stack.close()


async def test_a_broker_finds_the_ids_pays_and_reads_pounds(
    start_service: StartService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = await start_stack(start_service)
    ods, gss = new_ods(), new_gss()
    await setup_funders(stack, ods, gss)
    person = await eligible_person(stack, ods, gss, category=ent.ELIGIBILITY_CATEGORY_JOINT_PACKAGE)
    budget = await agreed_budget(stack, person, ods, gss, [plan_line(100_000, (6_000, 4_000, 0))])
    line = budget.plan_lines[0]
    provider = await _provider(stack, ods, "Synthetic Care Ltd")
    await caught_up(stack, payment_too=True)
    _addresses(stack, monkeypatch)

    assert await asyncio.to_thread(main, ["finance", "budgets", "--commissioner", ods]) == 0
    out = capsys.readouterr().out
    assert budget.budget_id in out  # the full id, not its first 8 characters
    assert "available (£)" in out
    assert "£1,000.00" in out

    assert await asyncio.to_thread(main, ["broker", "budget", "--budget", budget.budget_id]) == 0
    out = capsys.readouterr().out
    assert line.plan_line_id in out
    assert provider.payee_id in out
    assert "Synthetic Care Ltd" in out
    assert "left (£)" in out

    assert await asyncio.to_thread(main, ["broker", "payees", "--organisation", ods]) == 0
    assert provider.payee_id in capsys.readouterr().out

    pay_args = [
        "broker",
        "pay",
        "--budget",
        budget.budget_id,
        "--plan-line",
        line.plan_line_id,
        "--payee",
        provider.payee_id,
        "--amount-pence",
        "10001",
    ]
    assert await asyncio.to_thread(main, pay_args) == 0
    out = capsys.readouterr().out
    assert f"Paid £100.01 to payee {provider.payee_id}" in out
    assert "payment" in out
    # The split per funder, right-aligned in pounds: 60/40 of 10001 pence.
    assert re.search(r"^ +NHS +£60\.01$", out, re.M)
    assert re.search(r"^ +council +£40\.00$", out, re.M)
    assert "Left on the plan line: £899.99 of £1,000.00" in out
    assert '"amountPence"' not in out
    await stack.close()


async def test_broker_cli_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["broker", "payees", "--kind", "NOBODY"],
        ["broker", "payees", "--limit", "many"],
        ["broker", "budget"],
    ):
        with pytest.raises(SystemExit) as stopped:
            await asyncio.to_thread(main, argv)
        assert stopped.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert "Traceback" not in "\n".join(err)
        assert err[-1].startswith("onebudget broker")
