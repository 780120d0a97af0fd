"""Domain figures to API messages."""

from __future__ import annotations

from datetime import date
from typing import cast

from onebudget.reporting.domain import figures as f
from onebudget.reporting.domain import periods
from onebudget.reporting.domain.model import GENERAL_COHORT, Category, Option
from onebudget.reporting.v1 import reporting_service_pb2 as api


def cohort(name: str) -> api.Cohort:
    if name == f.ALL_COHORT:
        return api.COHORT_ALL
    if name == GENERAL_COHORT:
        return api.COHORT_GENERAL
    known = api.Cohort.DESCRIPTOR.values_by_name.get(f"COHORT_{name}")
    return api.COHORT_UNSPECIFIED if known is None else cast(api.Cohort, known.number)


def cohort_label(value: api.Cohort) -> str:
    return str(api.Cohort.Name(value)).removeprefix("COHORT_")


def category(value: Category) -> api.Category:
    return cast(api.Category, api.Category.Value(f"CATEGORY_{value.value}"))


def people(counts: f.PeopleCounts) -> api.PeopleCounts:
    return api.PeopleCounts(
        total=counts.total,
        adults=counts.adults,
        children=counts.children,
        by_category=[
            api.CategoryCount(
                category=category(c.category),
                people=c.people,
                adults=c.adults,
                children=c.children,
            )
            for c in counts.by_category
        ],
        notional=counts.option(Option.NOTIONAL),
        third_party=counts.option(Option.THIRD_PARTY),
        direct_payment=counts.option(Option.DIRECT_PAYMENT),
    )


def snapshot(s: f.PeopleSnapshot) -> api.PeopleSnapshot:
    return api.PeopleSnapshot(
        at_period_end=people(s.at_period_end), year_to_date=people(s.year_to_date)
    )


def commissioner_summary(x: f.CommissionerFigures) -> api.CommissionerSummary:
    return api.CommissionerSummary(
        commissioner_ods_code=x.commissioner,
        financial_year=x.year,
        quarter=x.quarter,
        period_end=x.period_end.isoformat(),
        allocation_pence=x.allocation_pence,
        phb_target_basis_points=x.target_basis_points,
        phb_target_pence=x.target_pence,
        ring_fences=[
            api.RingFenceStatus(
                cohort=cohort(r.cohort),
                basis_points=r.basis_points,
                target_pence=r.target_pence,
                balance_pence=r.balance_pence,
                agreed_pence=r.agreed_pence,
                agreed_basis_points=r.agreed_basis_points,
                target_met=r.target_met,
                drawn_pence=r.drawn_pence,
                above_floor_pence=r.above_floor_pence,
            )
            for r in x.fences
        ],
        nhs_agreed_pence=x.nhs_agreed_pence,
        nhs_agreed_basis_points=x.nhs_agreed_basis_points,
        nhs_agreed_ipb_pence=x.nhs_agreed_ipb_pence,
        nhs_paid_pence=x.nhs_paid_pence,
        nhs_paid_basis_points=x.nhs_paid_basis_points,
        target_met=x.target_met,
        people_with_phb=snapshot(x.phb_people),
        people_with_ipb=snapshot(x.ipb_people),
        year_closed=x.year_closed,
        nhs_beyond_ring_fences_pence=x.nhs_beyond_ring_fences_pence,
    )


def council_summary(x: f.CouncilFigures) -> api.CouncilSummary:
    return api.CouncilSummary(
        council_gss_code=x.council,
        financial_year=x.year,
        quarter=x.quarter,
        period_end=x.period_end.isoformat(),
        pot_pence=x.pot_pence,
        council_agreed_pence=x.council_agreed_pence,
        council_agreed_basis_points=x.council_agreed_basis_points,
        client_agreed_pence=x.client_agreed_pence,
        nhs_agreed_ipb_pence=x.nhs_agreed_ipb_pence,
        council_paid_pence=x.council_paid_pence,
        client_paid_pence=x.client_paid_pence,
        people_with_personal_budget=snapshot(x.personal_budget_people),
        people_with_ipb=snapshot(x.ipb_people),
    )


def target_status(
    ods: str,
    year: int,
    allocation_pence: int,
    targets: tuple[f.CohortTarget, ...],
    today: date,
) -> api.TargetStatus:
    """The targets, each point marked provisional while its period has not ended on `today`."""
    return api.TargetStatus(
        commissioner_ods_code=ods,
        financial_year=year,
        allocation_pence=allocation_pence,
        targets=[
            api.CohortTarget(
                cohort=cohort(t.cohort),
                target_basis_points=t.target_basis_points,
                target_pence=t.target_pence,
                agreed_pence=t.agreed_pence,
                agreed_basis_points=t.agreed_basis_points,
                met=t.met,
                gap_pence=t.gap_pence,
                trend=[
                    api.QuarterPoint(
                        quarter=p.quarter,
                        period_end=p.period_end.isoformat(),
                        agreed_pence=p.agreed_pence,
                        agreed_basis_points=p.agreed_basis_points,
                        met=p.met,
                        gap_pence=p.gap_pence,
                        above_floor_pence=p.above_floor_pence,
                        provisional=periods.is_provisional(year, p.quarter, today),
                    )
                    for p in t.trend
                ],
                above_floor_pence=t.above_floor_pence,
                provisional=periods.is_provisional(year, periods.WHOLE_YEAR, today),
            )
            for t in targets
        ],
    )
