"""How the importer reports a refused bulk item (importer/load.py item_refusal): the row and the
column of the file the service's field names, else the reason's or the step's column."""

from __future__ import annotations

from onebudget.importer import load, rows
from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.policy import CategoryPolicy
from tests.unit.test_import_rows import good_row, nhs_numbers, text_of


def person_with_two_lines() -> rows.PersonBudget:
    (nhs,) = nhs_numbers(1, seed=41)
    data = [good_row(nhs), good_row(nhs, line_description="Respite care")]
    checked = rows.read(text_of(data), policy=CategoryPolicy(), today=SYSTEM_CLOCK.today())
    (person,) = checked.people
    assert person.rows == [2, 3]
    return person


def test_a_plan_lines_field_is_reported_on_the_lines_own_row() -> None:
    person = person_with_two_lines()
    refusal = load.item_refusal(
        person,
        "ImportBudgets",
        "INVALID_REQUEST",
        "the request has invalid fields",
        [("items[7].lines[1].cost_per_occurrence_pence", "too big")],
    )
    assert (refusal.row, refusal.column) == (3, "line_cost_per_occurrence_pence")
    assert refusal.reason == (
        "INVALID_REQUEST: lines[1].cost_per_occurrence_pence: too big (ImportBudgets)"
    )


def test_a_persons_field_is_reported_on_their_first_row_by_its_column() -> None:
    person = person_with_two_lines()
    refusal = load.item_refusal(
        person, "ImportPeople", "INVALID_REQUEST", "bad", [("items[0].phb.requested_on", "x")]
    )
    assert (refusal.row, refusal.column) == (2, "eligibility_decided_on")
    born = load.item_refusal(
        person, "ImportPeople", "INVALID_REQUEST", "bad", [("items[0].person.date_of_birth", "x")]
    )
    assert born.column == "date_of_birth"


def test_a_refusal_naming_no_field_takes_the_reasons_column_else_the_steps() -> None:
    person = person_with_two_lines()
    age = load.item_refusal(person, "ImportPeople", "AGE_OUTSIDE_CATEGORY_RULE", "too young", [])
    assert (age.row, age.column) == (2, "eligibility_category")
    taken = load.item_refusal(person, "ImportPeople", "PERSON_ALREADY_REGISTERED", "taken", [])
    assert taken.column == "nhs_number"
    left = "; left behind, partial: person p"
    short = load.item_refusal(person, "ImportBudgets", "NHS_ALLOCATION_EXHAUSTED", "no", [], left)
    assert short.column == "financial_year"
    assert short.reason == "NHS_ALLOCATION_EXHAUSTED: no (ImportBudgets)" + left
