"""Importing existing PHBs from a CSV file (issue 17) against real entitlement and allocation
services, PostgreSQL and NATS: a file of good rows and bad rows (refused by the file's checks and
by a service) reports each bad row by number, column and reason and imports the rest, visible
through the normal reads; a re-run changes nothing and answers the same; a caller acting for
another organisation imports nobody."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from onebudget.allocation.domain.model import financial_year_of
from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.allocation.v1 import allocation_service_pb2 as al
from onebudget.allocation.v1 import allocation_service_pb2_grpc as al_grpc
from onebudget.cli import main
from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.entitlement.v1 import entitlement_service_pb2 as en
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as en_grpc
from onebudget.importer import load, rows
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.identity import Actor, Role
from onebudget.shared.policy import CategoryPolicy
from onebudget.shared.runtime.issuer import RoleTokens
from tests.conftest import TEST_ISSUER, StartService
from tests.integration.test_reporting_support import new_gss, new_ods, rid
from tests.unit.test_import_rows import good_row, nhs_numbers, text_of


@dataclass
class Services:
    addresses: dict[str, str]
    ent: en_grpc.EntitlementServiceStub
    alloc: al_grpc.AllocationServiceStub
    ods: str
    gss: str
    year: int
    first_day: str  # 1 April of the current financial year: never in the future


@pytest.fixture
async def services(start_service: StartService) -> AsyncIterator[Services]:
    hosts = {spec.name: await start_service(spec) for spec in (ENTITLEMENT, ALLOCATION)}
    channels = [open_aio_channel(h.address) for h in hosts.values()]
    year = financial_year_of(SYSTEM_CLOCK.today())
    found = Services(
        addresses={name: h.address for name, h in hosts.items()},
        ent=en_grpc.EntitlementServiceStub(channels[0]),  # type: ignore[no-untyped-call]
        alloc=al_grpc.AllocationServiceStub(channels[1]),  # type: ignore[no-untyped-call]
        ods=new_ods(),
        gss=new_gss(),
        year=year,
        first_day=date(year, 4, 1).isoformat(),
    )
    await _funders(found)
    yield found
    for channel in channels:
        await channel.close()


async def _funders(s: Services) -> None:
    await s.alloc.RegisterCommissioner(
        al.RegisterCommissionerRequest(request_id=rid(), ods_code=s.ods, name="NHS Import ICB")
    )
    await s.alloc.RegisterCouncil(
        al.RegisterCouncilRequest(request_id=rid(), gss_code=s.gss, name="Import Council")
    )
    await s.alloc.SetCouncilAllocation(
        al.SetCouncilAllocationRequest(
            request_id=rid(), council_gss_code=s.gss, financial_year=s.year, pot_pence=10**9
        )
    )
    await s.alloc.SetCommissionerAllocation(
        al.SetCommissionerAllocationRequest(
            request_id=rid(),
            commissioner_ods_code=s.ods,
            financial_year=s.year,
            allocation_pence=10**11,
            phb_target_basis_points=500,
        )
    )


def _row(s: Services, nhs: str, **changes: str) -> dict[str, str]:
    dates = {
        "eligibility_decided_on": s.first_day,
        "budget_start_date": s.first_day,
        "financial_year": str(s.year),
    }
    return good_row(
        nhs,
        commissioner_ods_code=s.ods,
        council_gss_code=s.gss,
        **{**dates, **changes},
    )


NHS_ONLY = {
    "nhs_only": "yes",
    "client_contribution_pence": "0",
    "line_nhs_basis_points": "10000",
    "line_council_basis_points": "0",
    "line_client_basis_points": "0",
}


def _file(s: Services) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Three good people (rows 2-5) and five bad rows (rows 6-10), one of each kind: four the
    file's checks refuse, one a service refuses (an NHS number registered already)."""
    joint, chc, ltc, registered, *bad = nhs_numbers(8, seed=hash(s.ods) % 10**6)
    data = [
        _row(s, joint),
        _row(s, joint, line_description="Respite care", line_category="respite"),
        _row(s, chc, eligibility_category="CHC", **NHS_ONLY),
        _row(s, ltc, eligibility_category="LONG_TERM_CONDITION", line_frequency="FOUR_WEEKLY"),
        _row(s, bad[0][:9] + str((int(bad[0][9]) + 1) % 10)),  # a wrong check digit
        _row(s, bad[1], line_cost_per_occurrence_pence="165.00"),  # pounds
        _row(s, bad[2], line_category="tobacco"),  # excluded by policy
        _row(s, bad[3], eligibility_category="CHC"),  # CHC is NHS-only
        _row(s, registered),  # registered already, by another hand, with other details
    ]
    return data, {"joint": joint, "chc": chc, "ltc": ltc, "registered": registered}


