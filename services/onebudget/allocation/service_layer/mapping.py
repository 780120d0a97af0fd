"""Rows and ledger balances to API messages and event payloads."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from onebudget.allocation.adapters import repository as repo
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.events.v1 import allocation_pb2 as ev
from onebudget.ledger import reads as ledger_reads
from onebudget.ledger import store
from onebudget.ledger.domain import Balance, FundingStream

Row = Any
_STREAM_COLUMNS = (
    (FundingStream.NHS, "nhs", "FUNDING_STREAM_NHS"),
    (FundingStream.COUNCIL, "council", "FUNDING_STREAM_COUNCIL"),
    (FundingStream.CLIENT, "client", "FUNDING_STREAM_CLIENT"),
)


def iso(value: Any) -> str:
    return "" if value is None else str(value.isoformat())


def cohort_enum(name: str) -> str:
    """ "" (the general ring-fence) -> COHORT_UNSPECIFIED; "CHC" -> COHORT_CHC."""
    return f"COHORT_{name or 'UNSPECIFIED'}"


def stream_accounts(budget: Row) -> list[tuple[FundingStream, uuid.UUID]]:
    """The budget's stream accounts that exist (an NHS-only budget has one)."""
    found = []
    for stream, column, _ in _STREAM_COLUMNS:
        account_id = budget[f"{column}_account_id"]
        if account_id is not None:
            found.append((stream, account_id))
    return found


def stream_account_events(budget: Row) -> list[ev.BudgetStreamAccount]:
    return [
        ev.BudgetStreamAccount(funding_stream=str(s), account_id=str(a))
        for s, a in stream_accounts(budget)
    ]


def line_terms_event(line: Row) -> ev.PlanLineTerms:
    return ev.PlanLineTerms(
        plan_line_id=str(line["plan_line_id"]),
        description=line["description"],
        category=line["category"],
        cost_per_occurrence_pence=line["cost_per_occurrence_pence"],
        frequency=line["frequency"],
        occurrences=line["occurrences"],
        cost_pence=line["cost_pence"],
        nhs_basis_points=line["nhs_basis_points"],
        council_basis_points=line["council_basis_points"],
        client_basis_points=line["client_basis_points"],
        nhs_pence=line["nhs_pence"],
        council_pence=line["council_pence"],
        client_pence=line["client_pence"],
        management_option=line["management_option"],
        allowed_payee_id=line["allowed_payee_id"],
        allowed_payee_kind=line["allowed_payee_kind"],
    )


def _plan_line(line: Row, use: tuple[int, int]) -> pb.PlanLine:
    spent, reserved = use
    kind = line["allowed_payee_kind"]
    return pb.PlanLine(
        plan_line_id=str(line["plan_line_id"]),
        description=line["description"],
        category=line["category"],
        cost_per_occurrence_pence=line["cost_per_occurrence_pence"],
        frequency=f"FREQUENCY_{line['frequency']}",
        occurrences=line["occurrences"],
        split=pb.FundingSplit(
            nhs_basis_points=line["nhs_basis_points"],
            council_basis_points=line["council_basis_points"],
            client_basis_points=line["client_basis_points"],
        ),
        management_option=f"MANAGEMENT_OPTION_{line['management_option']}",
        allowed_payee_id=line["allowed_payee_id"],
        allowed_payee_kind=f"PAYEE_KIND_{kind or 'UNSPECIFIED'}",
        cost_pence=line["cost_pence"],
        nhs_pence=line["nhs_pence"],
        council_pence=line["council_pence"],
        client_pence=line["client_pence"],
        spent_pence=spent,
        reserved_pence=reserved,
        available_pence=line["cost_pence"] - spent - reserved,
    )


def _stream(
    budget: Row,
    column: str,
    code: str,
    account_id: uuid.UUID,
    b: Balance,
    spent: int,
    returned: int,
) -> Any:
    """One stream of a budget. `spent` is net of payee returns and repayments (the ledger's
    `spent_by_account`), as each plan line's spent is; `returned` is what went back to the
    stream's funders in the ledger (`budget_funding`): on a cut or an end, and what payment sent
    on after the end (a hold released, a reclaim received), so agreed = spent + reserved +
    available + returned holds whichever service moved the money."""
    return pb.BudgetStream(
        funding_stream=code,
        account_id=str(account_id),
        agreed_pence=budget[f"agreed_{column}_pence"],
        reserved_pence=b.debits_pending,
        spent_pence=spent,
        available_pence=b.available,
        returned_pence=returned,
    )


