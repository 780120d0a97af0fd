"""ImportBudgets: up to 1,000 existing agreed budgets in one call (ADR 23, issue 17).

Each item is a person's CreateBudget, AddPlanLine for each line and AgreeBudget in one, checked
by the functions those unary calls use (budgets.create_fields, validation.plan_line,
decide_creation, refuse_excluded, check_lines_fit, funders.check_client_contribution,
check_date, check_plan_not_empty, check_plan_funding, plan_totals, funding_moves_from), with the
same permission rules and organisation scope (shared/permissions.py), the same events and one
audit record each. allocation knows people only from entitlement's events: an item whose
person's decisions have not arrived yet is refused PERSON_NOT_FOUND, NO_ELIGIBILITY or
NO_PHB_GRANTED, and its retry later imports it.

Decided in memory on state read once per call (people and their standings locked, budgets of
the year, organisations, allocations locked FOR UPDATE with their ring-fences, council pots,
the funders' ledger balances, drawn down item by item), written in ONE transaction with a few
set-based statements: claim the request ids, open every budget's ledger accounts in one call,
insert budgets and plan lines, move every budget's funding as its own linked group in one ledger
call (create_transfer_groups), outbox events, answers, dropped claims, audit. A group the ledger
refuses (only a funder drawn down meanwhile by something this call did not lock) refuses its
item, and the writes are made again without it, so nothing of a refused item remains.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg

from onebudget.allocation.adapters import repository as repo
from onebudget.allocation.domain import errors, funders, model
from onebudget.allocation.domain.model import BudgetStatus
from onebudget.allocation.service_layer import funding, outgoing, validation
from onebudget.allocation.service_layer.budgets import (
    SCHEMA,
    Today,
    agreed_event,
    check_date,
    check_lines_fit,
    check_person,
    check_plan_funding,
    check_plan_not_empty,
    create_fields,
    created_event,
    decide_creation,
    draft_row,
    funding_moves_from,
    line_added,
    line_row,
    plan_totals,
    refuse_closed,
    refuse_excluded,
    standings_of,
    stream_accounts_of,
)
from onebudget.allocation.service_layer.funding import Move
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.ledger import store
from onebudget.ledger.domain import Account, FundingStream
from onebudget.shared import bulk
from onebudget.shared.errors import Aborted, DomainError, Violations
from onebudget.shared.idempotency import answer_many, drop_many
from onebudget.shared.identity import Actor, current_actor
from onebudget.shared.outbox import OutgoingEvent, add_to_outbox, new_event
from onebudget.shared.permissions import check_permission
from onebudget.shared.policy import CategoryPolicy
from onebudget.shared.request_keys import IdempotencyKey
from onebudget.shared.validation import parse_date

METHOD = "ImportBudgets"
_SERVICE = "/onebudget.allocation.v1.AllocationService/"
# An item is these calls: the caller must be allowed each (shared/permissions.py).
UNARY_METHODS = tuple(_SERVICE + m for m in ("CreateBudget", "AddPlanLine", "AgreeBudget"))
WRITE_ROUNDS_MAX = 3  # the writes are made again at most this often without refused groups
REASON = "budget_agreed"


@dataclass(frozen=True)
class Checked:
    """An item that passed the checks needing no stored state."""

    index: int
    key: IdempotencyKey
    item: pb.ImportBudgetItem
    person_id: uuid.UUID
    period: tuple[date, date]
    lines: tuple[model.PlanLineTerms, ...]
    agreed_on: date


@dataclass
class Planned:
    """An item decided: its rows, accounts, money moves and events."""

    checked: Checked
    budget: dict[str, Any]
    lines: list[dict[str, Any]]
    accounts: list[Account]
    moves: list[Move]
    drawn: list[tuple[funders.NhsSource, int]]


def item_error(error: DomainError) -> pb.ItemError:
    """A refusal as the item's result carries it (shared/bulk.error_fields)."""
    fields = bulk.error_fields(error)
    violations = fields.pop("field_violations")
    return pb.ItemError(
        **fields,
        field_violations=[pb.ItemFieldViolation(field=f, description=d) for f, d in violations],
    )


