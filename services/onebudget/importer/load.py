"""Send the checked people of an import file to the services (docs/import.md).

Each person is the calls a commissioner's staff would make (RegisterPerson,
RecordEligibilityDecision, RequestPersonalHealthBudget, CreateBudget, AddPlanLine per line,
AgreeBudget), each with a request_id derived from the row's stable key (importer/rows.py), so a
re-run sends the same ids and every service answers as the first time: nothing is imported twice.
allocation learns eligibility and PHB decisions from entitlement's events, so a CreateBudget that
meets NO_ELIGIBILITY / NO_PHB_GRANTED / PERSON_NOT_FOUND waits for them (bounded) before it is
reported refused. A refusal of a person's call is that person's Refusal in the report; the other
people go on.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

from onebudget.allocation.v1 import allocation_service_pb2 as alloc
from onebudget.allocation.v1 import allocation_service_pb2_grpc as alloc_grpc
from onebudget.entitlement.domain import model as ent_model
from onebudget.entitlement.v1 import entitlement_service_pb2 as ent
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as ent_grpc
from onebudget.importer.rows import PersonBudget, Refusal
from onebudget.shared.channels import TokenSource, open_aio_channel
from onebudget.shared.client import RETRYING_CHANNEL_OPTIONS, error_details
from onebudget.shared.permissions import allowed_roles
from onebudget.shared.progress import Progress

T = TypeVar("T")
CONCURRENCY_MAX = 32  # people in flight at once
SETTLE_TIMEOUT_S = 120.0  # how long a CreateBudget waits for entitlement's events
SETTLE_WAIT_S = 0.1
SETTLE_WAIT_MAX_S = 2.0
CALL_TIMEOUT_S = 30.0
# allocation has not yet learnt the person's decisions from entitlement's events.
NOT_YET_KNOWN = ("NO_ELIGIBILITY", "NO_PHB_GRANTED", "PERSON_NOT_FOUND")
IMPORTED_REASON = "imported: an existing PHB the commissioner had agreed"
_SERVICES = {
    "entitlement": ent.DESCRIPTOR.services_by_name["EntitlementService"].full_name,
    "allocation": alloc.DESCRIPTOR.services_by_name["AllocationService"].full_name,
}
# The calls an import makes, as `/package.Service/Method` (shared/permissions.py's keys).
IMPORT_METHODS = (
    *(
        f"/{_SERVICES['entitlement']}/{m}"
        for m in (
            "RegisterPerson",
            "RecordEligibilityDecision",
            "GetCommissionerPolicy",
            "RequestPersonalHealthBudget",
        )
    ),
    *(f"/{_SERVICES['allocation']}/{m}" for m in ("CreateBudget", "AddPlanLine", "AgreeBudget")),
)


def importing_roles() -> list[str]:
    """The roles that may make every call of an import (shared/permissions.py decides)."""
    roles = frozenset.intersection(*(allowed_roles(m) for m in IMPORT_METHODS))
    return sorted(r.value for r in roles)


# Which column a refusal of each call is about, when the refusal names no field of the file.
_STEP_COLUMNS = {
    "RegisterPerson": "nhs_number",
    "RecordEligibilityDecision": "eligibility_category",
    "RequestPersonalHealthBudget": "eligibility_category",
    "CreateBudget": "financial_year",
    "AddPlanLine": "line_description",
    "AgreeBudget": "budget_start_date",
}
# A refused request's field, as the file's column.
_FIELD_COLUMNS = {
    "date_of_birth": "date_of_birth",
    "given_name": "given_name",
    "family_name": "family_name",
    "commissioner_ods_code": "commissioner_ods_code",
    "council_gss_code": "council_gss_code",
    "decided_on": "eligibility_decided_on",
    "requested_on": "eligibility_decided_on",
    "start_date": "budget_start_date",
    "agreed_on": "budget_start_date",
    "client_contribution_pence": "client_contribution_pence",
    "line.category": "line_category",
    "line.cost_per_occurrence_pence": "line_cost_per_occurrence_pence",
}


@dataclass
class Outcome:
    """What an import did: the agreed budgets by NHS number, and the refused rows."""

    budgets: dict[str, alloc.Budget] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)


def _person_refused(person: PersonBudget, refusal: Refusal) -> list[Refusal]:
    """A service's refusal of a person, and each other row of theirs (every refused row is in
    the report, as the file's own checks do it)."""
    return [refusal] + [
        Refusal(row, "", f"PERSON_REFUSED: row {refusal.row} of the same person is refused")
        for row in person.rows
        if row != refusal.row
    ]


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


@dataclass
class _Left:
    """What a person's calls had done before one was refused: the import does not undo it (no
    RPC deletes a person or a draft budget), so the report names it."""

    person_id: str = ""
    eligibility: bool = False
    phb: bool = False
    budget_id: str = ""
    lines: int = 0
    lines_total: int = 0

    def words(self) -> str:
        if not self.person_id:
            return ""
        done = [f"person {self.person_id}"]
        if self.eligibility:
            done.append("its granted eligibility")
        if self.phb:
            done.append("its granted PHB")
        if self.budget_id:
            done.append(
                f"DRAFT budget {self.budget_id} with {self.lines} of {self.lines_total} lines"
            )
        return "; left behind, partial: " + ", ".join(done)


