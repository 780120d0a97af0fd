"""Commands on integrated budgets: create, plan, agree, revise, end; and the reads.

Every command locks its budget row first (FOR UPDATE), so two commands on one budget run one
after the other; money moves through the ledger in the same transaction as the rows, the
outbox event and the idempotency row."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from onebudget.allocation.adapters import repository as repo
from onebudget.allocation.domain import errors, funders, model
from onebudget.allocation.domain.model import BudgetStatus, EndReason
from onebudget.allocation.service_layer import funding, mapping, outgoing, validation
from onebudget.allocation.service_layer.funding import Move
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.events.v1 import allocation_pb2 as ev
from onebudget.ledger import chart, store
from onebudget.ledger import reads as ledger_reads
from onebudget.ledger.domain import Account, FundingStream
from onebudget.shared import paging
from onebudget.shared.errors import Aborted, DomainError, PermissionDenied, Violations
from onebudget.shared.idempotency import check_request_id, run_idempotent
from onebudget.shared.identity import current_actor
from onebudget.shared.permissions import check_scope
from onebudget.shared.policy import CategoryPolicy
from onebudget.shared.standing import Decision
from onebudget.shared.validation import check_pence, parse_date, require_uuid

SCHEMA = "allocation"
Row = Any
Today = Callable[[], date]


# -- create -------------------------------------------------------------------------------------


def _period(request: pb.CreateBudgetRequest, v: Violations, prefix: str = "") -> tuple[date, date]:
    start = parse_date(request.start_date, prefix + "start_date", v)
    end = parse_date(request.end_date, prefix + "end_date", v)
    if not model.is_financial_year(request.financial_year):
        return date.min, date.min
    first, last = model.financial_year_bounds(request.financial_year)
    start, end = start or first, end or last
    for name, day in (("start_date", start), ("end_date", end)):
        within = model.within_financial_year(request.financial_year, day)
        v.check(within, prefix + name, "must lie within the financial year")
    v.check(start <= end, prefix + "end_date", "must not be before start_date")
    return start, end


def create_fields(
    request: pb.CreateBudgetRequest, v: Violations, prefix: str = ""
) -> tuple[uuid.UUID, tuple[date, date]]:
    """CreateBudget's field checks (all but request_id), violations added to `v` under field
    names after `prefix`: the person, the codes, the year, the cohort, the pence (0 to the
    bound of shared/validation.check_pence) and the period (England's dates within the
    financial year). The person_id and the (start, end) period."""
    person_id = require_uuid(request.person_id, prefix + "person_id", v)
    validation.check_ods(
        request.commissioner_ods_code, prefix + "commissioner_ods_code", v, required=False
    )
    validation.check_gss(request.council_gss_code, prefix + "council_gss_code", v, required=False)
    v.check(
        not (request.nhs_only and request.council_gss_code),
        prefix + "council_gss_code",
        "an NHS-only budget has no council",
    )
    validation.check_year(request.financial_year, prefix + "financial_year", v)
    v.check(request.cohort in pb.Cohort.values(), prefix + "cohort", "not a known cohort")
    for name in ("indicative_nhs_pence", "indicative_council_pence", "client_contribution_pence"):
        check_pence(getattr(request, name), prefix + name, v, low=0)
    return person_id, _period(request, v, prefix)


async def create_budget(pool: asyncpg.Pool, request: pb.CreateBudgetRequest) -> pb.Budget:
    v = Violations()
    check_request_id(request.request_id, v)
    person_id, (start, end) = create_fields(request, v)
    v.raise_if_any()

    async def effect(conn: asyncpg.Connection) -> pb.Budget:
        return await _create(conn, request, person_id, (start, end))

    return await run_idempotent(pool, SCHEMA, "CreateBudget", request, pb.Budget, effect)


async def _person_who_may_have_a_budget(conn: asyncpg.Connection, person_id: uuid.UUID) -> Row:
    person = await repo.get_person(conn, person_id)
    return check_person(person, person_id)


def check_person(person: Row | None, person_id: uuid.UUID) -> Row:
    """The person (as allocation learnt them from entitlement's events) may have a budget:
    known (NOT_FOUND PERSON_NOT_FOUND), alive (PERSON_DECEASED), consenting
    (CONSENT_WITHDRAWN)."""
    if person is None:
        raise errors.not_found(errors.PERSON_NOT_FOUND, "person", str(person_id))
    if person["state"] == "DECEASED":
        raise errors.precondition(errors.PERSON_DECEASED, "the person has died")
    if person["state"] == "CONSENT_WITHDRAWN":
        raise errors.precondition(
            errors.CONSENT_WITHDRAWN, "the person withdrew consent to their PHB"
        )
    return person


async def _eligible_cohort(
    conn: asyncpg.Connection, person_id: uuid.UUID, cohort: str
) -> model.Standing:
    """The cohort the budget is for, where a granted eligibility and a granted PHB stand (the
    requested cohort, or the most recently decided): model.budget_cohort decides."""
    return model.budget_cohort(cohort, standings_of(await repo.standings(conn, person_id)))


def standings_of(rows: Sequence[Row]) -> list[model.Standing]:
    """repo.standings' rows as the domain's standings."""
    return [
        model.Standing(
            category=r["category"],
            eligibility=_decision(r, "eligibility"),
            phb=_decision(r, "phb"),
            child=bool(r["child"]),
        )
        for r in rows
    ]


def _decision(row: Row, prefix: str) -> Decision | None:
    if row[f"{prefix}_granted"] is None:
        return None
    return Decision(
        row[f"{prefix}_granted"],
        row[f"{prefix}_decided_on"] or date.min,
        row[f"{prefix}_recorded"],
    )


async def _create(
    conn: asyncpg.Connection,
    request: pb.CreateBudgetRequest,
    person_id: uuid.UUID,
    period: tuple[date, date],
) -> pb.Budget:
    person = await _person_who_may_have_a_budget(conn, person_id)
    await repo.lock_person(conn, person_id)  # one creation at a time per person
    ods = request.commissioner_ods_code or person["commissioner_ods_code"]
    gss_named = request.council_gss_code or person["council_gss_code"]
    decided = decide_creation(
        request,
        person,
        standings_of(await repo.standings(conn, person_id)),
        await repo.open_budget_ids_in_year(conn, person_id, request.financial_year),
        {ods} if ods and await repo.commissioner_exists(conn, ods) else set(),
        {gss_named} if gss_named and await repo.council_exists(conn, gss_named) else set(),
    )
    stands, gss = decided.stands, decided.gss
    budget_id = uuid.uuid4()
    opened = stream_accounts_of(budget_id, request.financial_year, council=bool(gss))
    await funding.open_accounts(conn, opened)
    budget = await repo.insert_budget(
        conn,
        draft_row(
            budget_id,
            request,
            person_id,
            (decided.ods, gss),
            stands,
            person["child"],
            period,
            opened,
        ),
    )
    await outgoing.publish_budget(conn, budget, request.request_id, created_event(budget))
    return await mapping.budget_message(conn, budget)


@dataclass(frozen=True)
class Creation:
    """What CreateBudget decided: the commissioner, the council (None: NHS-only) and the cohort
    the budget is for, with the person's standing in it."""

    ods: str
    gss: str | None
    stands: model.Standing


def decide_creation(
    request: pb.CreateBudgetRequest,
    person: Row,
    standings: Sequence[model.Standing],
    open_budget_ids: Sequence[str],
    commissioners: Container[str],
    councils: Container[str],
) -> Creation:
    """CreateBudget's rules on what it read, in its order: the cohort where a granted
    eligibility and a granted PHB stand (model.budget_cohort: NO_ELIGIBILITY, NO_PHB_GRANTED),
    one budget per person and year (BUDGET_EXISTS_FOR_YEAR), the commissioner known
    (COMMISSIONER_NOT_FOUND; `commissioners` the known codes among those named), the caller's
    scope (PERMISSION_DENIED_ORGANISATION), the cohort's funders (domain/funders.py), an
    NHS-only cohort without a council stream, the council known (COUNCIL_NOT_FOUND), and no
    council money without a council (refuse_council_money)."""
    stands = model.budget_cohort(validation.cohort_name(request.cohort), standings)
    cohort = stands.category
    model.check_one_budget_per_year(request.financial_year, open_budget_ids)
    ods = request.commissioner_ods_code or person["commissioner_ods_code"]
    if not ods or ods not in commissioners:
        raise errors.not_found(errors.COMMISSIONER_NOT_FOUND, "commissioner", ods)
    check_scope(
        current_actor(), (ods, request.council_gss_code or person["council_gss_code"] or "")
    )
    funders.check_cohort_funders(
        cohort,
        council_named=bool(request.council_gss_code),
        council_pence=request.indicative_council_pence + request.client_contribution_pence,
    )
    # An NHS-only cohort's budget has no council stream, whatever council the person lives in.
    nhs_only = request.nhs_only or funders.is_nhs_only(cohort)
    gss = None if nhs_only else (request.council_gss_code or person["council_gss_code"])
    if gss and gss not in councils:
        raise errors.not_found(errors.COUNCIL_NOT_FOUND, "council", gss)
    if not gss:
        refuse_council_money(request.indicative_council_pence, request.client_contribution_pence)
    return Creation(ods, gss, stands)


def stream_accounts_of(budget_id: uuid.UUID, year: int, *, council: bool) -> list[Account]:
    """The ledger accounts a new budget opens: its NHS stream, and with a council its council
    and client streams and the client's contribution account (ledger/chart.py)."""
    opened = [chart.budget_stream(budget_id, FundingStream.NHS, year)]
    if council:
        opened += [
            chart.budget_stream(budget_id, FundingStream.COUNCIL, year),
            chart.budget_stream(budget_id, FundingStream.CLIENT, year),
            chart.contribution(budget_id, year),
        ]
    return opened


def draft_row(
    budget_id: uuid.UUID,
    request: pb.CreateBudgetRequest,
    person_id: uuid.UUID,
    codes: tuple[str, str | None],
    stands: model.Standing,
    person_child: bool,
    period: tuple[date, date],
    opened: Sequence[Account],
) -> dict[str, Any]:
    """A new DRAFT budget's row (version 1): `codes` its commissioner and council (None:
    NHS-only), `stands` the cohort it is for, `opened` stream_accounts_of."""
    ods, gss = codes
    return {
        "budget_id": budget_id,
        "person_id": person_id,
        "commissioner_ods_code": ods,
        "council_gss_code": gss or None,
        "cohort": stands.category,
        "financial_year": request.financial_year,
        "start_date": period[0],
        "end_date": period[1],
        "child": stands.child or person_child,
        "status": BudgetStatus.DRAFT,
        "indicative_nhs_pence": request.indicative_nhs_pence,
        "indicative_council_pence": request.indicative_council_pence,
        "client_contribution_pence": request.client_contribution_pence,
        "nhs_account_id": opened[0].id,
        "council_account_id": opened[1].id if gss else None,
        "client_account_id": opened[2].id if gss else None,
        "contribution_account_id": opened[3].id if gss else None,
        "version": 1,
    }


def created_event(budget: Row) -> ev.BudgetCreated:
    return ev.BudgetCreated(
        **mapping.budget_context(budget),
        child=budget["child"],
        start_date=mapping.iso(budget["start_date"]),
        end_date=mapping.iso(budget["end_date"]),
        indicative_nhs_pence=budget["indicative_nhs_pence"],
        indicative_council_pence=budget["indicative_council_pence"],
        client_contribution_pence=budget["client_contribution_pence"],
        stream_accounts=mapping.stream_account_events(budget),
    )


def refuse_council_money(council_pence: int, client_pence: int) -> None:
    """An NHS-only budget takes no council money and so no client contribution."""
    if client_pence > 0:
        raise errors.precondition(
            errors.CLIENT_CONTRIBUTION_NOT_ALLOWED,
            "a client contribution applies to the council stream only; this budget is NHS-only",
        )
    if council_pence > 0:
        raise errors.precondition(
            errors.COUNCIL_STREAM_NOT_IN_BUDGET, "this budget is NHS-only: no council stream"
        )


# -- plan lines ---------------------------------------------------------------------------------


async def _locked_budget(conn: asyncpg.Connection, budget_id: uuid.UUID) -> Row:
    budget = await repo.get_budget(conn, budget_id, for_update=True)
    if budget is None:
        raise errors.not_found(errors.BUDGET_NOT_FOUND, "budget", str(budget_id))
    _check_scope(budget)
    return budget


def _check_scope(budget: Row) -> None:
    """The acting caller works for the budget's commissioner or council, or holds it (issue
    14, shared/permissions.check_scope); raises PermissionDenied."""
    check_scope(
        current_actor(),
        (budget["commissioner_ods_code"], budget["council_gss_code"] or ""),
        str(budget["person_id"]),
    )


def _in_scope(budget: Row) -> bool:
    try:
        _check_scope(budget)
    except PermissionDenied:
        return False
    return True


def _require_status(budget: Row, wanted: BudgetStatus) -> None:
    status = budget["status"]
    if status == wanted:
        return
    if status == BudgetStatus.ENDED:
        raise errors.precondition(errors.BUDGET_ENDED, "the budget has ended")
    if status == BudgetStatus.AGREED:
        raise errors.precondition(
            errors.BUDGET_ALREADY_AGREED,
            "the budget is agreed: change its plan with ReviseBudget",
        )
    raise errors.precondition(errors.BUDGET_NOT_AGREED, "the budget is not agreed yet")


def line_row(budget_id: uuid.UUID, terms: model.PlanLineTerms, revision: int) -> dict[str, Any]:
    parts = terms.stream_pence()
    return {
        "plan_line_id": uuid.uuid4(),
        "budget_id": budget_id,
        "description": terms.description,
        "category": terms.category,
        "cost_per_occurrence_pence": terms.cost_per_occurrence_pence,
        "frequency": terms.frequency,
        "occurrences": terms.occurrences,
        "cost_pence": terms.cost_pence,
        "nhs_basis_points": terms.split.nhs_bp,
        "council_basis_points": terms.split.council_bp,
        "client_basis_points": terms.split.client_bp,
        "nhs_pence": parts[FundingStream.NHS],
        "council_pence": parts[FundingStream.COUNCIL],
        "client_pence": parts[FundingStream.CLIENT],
        "management_option": terms.management_option,
        "allowed_payee_id": terms.allowed_payee_id,
        "allowed_payee_kind": terms.allowed_payee_kind,
        "added_in_revision": revision,
    }


def check_lines_fit(budget: Row, new: Sequence[model.PlanLineTerms], existing: int) -> None:
    for terms in new:
        funders.check_cohort_split(budget["cohort"], terms.split)
        if budget["council_gss_code"] is None:
            refuse_council_money(terms.split.council_bp, terms.split.client_bp)
    if existing + len(new) > model.PLAN_LINES_PER_BUDGET_MAX:
        raise errors.precondition(
            errors.PLAN_LINES_LIMIT,
            f"a plan has at most {model.PLAN_LINES_PER_BUDGET_MAX} lines",
        )


def _row_split(line: Mapping[str, Any]) -> model.Split:
    return model.Split(
        line["nhs_basis_points"], line["council_basis_points"], line["client_basis_points"]
    )


def check_plan_funding(budget: Row, lines: Sequence[Mapping[str, Any]]) -> None:
    """The whole plan's funding rules (domain/funders.py), checked again at agreement for a
    draft planned before them: each line's split fits the cohort, and the client stream over
    the plan stays within the assessed contribution."""
    for line in lines:
        funders.check_cohort_split(budget["cohort"], _row_split(line))
    funders.check_client_contribution(
        sum(line["client_pence"] for line in lines), budget["client_contribution_pence"]
    )


def line_added(budget: Row, line: Mapping[str, Any], revision: int) -> ev.PlanLineAdded:
    return ev.PlanLineAdded(
        **mapping.budget_context(budget), line=mapping.line_terms_event(line), revision=revision
    )


def _line_removed(budget: Row, line: Row, revision: int) -> ev.PlanLineRemoved:
    return ev.PlanLineRemoved(
        **mapping.budget_context(budget),
        plan_line_id=str(line["plan_line_id"]),
        category=line["category"],
        revision=revision,
    )


def refuse_excluded(policy: CategoryPolicy, lines: Sequence[tuple[str, str, str]]) -> None:
    """CATEGORY_EXCLUDED for the first (key, value, category) whose category the one policy
    excludes (shared/policy.py): a line that could never be paid is never planned or agreed."""
    for key, value, category in lines:
        refused = policy.check_category(category, **{key: value})
        if refused is not None:
            raise refused


async def add_plan_line(
    pool: asyncpg.Pool, request: pb.AddPlanLineRequest, policy: CategoryPolicy
) -> pb.Budget:
    v = Violations()
    check_request_id(request.request_id, v)
    budget_id = require_uuid(request.budget_id, "budget_id", v)
    terms = validation.plan_line(request.line, "line", v)
    v.raise_if_any()

    async def effect(conn: asyncpg.Connection) -> pb.Budget:
        refuse_excluded(policy, [("field", "line.category", terms.category)])
        budget = await _locked_budget(conn, budget_id)
        _require_status(budget, BudgetStatus.DRAFT)
        existing = await repo.plan_lines(conn, budget_id)
        check_lines_fit(budget, [terms], len(existing))
        line = line_row(budget_id, terms, 0)
        funders.check_client_contribution(
            sum(x["client_pence"] for x in [*existing, line]), budget["client_contribution_pence"]
        )
        await repo.insert_plan_line(conn, line)
        budget = await repo.update_budget(conn, budget_id, 1, {})
        await outgoing.publish_budget(conn, budget, request.request_id, line_added(budget, line, 0))
        return await mapping.budget_message(conn, budget)

    return await run_idempotent(pool, SCHEMA, "AddPlanLine", request, pb.Budget, effect)


async def remove_plan_line(pool: asyncpg.Pool, request: pb.RemovePlanLineRequest) -> pb.Budget:
    v = Violations()
    check_request_id(request.request_id, v)
    budget_id = require_uuid(request.budget_id, "budget_id", v)
    line_id = require_uuid(request.plan_line_id, "plan_line_id", v)
    v.raise_if_any()

    async def effect(conn: asyncpg.Connection) -> pb.Budget:
        budget = await _locked_budget(conn, budget_id)
        _require_status(budget, BudgetStatus.DRAFT)
        line = _find_line(await repo.plan_lines(conn, budget_id), line_id)
        await repo.remove_plan_lines(conn, [line_id], 0)
        budget = await repo.update_budget(conn, budget_id, 1, {})
        await outgoing.publish_budget(
            conn, budget, request.request_id, _line_removed(budget, line, 0)
        )
        return await mapping.budget_message(conn, budget)

    return await run_idempotent(pool, SCHEMA, "RemovePlanLine", request, pb.Budget, effect)


def _find_line(lines: Sequence[Row], line_id: uuid.UUID) -> Row:
    for line in lines:
        if line["plan_line_id"] == line_id:
            return line
    raise errors.not_found(errors.PLAN_LINE_NOT_FOUND, "plan line in this budget", str(line_id))


# -- funders ------------------------------------------------------------------------------------


async def _open_allocation(conn: asyncpg.Connection, budget: Row, lock: str = "SHARE") -> Row:
    """The commissioner's allocation for the budget's year, held against a concurrent close
    (`lock` "UPDATE" also holds it against another budget drawing NHS money at once)."""
    ods, year = budget["commissioner_ods_code"], budget["financial_year"]
    allocation = await repo.get_commissioner_allocation(conn, ods, year, lock=lock)
    if allocation is None:
        raise errors.precondition(
            errors.ALLOCATION_NOT_SET,
            f"{ods} has no allocation (and so no PHB ring-fence) for {year}",
        )
    return allocation


async def _nhs_sources(
    conn: asyncpg.Connection, budget: Row, lock: str = "SHARE"
) -> tuple[Row, tuple[funders.NhsSource, ...]]:
    """The allocation (locked) and the accounts that fund the budget's NHS stream, in the order
    the PHB floor draws on them (domain/funders.py: cohort ring-fence, general ring-fence,
    general allocation)."""
    allocation = await _open_allocation(conn, budget, lock)
    fences = {
        f["cohort"]: uuid.UUID(str(f["account_id"]))
        for f in await repo.get_ring_fences(
            conn, allocation["commissioner_ods_code"], allocation["financial_year"]
        )
    }
    general = uuid.UUID(str(allocation["allocation_account_id"]))
    return allocation, funders.nhs_sources(budget["cohort"], fences, general)


async def _nhs_funded(
    conn: asyncpg.Connection, budget: Row, sources: Sequence[funders.NhsSource]
) -> list[tuple[funders.NhsSource, int]]:
    """Each source with the net NHS pence it has in the budget (what it paid in less what went
    back to it), from the ledger's posted flows of the budget's NHS account."""
    net: dict[uuid.UUID, int] = {}
    for flow in await ledger_reads.flows(conn, [budget["nhs_account_id"]]):
        if flow.counterparty_kind in (chart.RING_FENCE, chart.ALLOCATION):
            before = net.get(flow.counterparty_id, 0)
            net[flow.counterparty_id] = before + flow.in_pence - flow.out_pence
    return [(s, net.get(s.account_id, 0)) for s in sources]


async def _council_pot_for(conn: asyncpg.Connection, budget: Row) -> uuid.UUID:
    if budget["council_pot_account_id"] is not None:
        return uuid.UUID(str(budget["council_pot_account_id"]))
    row = await repo.get_council_allocation(
        conn, budget["council_gss_code"], budget["financial_year"]
    )
    if row is None:
        raise errors.precondition(
            errors.COUNCIL_ALLOCATION_NOT_SET,
            f"council {budget['council_gss_code']} has no personal-budget pot for the year",
        )
    return uuid.UUID(str(row["account_id"]))


def refuse_closed(closed: bool) -> None:
    if closed:
        raise errors.precondition(
            errors.YEAR_CLOSED, "the financial year is closed: its ring-fence funds nothing more"
        )


NhsFunding = list[tuple[funders.NhsSource, int]]  # source, signed pence (+ in, - back)


async def _funding_moves(
    conn: asyncpg.Connection, budget: Row, amounts: Mapping[FundingStream, int], reason: str
) -> tuple[list[Move], dict[str, uuid.UUID], NhsFunding]:
    """Moves from each funder into the budget's stream accounts, the funders used, and where
    the NHS money comes from.

    NHS money follows the PHB floor (`funders.draw_nhs`): the cohort's ring-fence, then the
    general ring-fence, then the general allocation, each move naming its source account. The
    allocation row is locked FOR UPDATE first, so the balances read are the ones moved from."""
    sources: tuple[funders.NhsSource, ...] = ()
    available: dict[uuid.UUID, int] = {}
    if amounts.get(FundingStream.NHS, 0) > 0:
        allocation, sources = await _nhs_sources(conn, budget, lock="UPDATE")
        refuse_closed(allocation["closed_on"] is not None)
        records = await store.lookup_accounts(conn, [s.account_id for s in sources])
        available = {r.account.id: r.balance.available for r in records}
    pot = None
    if amounts.get(FundingStream.COUNCIL, 0) > 0:
        pot = await _council_pot_for(conn, budget)
    return funding_moves_from(budget, amounts, reason, sources, available, pot)


def funding_moves_from(
    budget: Mapping[str, Any],
    amounts: Mapping[FundingStream, int],
    reason: str,
    sources: Sequence[funders.NhsSource],
    available: Mapping[uuid.UUID, int],
    council_pot: uuid.UUID | None,
) -> tuple[list[Move], dict[str, uuid.UUID], NhsFunding]:
    """The moves of `_funding_moves` from what it read: the NHS sources in the PHB floor's
    order with their available pence (`funders.draw_nhs` decides the draw, raising
    NHS_ALLOCATION_EXHAUSTED) and the council's pot (needed when the council stream is
    positive)."""
    moves: list[Move] = []
    found: dict[str, uuid.UUID] = {}
    drawn: NhsFunding = []
    bid = str(budget["budget_id"])
    need = amounts.get(FundingStream.NHS, 0)
    if need > 0:
        drawn = funders.draw_nhs(need, [(s, available[s.account_id]) for s in sources])
        if sources[0].ring_fenced:
            found["ring_fence_account_id"] = sources[0].account_id
        for source, pence in drawn:
            moves.append(
                Move(
                    source.account_id,
                    budget["nhs_account_id"],
                    pence,
                    reason,
                    budget_ref=bid,
                    shortfall=funding.nhs_short(source.account_id, need),
                )
            )
    if amounts.get(FundingStream.COUNCIL, 0) > 0:
        assert council_pot is not None
        pot = found["council_pot_account_id"] = council_pot
        need = amounts[FundingStream.COUNCIL]
        moves.append(
            Move(
                pot,
                budget["council_account_id"],
                need,
                reason,
                budget_ref=bid,
                shortfall=funding.council_pot_short(pot, need),
            )
        )
    if amounts.get(FundingStream.CLIENT, 0) > 0:
        moves.append(
            Move(
                budget["contribution_account_id"],
                budget["client_account_id"],
                amounts[FundingStream.CLIENT],
                reason,
                budget_ref=bid,
            )
        )
    return moves, found, drawn


async def _return_moves(
    conn: asyncpg.Connection,
    budget: Row,
    amounts: Mapping[FundingStream, int],
    reason: str,
    shortfall: Callable[[str, int], DomainError] = funding.cut_too_deep,
) -> tuple[list[Move], NhsFunding]:
    """Moves from the budget's stream accounts back to the funders that paid in, and where the
    NHS money goes. NHS money goes back to the sources that paid it, the last drawn first
    (`funders.give_back_nhs`); what goes back to a ring-fence of a closed year goes on to the
    commissioner's general account. A stream short of its amount raises
    `shortfall(stream, amount)` (a cut below what is spent, unless the caller says otherwise)."""
    moves: list[Move] = []
    given: NhsFunding = []
    bid = str(budget["budget_id"])
    nhs = amounts.get(FundingStream.NHS, 0)
    if nhs > 0:
        allocation, sources = await _nhs_sources(conn, budget)
        general = uuid.UUID(str(allocation["allocation_account_id"]))
        closed = allocation["closed_on"] is not None
        for source, pence in funders.give_back_nhs(nhs, await _nhs_funded(conn, budget, sources)):
            given.append((source, -pence))
            moves.append(
                Move(
                    budget["nhs_account_id"],
                    source.account_id,
                    pence,
                    reason,
                    budget_ref=bid,
                    shortfall=shortfall("NHS", nhs),
                )
            )
            if closed and source.ring_fenced:
                moves.append(Move(source.account_id, general, pence, "year_end"))
    council = amounts.get(FundingStream.COUNCIL, 0)
    if council > 0:
        moves.append(
            Move(
                budget["council_account_id"],
                await _council_pot_for(conn, budget),
                council,
                reason,
                budget_ref=bid,
                shortfall=shortfall("COUNCIL", council),
            )
        )
    client = amounts.get(FundingStream.CLIENT, 0)
    if client > 0:
        moves.append(
            Move(
                budget["client_account_id"],
                budget["contribution_account_id"],
                client,
                reason,
                budget_ref=bid,
                shortfall=shortfall("CLIENT", client),
            )
        )
    return moves, given


def nhs_funding_events(funding_list: NhsFunding) -> list[ev.NhsFunding]:
    return [
        ev.NhsFunding(
            account_id=str(source.account_id),
            ring_fence=source.ring_fenced,
            cohort=source.cohort or "",
            pence=pence,
        )
        for source, pence in funding_list
    ]


# -- agree --------------------------------------------------------------------------------------


def plan_totals(lines: Sequence[Mapping[str, Any]]) -> dict[FundingStream, int]:
    return {
        FundingStream.NHS: sum(line["nhs_pence"] for line in lines),
        FundingStream.COUNCIL: sum(line["council_pence"] for line in lines),
        FundingStream.CLIENT: sum(line["client_pence"] for line in lines),
    }


async def agree_budget(
    pool: asyncpg.Pool, request: pb.AgreeBudgetRequest, today: Today, policy: CategoryPolicy
) -> pb.Budget:
    v = Violations()
    check_request_id(request.request_id, v)
    budget_id = require_uuid(request.budget_id, "budget_id", v)
    agreed_on = parse_date(request.agreed_on, "agreed_on", v)
    v.raise_if_any()

    async def effect(conn: asyncpg.Connection) -> pb.Budget:
        return await _agree(conn, budget_id, agreed_on or today(), request.request_id, policy)

    return await run_idempotent(pool, SCHEMA, "AgreeBudget", request, pb.Budget, effect)


async def _agree(
    conn: asyncpg.Connection,
    budget_id: uuid.UUID,
    agreed_on: date,
    request_id: str,
    policy: CategoryPolicy,
) -> pb.Budget:
    budget = await _locked_budget(conn, budget_id)
    _require_status(budget, BudgetStatus.DRAFT)
    check_date(budget, "agreed_on", agreed_on)
    await _person_who_may_have_a_budget(conn, budget["person_id"])
    # What the budget rests on may have changed since it was drafted (a later refusal).
    await _eligible_cohort(conn, budget["person_id"], budget["cohort"])
    lines = await repo.plan_lines(conn, budget_id)
    check_plan_not_empty(lines)
    # Lines planned under an older policy: none is agreed (its money moved) that cannot be paid.
    refuse_excluded(
        policy, [("plan_line_id", str(line["plan_line_id"]), line["category"]) for line in lines]
    )
    check_plan_funding(budget, lines)
    totals = plan_totals(lines)
    moves, used, drawn = await _funding_moves(conn, budget, totals, "budget_agreed")
    await funding.move_money(conn, moves)
    budget = await repo.update_budget(
        conn,
        budget_id,
        1,
        {
            "status": BudgetStatus.AGREED,
            "agreed_nhs_pence": totals[FundingStream.NHS],
            "agreed_council_pence": totals[FundingStream.COUNCIL],
            "agreed_client_pence": totals[FundingStream.CLIENT],
            "agreed_on": agreed_on,
            **used,
        },
    )
    await outgoing.publish_budget(conn, budget, request_id, agreed_event(budget, lines, drawn))
    return await mapping.budget_message(conn, budget)


def check_plan_not_empty(lines: Sequence[Any]) -> None:
    """A budget is agreed with at least one plan line (FAILED_PRECONDITION PLAN_EMPTY)."""
    if not lines:
        raise errors.precondition(errors.PLAN_EMPTY, "agree a plan with at least one line")


def agreed_event(budget: Row, lines: Sequence[Row], drawn: NhsFunding) -> ev.BudgetAgreed:
    return ev.BudgetAgreed(
        budget_id=str(budget["budget_id"]),
        person_id=str(budget["person_id"]),
        commissioner_ods_code=budget["commissioner_ods_code"],
        council_gss_code=budget["council_gss_code"] or "",
        nhs_pence=budget["agreed_nhs_pence"],
        council_pence=budget["agreed_council_pence"],
        client_pence=budget["agreed_client_pence"],
        agreed_on=mapping.iso(budget["agreed_on"]),
        financial_year=budget["financial_year"],
        cohort=budget["cohort"],
        child=budget["child"],
        start_date=mapping.iso(budget["start_date"]),
        end_date=mapping.iso(budget["end_date"]),
        stream_accounts=mapping.stream_account_events(budget),
        plan_lines=[mapping.line_terms_event(line) for line in lines],
        agreed_pence=budget["agreed_nhs_pence"]
        + budget["agreed_council_pence"]
        + budget["agreed_client_pence"],
        budget_version=budget["version"],
        nhs_funding=nhs_funding_events(drawn),
    )


def check_date(budget: Row, field: str, day: date, start_date: date | None = None) -> None:
    """Refuse an agreement, notice or end date outside the budget's window (the domain rule);
    an end also not before `start_date`, the budget's first day."""
    refused = model.budget_date_refusal(
        field,
        day,
        year=budget["financial_year"],
        end_date=budget["end_date"],
        start_date=start_date,
    )
    if refused is not None:
        raise refused


# -- revise -------------------------------------------------------------------------------------


def _check_revision(request: pb.ReviseBudgetRequest, v: Violations) -> None:
    reasons = [r.strip() for r in request.reasons]
    v.check(1 <= len(reasons) <= model.REASONS_MAX, "reasons", f"1 to {model.REASONS_MAX} reasons")
    v.check(
        all(0 < len(r) <= model.TEXT_LENGTH_MAX for r in reasons),
        "reasons",
        "each reason is 1 to 200 characters",
    )
    v.check(bool(request.notice_date), "notice_date", "required: the date of written notice")
    v.check(
        bool(request.add_lines or request.remove_plan_line_ids),
        "add_lines",
        "a revision adds or removes at least one plan line",
    )
    v.check(
        len(set(request.remove_plan_line_ids)) == len(request.remove_plan_line_ids),
        "remove_plan_line_ids",
        "each line at most once",
    )


async def revise_budget(
    pool: asyncpg.Pool, request: pb.ReviseBudgetRequest, policy: CategoryPolicy
) -> pb.Budget:
    v = Violations()
    check_request_id(request.request_id, v)
    budget_id = require_uuid(request.budget_id, "budget_id", v)
    _check_revision(request, v)
    notice = parse_date(request.notice_date, "notice_date", v)
    added = [validation.plan_line(x, f"add_lines[{i}]", v) for i, x in enumerate(request.add_lines)]
    removed = [
        require_uuid(x, f"remove_plan_line_ids[{i}]", v)
        for i, x in enumerate(request.remove_plan_line_ids)
    ]
    v.raise_if_any()
    assert notice is not None

    async def effect(conn: asyncpg.Connection) -> pb.Budget:
        refuse_excluded(
            policy,
            [("field", f"add_lines[{i}].category", t.category) for i, t in enumerate(added)],
        )
        return await _revise(conn, request, budget_id, notice, added, removed)

    return await run_idempotent(pool, SCHEMA, "ReviseBudget", request, pb.Budget, effect)


async def _removable(
    conn: asyncpg.Connection, budget: Row, lines: Sequence[Row], ids: Sequence[uuid.UUID]
) -> list[Row]:
    """The lines to remove; one with payments (posted or reserved) against it stays."""
    chosen = [_find_line(lines, i) for i in ids]
    stream_ids = [a for _, a in mapping.stream_accounts(budget)]
    use = await ledger_reads.plan_line_use(conn, stream_ids, ids)
    for line_id, (spent, reserved) in use.items():
        if spent or reserved:
            raise errors.precondition(
                errors.PLAN_LINE_HAS_PAYMENTS,
                "a plan line with payments against it cannot be removed",
                plan_line_id=line_id,
            )
    return chosen


async def _revise(
    conn: asyncpg.Connection,
    request: pb.ReviseBudgetRequest,
    budget_id: uuid.UUID,
    notice: date,
    added: Sequence[model.PlanLineTerms],
    removed_ids: Sequence[uuid.UUID],
) -> pb.Budget:
    budget = await _locked_budget(conn, budget_id)
    _require_status(budget, BudgetStatus.AGREED)
    check_date(budget, "notice_date", notice)
    lines = await repo.plan_lines(conn, budget_id)
    removed = await _removable(conn, budget, lines, removed_ids)
    check_lines_fit(budget, added, len(lines) - len(removed))
    revision = budget["revision"] + 1
    new_rows = [line_row(budget_id, t, revision) for t in added]
    kept = [line for line in lines if line["plan_line_id"] not in set(removed_ids)]
    funders.check_client_contribution(
        sum(x["client_pence"] for x in [*kept, *new_rows]), budget["client_contribution_pence"]
    )
    after = plan_totals([*kept, *new_rows])
    before = {s: budget[f"agreed_{s.lower()}_pence"] for s in model.STREAMS}
    delta = {s: after[s] - before[s] for s in model.STREAMS}
    raises = {s: d for s, d in delta.items() if d > 0}
    cuts = {s: -d for s, d in delta.items() if d < 0}
    moves, used, drawn = await _funding_moves(conn, budget, raises, "budget_raised")
    back, given = await _return_moves(conn, budget, cuts, "budget_cut")
    await funding.move_money(conn, [*moves, *back])
    for row in new_rows:
        await repo.insert_plan_line(conn, row)
    await repo.remove_plan_lines(conn, list(removed_ids), revision)
    await repo.insert_revision(
        conn,
        budget_id,
        revision=revision,
        reasons=[r.strip() for r in request.reasons],
        notice_date=notice,
        nhs_delta=delta[FundingStream.NHS],
        council_delta=delta[FundingStream.COUNCIL],
        client_delta=delta[FundingStream.CLIENT],
    )
    changes: dict[str, Any] = {f"agreed_{s.lower()}_pence": after[s] for s in model.STREAMS}
    changes |= {
        f"returned_{s.lower()}_pence": budget[f"returned_{s.lower()}_pence"] + cuts.get(s, 0)
        for s in model.STREAMS
    }
    changes |= {"revision": revision, **used}
    events = len(new_rows) + len(removed) + 1
    budget = await repo.update_budget(conn, budget_id, events, changes)
    revised = ev.BudgetRevised(
        **mapping.budget_context(budget),
        revision=revision,
        reasons=[r.strip() for r in request.reasons],
        notice_date=notice.isoformat(),
        nhs_pence=after[FundingStream.NHS],
        council_pence=after[FundingStream.COUNCIL],
        client_pence=after[FundingStream.CLIENT],
        nhs_delta_pence=delta[FundingStream.NHS],
        council_delta_pence=delta[FundingStream.COUNCIL],
        client_delta_pence=delta[FundingStream.CLIENT],
        added_lines=[mapping.line_terms_event(r) for r in new_rows],
        removed_plan_line_ids=[str(i) for i in removed_ids],
        child=budget["child"],
        budget_version=budget["version"],
        nhs_funding=nhs_funding_events([*drawn, *given]),
    )
    payloads = [
        *(line_added(budget, r, revision) for r in new_rows),
        *(_line_removed(budget, r, revision) for r in removed),
        revised,
    ]
    await outgoing.publish_budget(conn, budget, request.request_id, *payloads)
    return await mapping.budget_message(conn, budget)


# -- end ----------------------------------------------------------------------------------------


async def end_budget(pool: asyncpg.Pool, request: pb.EndBudgetRequest, today: Today) -> pb.Budget:
    v = Violations()
    check_request_id(request.request_id, v)
    budget_id = require_uuid(request.budget_id, "budget_id", v)
    ended_on = parse_date(request.ended_on, "ended_on", v)
    notice = parse_date(request.notice_date, "notice_date", v)
    v.check(len(request.note) <= model.TEXT_LENGTH_MAX, "note", "up to 200 characters")
    if not v:
        # Ending is the deepest cut: written notice and reasons, the end not before the notice.
        for field, description in model.end_notice_faults(
            request.reasons, notice, ended_on or today(), today()
        ):
            v.add(field, description)
    v.raise_if_any()
    assert notice is not None

    async def effect(conn: asyncpg.Connection) -> pb.Budget:
        budget = await _locked_budget(conn, budget_id)
        if budget["status"] == BudgetStatus.ENDED:
            raise errors.precondition(errors.BUDGET_ENDED, "the budget has ended already")
        if ended_on is not None:
            check_date(budget, "ended_on", ended_on, start_date=budget["start_date"])
        ended = await finish(
            conn,
            budget,
            EndReason.REQUESTED,
            ended_on or today(),
            request.request_id,
            request.note,
            notice=EndNotice(tuple(r.strip() for r in request.reasons), notice),
        )
        return await mapping.budget_message(conn, ended)

    return await run_idempotent(pool, SCHEMA, "EndBudget", request, pb.Budget, effect)


END_ATTEMPTS_MAX = 5  # re-reads of the balances when payments commit while a budget ends


async def _return_what_is_left(
    conn: asyncpg.Connection, budget: Row
) -> tuple[dict[FundingStream, int], int, NhsFunding]:
    """Return each stream's available balance to its funder; (returned per stream, pence still
    reserved by pending payments, which stay until payment resolves them, where the NHS money
    went back to).

    The balances are read, then moved: a payment that commits in between makes the move exceed
    what is available. That is no reason to refuse the end (the caller could not fix it), so
    the moves are undone to a savepoint and the balances read again, up to END_ATTEMPTS_MAX
    times; then `Aborted` (ABORTED, reason CONCURRENT_PAYMENTS: retry the same request)."""
    accounts = [a for _, a in mapping.stream_accounts(budget)]
    for _ in range(END_ATTEMPTS_MAX):
        left = dict.fromkeys(model.STREAMS, 0)
        reserved = 0
        for stream, record in zip(
            model.STREAMS, await store.lookup_accounts(conn, accounts), strict=False
        ):
            assert record.account.funding_stream == stream
            left[stream] = record.balance.available
            reserved += record.balance.debits_pending
        await conn.execute("SAVEPOINT return_what_is_left")
        try:
            back, given = await _return_moves(conn, budget, left, "budget_ended", _balance_moved)
            await funding.move_money(conn, back)
        except Aborted:
            await conn.execute("ROLLBACK TO SAVEPOINT return_what_is_left")
            continue
        await conn.execute("RELEASE SAVEPOINT return_what_is_left")
        return left, reserved, given
    raise _balance_moved("", 0)


def _balance_moved(stream: str, amount: int) -> Aborted:
    return Aborted(
        reason=errors.CONCURRENT_PAYMENTS,
        message="payments were committing against the budget while it ended; retry the request",
        metadata={"funding_stream": stream} if stream else {},
    )


@dataclass(frozen=True)
class EndNotice:
    """The written notice of a requested end: its reasons and date."""

    reasons: tuple[str, ...]
    notice_date: date


async def finish(
    conn: asyncpg.Connection,
    budget: Row,
    reason: EndReason,
    ended_on: date,
    request_id: str,
    note: str = "",
    notice: EndNotice | None = None,
) -> Row:
    """End a locked, open budget: what is available in each stream goes back to its funder, to
    the penny (money still reserved by pending payments stays until payment resolves it)."""
    assert budget["status"] != BudgetStatus.ENDED
    was_agreed = budget["status"] == BudgetStatus.AGREED
    left = dict.fromkeys(model.STREAMS, 0)
    reserved = 0
    given: NhsFunding = []
    if was_agreed:
        left, reserved, given = await _return_what_is_left(conn, budget)
    changes: dict[str, Any] = {
        f"returned_{s.lower()}_pence": budget[f"returned_{s.lower()}_pence"] + left[s]
        for s in model.STREAMS
    }
    changes |= {
        "status": BudgetStatus.ENDED,
        "ended_on": ended_on,
        "end_reason": reason,
        "note": note,
    }
    if notice is not None:
        changes |= {"end_reasons": list(notice.reasons), "end_notice_date": notice.notice_date}
    budget = await repo.update_budget(conn, budget["budget_id"], 1, changes)
    payload = ev.BudgetEnded(
        **mapping.budget_context(budget),
        reason=str(reason),
        ended_on=ended_on.isoformat(),
        nhs_returned_pence=left[FundingStream.NHS],
        council_returned_pence=left[FundingStream.COUNCIL],
        client_returned_pence=left[FundingStream.CLIENT],
        reserved_pence=reserved,
        child=budget["child"],
        was_agreed=was_agreed,
        nhs_funding=nhs_funding_events(given),
        reasons=list(notice.reasons) if notice else [],
        notice_date=notice.notice_date.isoformat() if notice else "",
    )
    await outgoing.publish_budget(conn, budget, request_id, payload)
    return budget


# -- reads --------------------------------------------------------------------------------------


async def get_budget(pool: asyncpg.Pool, request: pb.GetBudgetRequest) -> pb.Budget:
    v = Violations()
    budget_id = require_uuid(request.budget_id, "budget_id", v)
    v.raise_if_any()
    async with pool.acquire() as conn:
        budget = await repo.get_budget(conn, budget_id)
        if budget is None:
            raise errors.not_found(errors.BUDGET_NOT_FOUND, "budget", str(budget_id))
        _check_scope(budget)
        return await mapping.budget_message(conn, budget)


def _list_filters(request: pb.ListBudgetsRequest, v: Violations) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if request.commissioner_ods_code:
        validation.check_ods(request.commissioner_ods_code, "commissioner_ods_code", v)
        filters["commissioner_ods_code"] = request.commissioner_ods_code
    if request.council_gss_code:
        validation.check_gss(request.council_gss_code, "council_gss_code", v)
        filters["council_gss_code"] = request.council_gss_code
    if request.person_id:
        filters["person_id"] = require_uuid(request.person_id, "person_id", v)
    if request.status:
        v.check(request.status in pb.BudgetStatus.values(), "status", "not a known status")
        if request.status in pb.BudgetStatus.values():
            filters["status"] = pb.BudgetStatus.Name(request.status).removeprefix("BUDGET_STATUS_")
    if request.financial_year:
        validation.check_year(request.financial_year, "financial_year", v)
        filters["financial_year"] = request.financial_year
    return filters


async def list_budgets(
    pool: asyncpg.Pool, request: pb.ListBudgetsRequest
) -> pb.ListBudgetsResponse:
    v = Violations()
    size = paging.page_size(request.page_size, v)
    filters = _list_filters(request, v)
    query = repr(sorted((k, str(x)) for k, x in filters.items()))
    key = paging.decode_token(request.page_token, query, v)
    v.raise_if_any()
    after = uuid.UUID(key[0]) if key else None
    async with pool.acquire() as conn:
        rows = await repo.list_budgets(conn, filters, after, size + 1)
        # Only budgets of the caller's organisations are shown (a page may then be short).
        budgets = [await mapping.budget_message(conn, r) for r in rows[:size] if _in_scope(r)]
    last = rows[size - 1]["budget_id"] if len(rows) > size else None
    token = paging.encode_token([str(last)], query) if last is not None else ""
    return pb.ListBudgetsResponse(budgets=budgets, next_page_token=token)
