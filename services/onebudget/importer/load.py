"""Send the checked people of an import file to the services (docs/import.md, ADR 23).

The people go in batches of up to BATCH_MAX through the set-based bulk RPCs: entitlement's
ImportPeople (each person registered, their eligibility decided and their PHB requested and
decided, by the unary calls' rules) and then allocation's ImportBudgets (each budget created with
its lines and agreed). Every item's request_id is derived from the row's stable key
(importer/rows.py), so a re-run sends the same ids and every service answers as the first time:
nothing is imported twice. allocation learns eligibility and PHB decisions from entitlement's
events, so the budgets of a batch whose people it has not learnt yet (NO_ELIGIBILITY /
NO_PHB_GRANTED / PERSON_NOT_FOUND) are sent again after a wait (bounded), those items only, per
batch not per person. A refusal of a person's item is that person's Refusal in the report; the
other people go on.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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

BATCH_MAX = 1_000  # items in one bulk call (the services' limit)
BATCHES_IN_FLIGHT = 2
SETTLE_TIMEOUT_S = 120.0  # how long a batch's budgets wait for entitlement's events unlearnt
# while allocation learns none of them (any learnt starts the wait again: a big import's events
# take longer than this to be applied, and go on arriving)
# The first budget (the person entitled last) waits longer: for allocation to learn every
# person's events, this long more per person (allocation applies some 100 events a second on a
# busy 2-core machine, four per person).
PROBE_WAIT_PER_PERSON_S = 0.05
SETTLE_WAIT_S = 0.2
SETTLE_WAIT_MAX_S = 2.0
CALL_TIMEOUT_S = 120.0
# allocation has not yet learnt the person's decisions from entitlement's events.
NOT_YET_KNOWN = ("NO_ELIGIBILITY", "NO_PHB_GRANTED", "PERSON_NOT_FOUND")
IMPORTED_REASON = "imported: an existing PHB the commissioner had agreed"
_SERVICES = {
    "entitlement": ent.DESCRIPTOR.services_by_name["EntitlementService"].full_name,
    "allocation": alloc.DESCRIPTOR.services_by_name["AllocationService"].full_name,
}
# The calls an import makes, as `/package.Service/Method` (shared/permissions.py's keys).
IMPORT_METHODS = (
    *(f"/{_SERVICES['entitlement']}/{m}" for m in ("ImportPeople", "GetCommissionerPolicy")),
    f"/{_SERVICES['allocation']}/ImportBudgets",
)


def importing_roles() -> list[str]:
    """The roles that may make every call of an import (shared/permissions.py decides)."""
    roles = frozenset.intersection(*(allowed_roles(m) for m in IMPORT_METHODS))
    return sorted(r.value for r in roles)


# Which column a refusal of each step is about, when the refusal names no field of the file.
_STEP_COLUMNS = {
    "ImportPeople": "nhs_number",
    "GetCommissionerPolicy": "commissioner_ods_code",
    "ImportBudgets": "financial_year",
}
_REASON_COLUMNS = {  # a stateful refusal, as the column it is about
    "AGE_OUTSIDE_CATEGORY_RULE": "eligibility_category",
    "DATE_BEFORE_BIRTH": "eligibility_decided_on",
    "NO_GRANTED_ELIGIBILITY": "eligibility_category",
    "RIGHT_TO_HAVE_APPLIES": "eligibility_category",
    "DISCRETIONARY_DECISION_REQUIRED": "eligibility_category",
    "CATEGORY_EXCLUDED": "line_category",
    "CLIENT_CONTRIBUTION_EXCEEDED": "client_contribution_pence",
    "PLAN_EMPTY": "line_description",
    "BUDGET_DATE_OUTSIDE_YEAR": "budget_start_date",
}
# A refused item's field (after "items[N]." and the part's name), as the file's column.
_FIELD_COLUMNS = {
    "date_of_birth": "date_of_birth",
    "given_name": "given_name",
    "family_name": "family_name",
    "nhs_number": "nhs_number",
    "commissioner_ods_code": "commissioner_ods_code",
    "council_gss_code": "council_gss_code",
    "decided_on": "eligibility_decided_on",
    "requested_on": "eligibility_decided_on",
    "start_date": "budget_start_date",
    "agreed_on": "budget_start_date",
    "client_contribution_pence": "client_contribution_pence",
    "category": "line_category",
    "cost_per_occurrence_pence": "line_cost_per_occurrence_pence",
    "occurrences": "line_occurrences",
    "description": "line_description",
    "split": "line_nhs_basis_points",
}
_ITEM_FIELD = re.compile(
    r"^items\[\d+\]\.(?:(person|eligibility|phb|budget)\.)?(?:lines\[(\d+)\]\.)?(.*)$"
)


@dataclass
class Outcome:
    """What an import did: the agreed budgets by NHS number, and the refused rows."""

    budgets: dict[str, alloc.ImportedBudget] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    # Seconds spent: the ImportPeople phase, then the ImportBudgets phase (its calls and its
    # waits for allocation to learn entitlement's events), and how many items were sent again.
    people_s: float = 0.0
    budgets_s: float = 0.0
    resent: int = 0


def _person_refused(person: PersonBudget, refusal: Refusal) -> list[Refusal]:
    """A service's refusal of a person, and each other row of theirs (every refused row is in
    the report, as the file's own checks do it)."""
    return [refusal] + [
        Refusal(row, "", f"PERSON_REFUSED: row {refusal.row} of the same person is refused")
        for row in person.rows
        if row != refusal.row
    ]