def _with_left(refused: _Refused, left: _Left) -> Refusal:
    r = refused.refusal
    return Refusal(r.row, r.column, r.reason + left.words())


@dataclass
class _Stubs:
    entitlement: ent_grpc.EntitlementServiceStub
    allocation: alloc_grpc.AllocationServiceStub
    policies: dict[str, frozenset[ent_model.Category]] = field(default_factory=dict)
    policy_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


async def send(
    addresses: Mapping[str, str],
    people: list[PersonBudget],
    *,
    concurrency_max: int = CONCURRENCY_MAX,
    quiet: bool = False,
    token: TokenSource | str | None = None,
) -> Outcome:
    """Import `people` through the entitlement and allocation services at `addresses` (names
    "entitlement" and "allocation"), as the caller `token` names (default: the process's, the
    CLI's login). Never raises for a refused person: it is in the outcome's refusals (the
    person's first row, the column, the service's reason and message). Every call is the
    caller's own: the services check its role and its organisations (scope) row by row."""
    channels = [
        open_aio_channel(addresses[name], options=RETRYING_CHANNEL_OPTIONS, token=token)
        for name in ("entitlement", "allocation")
    ]
    # One progress helper for long work (shared/progress.py): a bar on a terminal, plain lines
    # otherwise; `quiet` (the bench, the tests) writes it nowhere.
    progress = Progress(
        # each person counts once done with, imported or refused: "processing", not "importing"
        "processing",
        len(people),
        unit="people",
        stream=io.StringIO() if quiet else None,
    )
    try:
        stubs = _Stubs(
            ent_grpc.EntitlementServiceStub(channels[0]),  # type: ignore[no-untyped-call]
            alloc_grpc.AllocationServiceStub(channels[1]),  # type: ignore[no-untyped-call]
        )
        outcome = Outcome()
        gate = asyncio.Semaphore(concurrency_max)
        person_ids: dict[str, str] = {}
        left: dict[str, _Left] = {}

        async def entitle(person: PersonBudget) -> None:
            async with gate:
                done = left.setdefault(person.nhs_number, _Left())
                try:
                    person_ids[person.nhs_number] = await _entitle(stubs, person, done)
                except _Refused as refused:
                    outcome.refusals += _person_refused(person, _with_left(refused, done))
                    progress.advance()

        async def fund(person: PersonBudget) -> None:
            async with gate:
                done = left[person.nhs_number]
                try:
                    budget = await _budget(stubs, person, person_ids[person.nhs_number], done)
                except _Refused as refused:
                    outcome.refusals += _person_refused(person, _with_left(refused, done))
                    progress.advance()
                    return
                outcome.budgets[person.nhs_number] = budget
            progress.advance()

        # Phase 1, entitlement: every person's decisions. allocation learns them from the
        # events meanwhile, so phase 2 seldom waits for them (a CreateBudget still does).
        await asyncio.gather(*(entitle(person) for person in people))
        # Phase 2, allocation: each entitled person's budget, its lines, its agreement. The
        # person entitled last goes first, alone: once allocation has learnt their decisions
        # it has learnt nearly everyone's (one stream, in order), and the rest seldom wait.
        entitled = [p for p in people if p.nhs_number in person_ids]
        if entitled:
            await fund(entitled[-1])
        await asyncio.gather(*(fund(p) for p in entitled[:-1]))
        progress.close()
        outcome.refusals.sort(key=lambda r: (r.row, r.column))
        return outcome
    finally:
        progress.close(finished=False)  # a no-op once closed above
        for channel in channels:
            await channel.close()


async def _call(step: str, row: int, call: Awaitable[T]) -> T:
    try:
        return await call
    except grpc.aio.AioRpcError as error:
        raise _Refused(_refusal(error, step, row)) from None


def _refusal(error: grpc.aio.AioRpcError, step: str, row: int) -> Refusal:
    info, bad = error_details(error)
    reason = info.reason if info is not None else error.code().name
    column = _STEP_COLUMNS[step]
    message = error.details() or ""
    if bad is not None and bad.field_violations:
        first = bad.field_violations[0]
        column = _FIELD_COLUMNS.get(first.field, column)
        message = f"{first.field}: {first.description}"
    return Refusal(row, column, f"{reason}: {message} ({step})")


async def _right_to_have(stubs: _Stubs, ods: str, row: int) -> frozenset[ent_model.Category]:
    """The categories carrying a right to have under the commissioner's policy (asked once)."""
    async with stubs.policy_lock:
        held = stubs.policies.get(ods)
        if held is None:
            policy: ent.CommissionerPolicy = await _call(
                "RecordEligibilityDecision",
                row,
                stubs.entitlement.GetCommissionerPolicy(
                    ent.GetCommissionerPolicyRequest(commissioner_ods_code=ods),
                    timeout=CALL_TIMEOUT_S,
                ),
            )
            held = frozenset(
                ent_model.Category(
                    ent.EligibilityCategory.Name(c).removeprefix("ELIGIBILITY_CATEGORY_")
                )
                for c in policy.right_to_have_categories
            )
            stubs.policies[ods] = held
        return held