EXPECTED = [
    (6, "nhs_number", "INVALID_VALUE"),
    (7, "line_cost_per_occurrence_pence", "INVALID_VALUE"),
    (8, "line_category", "CATEGORY_EXCLUDED"),
    (9, "line_nhs_basis_points", "COHORT_NHS_ONLY"),
    (10, "nhs_number", "PERSON_ALREADY_REGISTERED"),
]


async def _import(s: Services, data: list[dict[str, str]]) -> tuple[load.Outcome, rows.Checked]:
    checked = rows.read(text_of(data), policy=CategoryPolicy(), today=SYSTEM_CLOCK.today())
    outcome = await load.send(s.addresses, checked.people, quiet=True)
    return outcome, checked


def _refused(checked: rows.Checked, outcome: load.Outcome) -> list[tuple[int, str, str]]:
    found = [*checked.refusals, *outcome.refusals]
    return sorted((r.row, r.column, r.reason.split(":")[0]) for r in found)


async def _people(s: Services) -> list[en.Person]:
    listed = await s.ent.ListPeople(
        en.ListPeopleRequest(commissioner_ods_code=s.ods, page_size=100)
    )
    return list(listed.people)


async def test_good_rows_are_imported_bad_rows_reported_and_a_rerun_changes_nothing(
    services: Services,
) -> None:
    s = services
    data, who = _file(s)
    await s.ent.RegisterPerson(
        en.RegisterPersonRequest(
            request_id=rid(),
            nhs_number=who["registered"],
            given_name="Someone",
            family_name="Else",
            date_of_birth="1970-01-01",
            commissioner_ods_code=s.ods,
            council_gss_code=s.gss,
        )
    )
    outcome, checked = await _import(s, data)
    assert _refused(checked, outcome) == EXPECTED
    assert set(outcome.budgets) == {who["joint"], who["chc"], who["ltc"]}
    for nhs, lines in ((who["joint"], 2), (who["chc"], 1), (who["ltc"], 1)):
        budget = await s.alloc.GetBudget(
            al.GetBudgetRequest(budget_id=outcome.budgets[nhs].budget_id)
        )
        assert budget.status == al.BUDGET_STATUS_AGREED
        assert len(budget.plan_lines) == lines
        assert budget.financial_year == s.year
    chc = await s.alloc.GetBudget(
        al.GetBudgetRequest(budget_id=outcome.budgets[who["chc"]].budget_id)
    )
    assert chc.council_gss_code == ""  # NHS-only: no council
    assert chc.cohort == al.COHORT_CHC
    people = await _people(s)
    assert len(people) == 4  # the three imported and the one registered before

    again, checked_again = await _import(s, data)
    assert _refused(checked_again, again) == EXPECTED
    assert {n: b.budget_id for n, b in again.budgets.items()} == {
        n: b.budget_id for n, b in outcome.budgets.items()
    }
    assert {p.person_id for p in await _people(s)} == {p.person_id for p in people}
    listed = await s.alloc.ListBudgets(
        al.ListBudgetsRequest(commissioner_ods_code=s.ods, page_size=100)
    )
    assert len(listed.budgets) == 3