class BudgetsImport:
    def __init__(self, pool: asyncpg.Pool, today: Today, policy: CategoryPolicy) -> None:
        """`today()` (England's date) is an item's agreement date when it gives none; `policy`
        refuses plan lines of excluded categories."""
        self._pool = pool
        self._today = today
        self._policy = policy

    async def import_budgets(self, request: pb.ImportBudgetsRequest) -> pb.ImportBudgetsResponse:
        """Import each item (module docstring). Raises InvalidArgument INVALID_REQUEST for the
        call itself (its request_id, no items or more than bulk.ITEMS_MAX); every other refusal
        is the item's result."""
        bulk.check_call(request.request_id, request.items)
        actor = current_actor()
        outcomes: list[bulk.Outcome | None] = [None] * len(request.items)
        checked: dict[int, Checked] = {}
        for i, item in enumerate(request.items):
            try:
                checked[i] = _check(i, item, actor, self._today())
            except DomainError as refused:
                outcomes[i] = refused
        async with self._pool.acquire() as conn, conn.transaction():
            keys = {i: c.key for i, c in checked.items()}
            claims = await bulk.claim(conn, SCHEMA, keys, actor, pb.ImportedBudget)
            if claims.fresh:
                fresh = [checked[i] for i in claims.fresh]
                await _Batch(conn, self._policy, outcomes).run(fresh)
            claims.finish(outcomes)
            resources = [
                f"budgets/{o.budget_id}"
                if isinstance(o, pb.ImportedBudget)
                else (f"people/{c.person_id}" if (c := checked.get(i)) else "-")
                for i, o in enumerate(outcomes)
            ]
            await bulk.audit_items(
                conn, SCHEMA, actor, METHOD, request.items, outcomes, resources, claims.replayed
            )
        results = []
        for outcome in outcomes:
            if isinstance(outcome, pb.ImportedBudget):
                results.append(pb.ImportBudgetResult(imported=outcome))
            else:
                assert isinstance(outcome, DomainError)
                results.append(pb.ImportBudgetResult(error=item_error(outcome)))
        return pb.ImportBudgetsResponse(results=results)


def _check(i: int, item: pb.ImportBudgetItem, actor: Actor, today: date) -> Checked:
    """The checks needing no stored state, as the unary calls make them before their
    transaction: fields, permission of each unary call."""
    prefix = f"items[{i}]."
    v = Violations()
    bulk.check_item_id(item.request_id, prefix + "request_id", v)
    v.check(
        not item.budget.request_id,
        prefix + "budget.request_id",
        "must be empty: the item's request_id names the whole item",
    )
    person_id, period = create_fields(item.budget, v, prefix + "budget.")
    lines = tuple(
        validation.plan_line(line, f"{prefix}lines[{j}]", v) for j, line in enumerate(item.lines)
    )
    agreed_on = parse_date(item.agreed_on, prefix + "agreed_on", v)
    v.raise_if_any()
    for method in UNARY_METHODS:
        check_permission(actor, method)
    key = IdempotencyKey.of(METHOD, item)
    return Checked(i, key, item, person_id, period, lines, agreed_on or today)


@dataclass
class _State:
    """What one call read, and what its items drew down so far."""

    people: dict[uuid.UUID, Any]
    standings: dict[uuid.UUID, list[model.Standing]]
    open_budgets: dict[tuple[uuid.UUID, int], list[str]]
    commissioners: set[str]
    councils: set[str]
    allocations: dict[tuple[str, int], Any]
    fences: dict[tuple[str, int], list[Any]]
    pots: dict[tuple[str, int], Any]
    available: dict[uuid.UUID, int] = field(default_factory=dict)