async def _settled(call: Callable[[], Awaitable[T]]) -> T:
    """The call, repeated while allocation has not yet learnt entitlement's decisions: waits
    double from SETTLE_WAIT_S to SETTLE_WAIT_MAX_S (each refused try costs the service a
    transaction), for SETTLE_TIMEOUT_S in all; then the last try's answer is the answer."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    wait = SETTLE_WAIT_S
    while time.monotonic() < deadline:
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            info, _bad = error_details(error)
            if info is None or info.reason not in NOT_YET_KNOWN:
                raise
        await asyncio.sleep(wait)
        wait = min(wait * 2, SETTLE_WAIT_MAX_S)
    return await call()


async def _entitle(stubs: _Stubs, person: PersonBudget, left: _Left) -> str:
    """Register the person, record the granted eligibility and the granted PHB; the person_id."""
    row = person.rows[0]
    ods = person.commissioner_ods_code
    category = f"ELIGIBILITY_CATEGORY_{person.category.value}"
    registered: ent.Person = await _call(
        "RegisterPerson",
        row,
        stubs.entitlement.RegisterPerson(
            ent.RegisterPersonRequest(
                request_id=person.request_id("person"),
                nhs_number=person.nhs_number,
                given_name=person.given_name,
                family_name=person.family_name,
                date_of_birth=person.date_of_birth.isoformat(),
                commissioner_ods_code=ods,
                council_gss_code=person.council_gss_code,
            ),
            timeout=CALL_TIMEOUT_S,
        ),
    )
    left.person_id = str(registered.person_id)
    await _call(
        "RecordEligibilityDecision",
        row,
        stubs.entitlement.RecordEligibilityDecision(
            ent.RecordEligibilityDecisionRequest(
                request_id=person.request_id("eligibility"),
                person_id=registered.person_id,
                category=category,
                outcome=ent.DECISION_OUTCOME_GRANTED,
                reasons=[IMPORTED_REASON],
                decided_on=person.decided_on.isoformat(),
                deciding_body=f"commissioner {ods}",
            ),
            timeout=CALL_TIMEOUT_S,
        ),
    )
    left.eligibility = True
    # Where a right to have applies the grant is the rule's (no discretion may be given);
    # elsewhere the commissioner granted it at its discretion (entitlement decide_phb_request).
    right = person.category in await _right_to_have(stubs, ods, row)
    await _call(
        "RequestPersonalHealthBudget",
        row,
        stubs.entitlement.RequestPersonalHealthBudget(
            ent.RequestPersonalHealthBudgetRequest(
                request_id=person.request_id("phb"),
                person_id=registered.person_id,
                category=category,
                requested_on=person.decided_on.isoformat(),
                discretionary_outcome=None if right else "DECISION_OUTCOME_GRANTED",
                discretionary_reasons=[] if right else [IMPORTED_REASON],
            ),
            timeout=CALL_TIMEOUT_S,
        ),
    )
    left.phb = True
    return str(registered.person_id)


async def _budget(stubs: _Stubs, person: PersonBudget, person_id: str, left: _Left) -> alloc.Budget:
    """Create the person's budget, add its plan lines and agree it."""
    row = person.rows[0]
    create = alloc.CreateBudgetRequest(
        request_id=person.request_id("budget"),
        person_id=person_id,
        commissioner_ods_code=person.commissioner_ods_code,
        council_gss_code="" if person.nhs_only else person.council_gss_code,
        nhs_only=person.nhs_only,
        cohort=f"COHORT_{person.category.value}",
        financial_year=person.financial_year,
        start_date=person.start_date.isoformat(),
        client_contribution_pence=person.client_contribution_pence,
    )
    budget: alloc.Budget = await _call(
        "CreateBudget",
        row,
        _settled(lambda: stubs.allocation.CreateBudget(create, timeout=CALL_TIMEOUT_S)),
    )
    left.budget_id = str(budget.budget_id)
    left.lines_total = len(person.lines)
    for index, line in enumerate(person.lines):
        await _call(
            "AddPlanLine",
            line.row,
            stubs.allocation.AddPlanLine(
                alloc.AddPlanLineRequest(
                    request_id=person.request_id("line", index),
                    budget_id=budget.budget_id,
                    line=line.plan_line,
                ),
                timeout=CALL_TIMEOUT_S,
            ),
        )
        left.lines += 1
    agreed: alloc.Budget = await _call(
        "AgreeBudget",
        row,
        stubs.allocation.AgreeBudget(
            alloc.AgreeBudgetRequest(
                request_id=person.request_id("agree"),
                budget_id=budget.budget_id,
                agreed_on=person.start_date.isoformat(),
            ),
            timeout=CALL_TIMEOUT_S,
        ),
    )
    return agreed