async def budget_message(conn: asyncpg.Connection, budget: Row) -> pb.Budget:
    """The budget with its streams' ledger balances and its lines' own use."""
    accounts = stream_accounts(budget)
    records = {
        r.account.id: r.balance for r in await store.lookup_accounts(conn, [a for _, a in accounts])
    }
    lines = await repo.plan_lines(conn, budget["budget_id"])
    use = await ledger_reads.plan_line_use(
        conn, [a for _, a in accounts], [line["plan_line_id"] for line in lines]
    )
    columns = {s: (c, code) for s, c, code in _STREAM_COLUMNS}
    spent = await ledger_reads.spent_by_account(conn, [a for _, a in accounts])
    returned: dict[uuid.UUID, int] = {}
    for move in await ledger_reads.budget_funding(conn, [a for _, a in accounts]):
        account = move.budget_account_id
        returned[account] = returned.get(account, 0) + move.returned_pence
    streams = [
        _stream(budget, columns[s][0], columns[s][1], a, records[a], spent[a], returned.get(a, 0))
        for s, a in accounts
    ]
    message = pb.Budget(
        budget_id=str(budget["budget_id"]),
        person_id=str(budget["person_id"]),
        commissioner_ods_code=budget["commissioner_ods_code"],
        council_gss_code=budget["council_gss_code"] or "",
        cohort=cohort_enum(budget["cohort"]),
        financial_year=budget["financial_year"],
        start_date=iso(budget["start_date"]),
        end_date=iso(budget["end_date"]),
        status=f"BUDGET_STATUS_{budget['status']}",
        child=budget["child"],
        indicative_nhs_pence=budget["indicative_nhs_pence"],
        indicative_council_pence=budget["indicative_council_pence"],
        client_contribution_pence=budget["client_contribution_pence"],
        planned_pence=sum(line["cost_pence"] for line in lines),
        agreed_pence=sum(s.agreed_pence for s in streams),
        reserved_pence=sum(s.reserved_pence for s in streams),
        spent_pence=sum(s.spent_pence for s in streams),
        available_pence=sum(s.available_pence for s in streams),
        streams=streams,
        plan_lines=[_plan_line(line, use.get(str(line["plan_line_id"]), (0, 0))) for line in lines],
        agreed_on=iso(budget["agreed_on"]),
        ended_on=iso(budget["ended_on"]),
        end_reason=f"END_REASON_{budget['end_reason'] or 'UNSPECIFIED'}",
        version=budget["version"],
        revision=budget["revision"],
    )
    return message


async def allocation_message(
    conn: asyncpg.Connection, allocation: Row
) -> pb.CommissionerAllocation:
    ods, year = allocation["commissioner_ods_code"], allocation["financial_year"]
    fences = await repo.get_ring_fences(conn, ods, year)
    ids = [allocation["allocation_account_id"], *(f["account_id"] for f in fences)]
    balances = {r.account.id: r.balance for r in await store.lookup_accounts(conn, ids)}
    ring_fences = []
    for fence in fences:
        funded, returned = await ledger_reads.ring_fence_flows(conn, fence["account_id"])
        ring_fences.append(
            pb.RingFence(
                cohort=cohort_enum(fence["cohort"]),
                basis_points=fence["basis_points"],
                target_pence=fence["target_pence"],
                balance_pence=balances[fence["account_id"]].available,
                funded_pence=funded,
                returned_at_close_pence=returned,
                account_id=str(fence["account_id"]),
            )
        )
    return pb.CommissionerAllocation(
        commissioner_ods_code=ods,
        financial_year=year,
        allocation_pence=allocation["allocation_pence"],
        phb_target_basis_points=allocation["phb_target_basis_points"],
        phb_target_pence=allocation["phb_target_pence"],
        ring_fences=ring_fences,
        allocation_account_id=str(allocation["allocation_account_id"]),
        allocation_balance_pence=balances[allocation["allocation_account_id"]].available,
        closed=allocation["closed_on"] is not None,
        closed_on=iso(allocation["closed_on"]),
    )


def budget_context(budget: Row) -> dict[str, Any]:
    """The fields every budget event repeats for reporting."""
    return {
        "budget_id": str(budget["budget_id"]),
        "person_id": str(budget["person_id"]),
        "commissioner_ods_code": budget["commissioner_ods_code"],
        "council_gss_code": budget["council_gss_code"] or "",
        "financial_year": budget["financial_year"],
        "cohort": budget["cohort"],
    }
