"""The demo's budgets keep the funding rules (issue 13): no person is charged more than their
assessed contribution, a client part sits only beside a council part, and adult CHC is NHS-only.
Checked on the synthetic people with the same pure rules allocation applies."""

from __future__ import annotations

from datetime import date

import pytest

from onebudget.allocation.domain import funders
from onebudget.allocation.domain.model import Split
from onebudget.demo import synthetic
from onebudget.shared.money import split_by_basis_points


@pytest.mark.parametrize("today", [date(2026, 11, 29), date(2027, 3, 31), date(2026, 4, 2)])
def test_no_demo_budget_charges_more_than_assessed_or_mixes_chc_with_council_money(
    today: date,
) -> None:
    people = synthetic.people(200, today=today)
    charged = 0
    for person in people:
        client = 0
        for line in person.plan:
            split = Split(
                line.nhs_basis_points, line.council_basis_points, line.client_basis_points
            )
            assert funders.client_part_allowed(split)
            funders.check_cohort_split(person.category, split)
            cost = line.cost_per_occurrence_pence * line.occurrences
            client += split_by_basis_points(cost, split.as_list())[2]
        funders.check_client_contribution(client, person.client_contribution_pence)
        funders.check_cohort_funders(
            person.category,
            council_named=not person.nhs_only,
            council_pence=person.client_contribution_pence,
        )
        charged += client > 0
    assert charged > 0, "the demo still has people who contribute"