def item_refusal(
    person: PersonBudget,
    step: str,
    reason: str,
    message: str,
    violations: Sequence[tuple[str, str]],
    left: str = "",
) -> Refusal:
    """A refused item as the report's row (the person's first, or the plan line's the field
    names), column (the field's, else the reason's or the step's) and reason."""
    row, column = person.rows[0], _REASON_COLUMNS.get(reason, _STEP_COLUMNS[step])
    if violations:
        name, description = violations[0]
        matched = _ITEM_FIELD.match(name)
        if matched is not None:
            part, line, rest = matched.groups()
            column = _FIELD_COLUMNS.get(rest.split(".")[0], column)
            if line is not None and int(line) < len(person.lines):
                row = person.lines[int(line)].row
            name = ".".join(x for x in (part, f"lines[{line}]" if line else "", rest) if x)
        message = f"{name}: {description}"
    return Refusal(row, column, f"{reason}: {message} ({step}){left}")


@dataclass
class _Stubs:
    entitlement: ent_grpc.EntitlementServiceStub
    allocation: alloc_grpc.AllocationServiceStub
    policies: dict[str, frozenset[ent_model.Category] | Refusal] = field(default_factory=dict)


async def send(
    addresses: Mapping[str, str],
    people: list[PersonBudget],
    *,
    batch_max: int = BATCH_MAX,
    quiet: bool = False,
    token: TokenSource | str | None = None,
) -> Outcome:
    """Import `people` through the entitlement and allocation services at `addresses` (names
    "entitlement" and "allocation"), as the caller `token` names (default: the process's, the
    CLI's login). Never raises for a refused person: it is in the outcome's refusals (the
    person's row, the column, the service's reason and message). Every item is the caller's
    own: the services check its role and its organisations (scope) item by item."""
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
        for ods in sorted({p.commissioner_ods_code for p in people}):
            stubs.policies[ods] = await _right_to_have(stubs, ods)
        batches = [people[i : i + batch_max] for i in range(0, len(people), batch_max)]
        gate = asyncio.Semaphore(BATCHES_IN_FLIGHT)
        person_ids: dict[str, str] = {}

        async def entitle(batch: list[PersonBudget]) -> None:
            async with gate:
                for person, answer in zip(batch, await _entitle(stubs, batch), strict=True):
                    if isinstance(answer, Refusal):
                        outcome.refusals += _person_refused(person, answer)
                        progress.advance()
                    else:
                        person_ids[person.nhs_number] = answer

        async def fund(batch: list[PersonBudget], settle_s: float = SETTLE_TIMEOUT_S) -> None:
            async with gate:
                answers = await _budgets(stubs, batch, person_ids, outcome, settle_s)
                for person, answer in zip(batch, answers, strict=True):
                    if isinstance(answer, Refusal):
                        outcome.refusals += _person_refused(person, answer)
                    else:
                        outcome.budgets[person.nhs_number] = answer
                    progress.advance()

        # Phase 1, entitlement: every person's decisions. allocation learns them from the
        # events meanwhile, so phase 2 seldom waits for them (a batch still may).
        started = time.monotonic()
        await asyncio.gather(*(entitle(b) for b in batches))
        outcome.people_s = time.monotonic() - started
        entitled = [p for p in people if p.nhs_number in person_ids]
        # Phase 2, allocation: the person entitled last goes first, alone (a cheap call, sent
        # again until allocation has learnt their decisions): allocation learns entitlement's
        # events in order, so then it has learnt nearly everyone's, and the batches seldom
        # wait (each still may: its items not learnt yet are sent again).
        if entitled:
            probe_s = SETTLE_TIMEOUT_S + PROBE_WAIT_PER_PERSON_S * len(entitled)
            await fund([entitled[-1]], probe_s)
        rest = entitled[:-1]
        funded = [rest[i : i + batch_max] for i in range(0, len(rest), batch_max)]
        await asyncio.gather(*(fund(b) for b in funded))
        outcome.budgets_s = time.monotonic() - started - outcome.people_s
        progress.close()
        outcome.refusals.sort(key=lambda r: (r.row, r.column))
        return outcome
    finally:
        progress.close(finished=False)  # a no-op once closed above
        for channel in channels:
            await channel.close()


