"""CreateBudget's rules on what it read (allocation budgets.decide_creation), the one function
CreateBudget and each ImportBudgets item call: a budget follows a granted eligibility and a
granted PHB (Standing Rules reg 32A/32B), one budget per person and year, known funders, an
NHS-only cohort without council money, the caller's organisations (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from onebudget.allocation.domain.model import Standing
from onebudget.allocation.service_layer.budgets import decide_creation
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.shared.errors import DomainError
from onebudget.shared.identity import Actor, Role, acting_as
from onebudget.shared.standing import Decision

ODS, GSS = "00L", "E06000047"
PERSON = {"commissioner_ods_code": ODS, "council_gss_code": GSS, "child": False}
GRANTED = Decision(True, date(2026, 5, 1), 1)


@pytest.fixture(autouse=True)
def as_the_system() -> Iterator[None]:
    """The service's own work (sees every organisation) unless a test acts as someone."""
    with acting_as(Actor("allocation", Role.SYSTEM, ())):
        yield


def standing(category: str = "JOINT_PACKAGE", phb: Decision | None = GRANTED) -> Standing:
    return Standing(category=category, eligibility=GRANTED, phb=phb)


def request(**fields: Any) -> pb.CreateBudgetRequest:
    return pb.CreateBudgetRequest(financial_year=2026, **fields)


def refused(*args: Any) -> str:
    with pytest.raises(DomainError) as caught:
        decide_creation(*args)
    return caught.value.reason


def test_a_joint_budget_takes_the_persons_council() -> None:
    decided = decide_creation(request(), PERSON, [standing()], [], {ODS}, {GSS})
    assert (decided.ods, decided.gss, decided.stands.category) == (ODS, GSS, "JOINT_PACKAGE")


def test_a_budget_follows_a_granted_phb_and_is_the_only_one_of_its_year() -> None:
    assert refused(request(), PERSON, [standing(phb=None)], [], {ODS}, {GSS}) == "NO_PHB_GRANTED"
    assert refused(request(), PERSON, [], [], {ODS}, {GSS}) == "NO_ELIGIBILITY"
    assert refused(request(), PERSON, [standing()], ["b1"], {ODS}, {GSS}) == (
        "BUDGET_EXISTS_FOR_YEAR"
    )


def test_funders_must_be_known() -> None:
    assert refused(request(), PERSON, [standing()], [], set(), {GSS}) == "COMMISSIONER_NOT_FOUND"
    assert refused(request(), PERSON, [standing()], [], {ODS}, set()) == "COUNCIL_NOT_FOUND"


def test_an_nhs_only_cohort_has_no_council_and_no_council_money() -> None:
    chc = [standing("CHC")]
    decided = decide_creation(request(), PERSON, chc, [], {ODS}, set())
    assert decided.gss is None  # the person's council funds nothing of a CHC budget
    assert refused(request(council_gss_code=GSS), PERSON, chc, [], {ODS}, {GSS}) == (
        "COHORT_NHS_ONLY"
    )
    nhs_only = request(nhs_only=True, client_contribution_pence=100)
    assert refused(nhs_only, PERSON, [standing()], [], {ODS}, {GSS}) == (
        "CLIENT_CONTRIBUTION_NOT_ALLOWED"
    )


def test_the_caller_must_act_for_the_commissioner_or_the_council() -> None:
    elsewhere = Actor("cm", Role.CARE_MANAGER, ("Z9Z9Z",))
    with acting_as(elsewhere):
        assert refused(request(), PERSON, [standing()], [], {ODS}, {GSS}) == (
            "PERMISSION_DENIED_ORGANISATION"
        )
    ours = Actor("cm", Role.CARE_MANAGER, (GSS,))
    with acting_as(ours):
        assert decide_creation(request(), PERSON, [standing()], [], {ODS}, {GSS}).gss == GSS