class _Batch:
    """The fresh items of one call, decided and written in its transaction."""

    def __init__(
        self, conn: asyncpg.Connection, policy: CategoryPolicy, outcomes: list[bulk.Outcome | None]
    ) -> None:
        self.conn = conn
        self.policy = policy
        self.outcomes = outcomes

    async def run(self, fresh: list[Checked]) -> None:
        """Decide and write the items; each refused one's claim is dropped (a refusal stores
        nothing, so its retry is decided afresh)."""
        going = fresh
        for _ in range(WRITE_ROUNDS_MAX):
            state = await self._read(going)
            planned: list[Planned] = []
            for c in going:
                try:
                    planned.append(self._plan(c, state))
                except DomainError as refused:
                    self.outcomes[c.index] = refused
            try:
                async with self.conn.transaction():  # a savepoint: a refused group undoes all
                    await self._write(planned)
                going = []
                break
            except _GroupsRefused as refused:
                for index, error in refused.errors.items():
                    self.outcomes[index] = error
                going = [p.checked for p in planned if p.checked.index not in refused.errors]
        for c in going:  # funders contended in every round: the caller may retry these
            self.outcomes[c.index] = Aborted(
                reason=errors.CONCURRENT_PAYMENTS,
                message="the funders' accounts moved while the import drew on them; retry",
            )
        await drop_many(
            self.conn,
            SCHEMA,
            [c.key.request_id for c in fresh if isinstance(self.outcomes[c.index], DomainError)],
        )

    async def _read(self, items: list[Checked]) -> _State:
        ids = sorted({c.person_id for c in items})
        people = await repo.people_for_update(self.conn, ids)
        odss = {c.item.budget.commissioner_ods_code for c in items}
        gsss = {c.item.budget.council_gss_code for c in items}
        for p in people.values():
            odss.add(p["commissioner_ods_code"] or "")
            gsss.add(p["council_gss_code"] or "")
        commissioners, councils = await repo.known_organisations(
            self.conn, sorted(odss - {""}), sorted(gsss - {""})
        )
        years = {c.item.budget.financial_year for c in items}
        money_keys = [(o, y) for o in sorted(commissioners) for y in sorted(years)]
        pot_keys = [(g, y) for g in sorted(councils) for y in sorted(years)]
        allocations = await repo.allocations_for_update(self.conn, money_keys)
        fences = await repo.ring_fences_of(self.conn, money_keys)
        pots = await repo.council_allocations_of(self.conn, pot_keys)
        accounts = [uuid.UUID(str(a["allocation_account_id"])) for a in allocations.values()]
        accounts += [uuid.UUID(str(f["account_id"])) for fs in fences.values() for f in fs]
        accounts += [uuid.UUID(str(p["account_id"])) for p in pots.values()]
        records = await store.lookup_accounts(self.conn, accounts)
        return _State(
            people=people,
            standings={
                pid: standings_of(rows)
                for pid, rows in (await repo.standings_of_people(self.conn, ids)).items()
            },
            open_budgets=await repo.open_budget_ids_of_people(self.conn, ids),
            commissioners=commissioners,
            councils=councils,
            allocations=allocations,
            fences=fences,
            pots=pots,
            available={r.account.id: r.balance.available for r in records},
        )

    def _plan(self, c: Checked, state: _State) -> Planned:
        """CreateBudget, AddPlanLine per line, AgreeBudget, in their order, by their rules."""
        request, year = c.item.budget, c.item.budget.financial_year
        person = check_person(state.people.get(c.person_id), c.person_id)
        open_ids = state.open_budgets.get((c.person_id, year), [])
        decided = decide_creation(
            request,
            person,
            state.standings.get(c.person_id, []),
            open_ids,
            state.commissioners,
            state.councils,
        )
        budget_id = uuid.uuid4()
        accounts = stream_accounts_of(budget_id, year, council=bool(decided.gss))
        budget = draft_row(
            budget_id,
            request,
            c.person_id,
            (decided.ods, decided.gss),
            decided.stands,
            person["child"],
            c.period,
            accounts,
        )
        lines: list[dict[str, Any]] = []
        for j, terms in enumerate(c.lines):  # AddPlanLine
            refuse_excluded(self.policy, [("field", f"lines[{j}].category", terms.category)])
            check_lines_fit(budget, [terms], len(lines))
            line = line_row(budget_id, terms, 0)
            funders.check_client_contribution(
                sum(x["client_pence"] for x in [*lines, line]), budget["client_contribution_pence"]
            )
            lines.append(line)
        # AgreeBudget
        check_date(budget, "agreed_on", c.agreed_on)
        check_plan_not_empty(lines)
        refuse_excluded(
            self.policy, [("plan_line_id", str(x["plan_line_id"]), x["category"]) for x in lines]
        )
        check_plan_funding(budget, lines)
        totals = plan_totals(lines)
        moves, used, drawn = self._funding(budget, totals, state)
        open_ids.append(str(budget_id))  # one budget per person and year, within the call too
        state.open_budgets[(c.person_id, year)] = open_ids
        budget.update(
            status=BudgetStatus.AGREED,
            agreed_nhs_pence=totals[FundingStream.NHS],
            agreed_council_pence=totals[FundingStream.COUNCIL],
            agreed_client_pence=totals[FundingStream.CLIENT],
            agreed_on=c.agreed_on,
            version=2 + len(lines),  # created, each line added, agreed
            **used,
        )
        return Planned(c, budget, lines, accounts, moves, drawn)

    def _funding(
        self, budget: dict[str, Any], totals: dict[FundingStream, int], state: _State
    ) -> tuple[list[Move], dict[str, uuid.UUID], list[tuple[funders.NhsSource, int]]]:
        """`_funding_moves` on the call's state: the allocation (ALLOCATION_NOT_SET,
        YEAR_CLOSED), the PHB floor's sources with what the items before this one left in them,
        the council's pot (COUNCIL_ALLOCATION_NOT_SET, COUNCIL_POT_EXHAUSTED)."""
        key = (budget["commissioner_ods_code"], budget["financial_year"])
        sources: tuple[funders.NhsSource, ...] = ()
        if totals.get(FundingStream.NHS, 0) > 0:
            allocation = state.allocations.get(key)
            if allocation is None:
                raise errors.precondition(
                    errors.ALLOCATION_NOT_SET,
                    f"{key[0]} has no allocation (and so no PHB ring-fence) for {key[1]}",
                )
            refuse_closed(allocation["closed_on"] is not None)
            fences = {
                f["cohort"]: uuid.UUID(str(f["account_id"])) for f in state.fences.get(key, [])
            }
            general = uuid.UUID(str(allocation["allocation_account_id"]))
            sources = funders.nhs_sources(budget["cohort"], fences, general)
        pot = None
        council = totals.get(FundingStream.COUNCIL, 0)
        if council > 0:
            row = state.pots.get((budget["council_gss_code"], budget["financial_year"]))
            if row is None:
                raise errors.precondition(
                    errors.COUNCIL_ALLOCATION_NOT_SET,
                    f"council {budget['council_gss_code']} has no personal-budget pot for the year",
                )
            pot = uuid.UUID(str(row["account_id"]))
            if state.available.get(pot, 0) < council:
                raise funding.council_pot_short(pot, council)
        moves, used, drawn = funding_moves_from(
            budget, totals, REASON, sources, state.available, pot
        )
        for source, pence in drawn:
            state.available[source.account_id] -= pence
        if pot is not None:
            state.available[pot] -= council
        return moves, used, drawn

    async def _write(self, planned: list[Planned]) -> None:
        if not planned:
            return
        await funding.open_accounts(self.conn, [a for p in planned for a in p.accounts])
        groups = [[m for m in p.moves if m.amount > 0] for p in planned]
        results = await store.create_transfer_groups(
            self.conn, [funding.transfers_of(g) for g in groups]
        )
        refused: dict[int, DomainError] = {}
        for p, group, result in zip(planned, groups, results, strict=True):
            try:
                funding.raise_for(group, result)
            except DomainError as error:
                refused[p.checked.index] = error
        if refused:
            raise _GroupsRefused(refused)
        rows = await repo.insert_budgets(self.conn, [p.budget for p in planned])
        await repo.insert_plan_lines(self.conn, [x for p in planned for x in p.lines])
        by_id = {r["budget_id"]: r for r in rows}
        events: list[OutgoingEvent] = []
        answers: list[bytes] = []
        for p in planned:
            budget = by_id[p.budget["budget_id"]]
            payloads = [
                created_event(budget),
                *(line_added(budget, x, 0) for x in p.lines),
                agreed_event(budget, p.lines, p.drawn),
            ]
            events += [
                new_event(
                    payload,
                    source=outgoing.SOURCE,
                    aggregate_type="budget",
                    aggregate_id=str(budget["budget_id"]),
                    aggregate_version=v,
                    request_id=p.checked.key.request_id,
                )
                for v, payload in enumerate(payloads, start=1)
            ]
            imported = pb.ImportedBudget(
                budget_id=str(budget["budget_id"]),
                person_id=str(budget["person_id"]),
                plan_line_ids=[str(x["plan_line_id"]) for x in p.lines],
                agreed_nhs_pence=budget["agreed_nhs_pence"],
                agreed_council_pence=budget["agreed_council_pence"],
                agreed_client_pence=budget["agreed_client_pence"],
                version=budget["version"],
            )
            self.outcomes[p.checked.index] = imported
            answers.append(imported.SerializeToString())
        await add_to_outbox(self.conn, SCHEMA, events)
        await answer_many(self.conn, SCHEMA, [p.checked.key.request_id for p in planned], answers)


class _GroupsRefused(Exception):
    def __init__(self, errors: dict[int, DomainError]) -> None:
        super().__init__(f"{len(errors)} funding group(s) refused")
        self.errors = errors