def _whole_call_refused(
    error: grpc.aio.AioRpcError, batch: Sequence[PersonBudget], step: str
) -> list[Refusal]:
    info, bad = error_details(error)
    reason = info.reason if info is not None else error.code().name
    violations = [(v.field, v.description) for v in bad.field_violations] if bad else []
    return [item_refusal(p, step, reason, error.details() or "", violations) for p in batch]


async def _right_to_have(stubs: _Stubs, ods: str) -> frozenset[ent_model.Category] | Refusal:
    """The categories carrying a right to have under the commissioner's policy (asked once per
    commissioner); a refusal is each of its people's."""
    try:
        policy: ent.CommissionerPolicy = await stubs.entitlement.GetCommissionerPolicy(
            ent.GetCommissionerPolicyRequest(commissioner_ods_code=ods), timeout=CALL_TIMEOUT_S
        )
    except grpc.aio.AioRpcError as error:
        info, _bad = error_details(error)
        reason = info.reason if info is not None else error.code().name
        return Refusal(
            0, "commissioner_ods_code", f"{reason}: {error.details()} (GetCommissionerPolicy)"
        )
    return frozenset(
        ent_model.Category(ent.EligibilityCategory.Name(c).removeprefix("ELIGIBILITY_CATEGORY_"))
        for c in policy.right_to_have_categories
    )


def _person_item(
    person: PersonBudget, rights: frozenset[ent_model.Category]
) -> ent.ImportPersonItem:
    """The person, their granted eligibility and their granted PHB: where a right to have
    applies the grant is the rule's (no discretion may be given); elsewhere the commissioner
    granted it at its discretion (entitlement decide_phb_request)."""
    ods = person.commissioner_ods_code
    category = f"ELIGIBILITY_CATEGORY_{person.category.value}"
    right = person.category in rights
    return ent.ImportPersonItem(
        request_id=person.request_id("person-item"),
        person=ent.RegisterPersonRequest(
            nhs_number=person.nhs_number,
            given_name=person.given_name,
            family_name=person.family_name,
            date_of_birth=person.date_of_birth.isoformat(),
            commissioner_ods_code=ods,
            council_gss_code=person.council_gss_code,
        ),
        eligibility=ent.RecordEligibilityDecisionRequest(
            category=category,
            outcome=ent.DECISION_OUTCOME_GRANTED,
            reasons=[IMPORTED_REASON],
            decided_on=person.decided_on.isoformat(),
            deciding_body=f"commissioner {ods}",
        ),
        phb=ent.RequestPersonalHealthBudgetRequest(
            category=category,
            requested_on=person.decided_on.isoformat(),
            discretionary_outcome=None if right else "DECISION_OUTCOME_GRANTED",
            discretionary_reasons=[] if right else [IMPORTED_REASON],
        ),
    )