async def test_the_command_reports_refused_rows_and_imports_nothing_twice(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = services
    good, bad = nhs_numbers(2, seed=hash(s.gss) % 10**6)
    path = tmp_path / "phbs.csv"
    path.write_text("".join(text_of([_row(s, good), _row(s, bad, line_category="gambling")])))
    report = tmp_path / "refused.csv"
    for name, address in s.addresses.items():
        monkeypatch.setenv(f"ONEBUDGET_{name.upper()}_ADDRESS", address)
    dry = await asyncio.to_thread(main, ["import", str(path), "--dry-run"])
    assert dry == 3
    assert await _people(s) == []  # a dry run sends nothing
    for _ in range(2):
        code = await asyncio.to_thread(main, ["import", str(path), "--report", str(report)])
        assert code == 3
        refused = list(csv.reader(io.StringIO(report.read_text())))
        assert refused[0] == ["row", "column", "reason"]
        assert [r[:2] for r in refused[1:]] == [["3", "line_category"]]
        assert refused[1][2].startswith("CATEGORY_EXCLUDED")
        assert [p.nhs_number for p in await _people(s)] == [good]


async def test_a_caller_for_another_organisation_imports_nobody(services: Services) -> None:
    s = services
    (nhs,) = nhs_numbers(1, seed=hash(s.ods + "scope") % 10**6)
    checked = rows.read(
        text_of([_row(s, nhs)]), policy=CategoryPolicy(), today=SYSTEM_CLOCK.today()
    )
    elsewhere = RoleTokens(TEST_ISSUER, (new_ods(), new_gss()), subject="import-elsewhere")
    outcome = await load.send(s.addresses, checked.people, quiet=True, token=elsewhere)
    assert outcome.budgets == {}
    assert [(r.row, r.column, r.reason.split(":")[0]) for r in outcome.refusals] == [
        (2, "commissioner_ods_code", "PERMISSION_DENIED_ORGANISATION")
    ]
    assert await _people(s) == []


async def test_a_role_that_may_not_import_is_refused_on_every_row_of_every_person(
    services: Services,
) -> None:
    """A care broker of the right organisations: every call is refused for the role, and each
    row of a person with two lines is in the report (not just the person's first)."""
    s = services
    a, b = nhs_numbers(2, seed=hash(s.ods + "role") % 10**6)
    data = [_row(s, a), _row(s, a, line_description="Respite care"), _row(s, b)]
    checked = rows.read(text_of(data), policy=CategoryPolicy(), today=SYSTEM_CLOCK.today())
    broker = Actor("import-broker", Role.CARE_BROKER, (s.ods, s.gss))
    token = TEST_ISSUER.mint(broker, ["onebudget-entitlement", "onebudget-allocation"], 600)
    outcome = await load.send(s.addresses, checked.people, quiet=True, token=token)
    assert outcome.budgets == {}
    assert [(r.row, r.reason.split(":")[0]) for r in outcome.refusals] == [
        (2, "PERMISSION_DENIED_ROLE"),
        (3, "PERSON_REFUSED"),
        (4, "PERMISSION_DENIED_ROLE"),
    ]
    assert await _people(s) == []


async def test_a_person_refused_part_way_has_what_was_left_behind_in_the_report(
    services: Services,
) -> None:
    """ImportBudgets refuses a budget beyond the commissioner's money: the person, their
    eligibility and PHB stay (imported before; no RPC undoes them), no budget at all (a refused
    item writes nothing), and the report says so, with the person's id, as partial."""
    s = services
    (nhs,) = nhs_numbers(1, seed=hash(s.ods + "partial") % 10**6)
    big = {
        "eligibility_category": "CHC",
        **NHS_ONLY,
        "line_cost_per_occurrence_pence": "100000000",
        "line_occurrences": "10000",
    }
    data = [_row(s, nhs, **big), _row(s, nhs, **big, line_description="Respite care")]
    outcome, checked = await _import(s, data)
    assert checked.refusals == []
    assert outcome.budgets == {}
    first, second = outcome.refusals
    assert first.row == 2
    assert first.reason.startswith("NHS_ALLOCATION_EXHAUSTED"), first.reason
    assert "(ImportBudgets); left behind, partial: person " in first.reason, first.reason
    (person,) = await _people(s)
    assert f"person {person.person_id}, its granted eligibility, its granted PHB" in first.reason
    listed = await s.alloc.ListBudgets(
        al.ListBudgetsRequest(commissioner_ods_code=s.ods, page_size=100)
    )
    assert list(listed.budgets) == []
    assert (second.row, second.reason.split(":")[0]) == (3, "PERSON_REFUSED")