async def _entitle(stubs: _Stubs, batch: list[PersonBudget]) -> list[str | Refusal]:
    """ImportPeople of the batch: each person's person_id, or their refusal."""
    answers: list[str | Refusal] = []
    items: list[ent.ImportPersonItem] = []
    for person in batch:
        rights = stubs.policies[person.commissioner_ods_code]
        if isinstance(rights, Refusal):
            answers.append(Refusal(person.rows[0], rights.column, rights.reason))
        else:
            answers.append("")
            items.append(_person_item(person, rights))
    sent = [p for p, a in zip(batch, answers, strict=True) if a == ""]
    if not items:
        return answers
    try:
        response: ent.ImportPeopleResponse = await stubs.entitlement.ImportPeople(
            ent.ImportPeopleRequest(request_id=batch[0].request_id("people-call"), items=items),
            timeout=CALL_TIMEOUT_S,
        )
        results: list[str | Refusal] = []
        for person, result in zip(sent, response.results, strict=True):
            if result.WhichOneof("outcome") == "imported":
                results.append(result.imported.person.person_id)
            else:
                e = result.error
                violations = [(v.field, v.description) for v in e.field_violations]
                results.append(
                    item_refusal(person, "ImportPeople", e.reason, e.message, violations)
                )
    except grpc.aio.AioRpcError as error:
        results = list(_whole_call_refused(error, sent, "ImportPeople"))
    got = iter(results)
    return [next(got) if a == "" else a for a in answers]


def _budget_item(person: PersonBudget, person_id: str) -> alloc.ImportBudgetItem:
    """The person's budget, its plan lines and its agreement on its first day."""
    return alloc.ImportBudgetItem(
        request_id=person.request_id("budget-item"),
        budget=alloc.CreateBudgetRequest(
            person_id=person_id,
            commissioner_ods_code=person.commissioner_ods_code,
            council_gss_code="" if person.nhs_only else person.council_gss_code,
            nhs_only=person.nhs_only,
            cohort=f"COHORT_{person.category.value}",
            financial_year=person.financial_year,
            start_date=person.start_date.isoformat(),
            client_contribution_pence=person.client_contribution_pence,
        ),
        lines=[line.plan_line for line in person.lines],
        agreed_on=person.start_date.isoformat(),
    )


async def _budgets(
    stubs: _Stubs,
    batch: list[PersonBudget],
    person_ids: Mapping[str, str],
    outcome: Outcome,
    settle_s: float,
) -> list[alloc.ImportedBudget | Refusal]:
    """ImportBudgets of the batch, its items refused because allocation has not learnt their
    people's decisions yet sent again (those only) after waits doubling from SETTLE_WAIT_S to
    SETTLE_WAIT_MAX_S, until `settle_s` pass in which allocation learnt none of them; then the
    last answer is the answer."""
    answers: dict[int, alloc.ImportedBudget | Refusal] = {}
    waiting = list(range(len(batch)))
    deadline = time.monotonic() + settle_s
    wait = SETTLE_WAIT_S
    while waiting:
        items = [_budget_item(batch[i], person_ids[batch[i].nhs_number]) for i in waiting]
        call_id = batch[waiting[0]].request_id("budgets-call", len(waiting))
        try:
            response: alloc.ImportBudgetsResponse = await stubs.allocation.ImportBudgets(
                alloc.ImportBudgetsRequest(request_id=call_id, items=items),
                timeout=CALL_TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as error:
            refused = _whole_call_refused(error, [batch[i] for i in waiting], "ImportBudgets")
            answers.update(zip(waiting, refused, strict=True))
            break
        again: list[int] = []
        last_try = time.monotonic() >= deadline
        for i, result in zip(waiting, response.results, strict=True):
            if result.WhichOneof("outcome") == "imported":
                answers[i] = result.imported
                continue
            e = result.error
            if e.reason in NOT_YET_KNOWN and not last_try:
                again.append(i)
                continue
            violations = [(v.field, v.description) for v in e.field_violations]
            left = (
                f"; left behind, partial: person {person_ids[batch[i].nhs_number]},"
                " its granted eligibility, its granted PHB (no budget)"
            )
            answers[i] = item_refusal(
                batch[i], "ImportBudgets", e.reason, e.message, violations, left
            )
        if len(again) < len(waiting):  # allocation is learning: wait on
            deadline = time.monotonic() + settle_s
        waiting = again
        outcome.resent += len(again)
        if waiting:
            await asyncio.sleep(wait)
            wait = min(wait * 2, SETTLE_WAIT_MAX_S)
    return [answers[i] for i in range(len(batch))]
