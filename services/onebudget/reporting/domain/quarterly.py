"""The quarterly PHB return (the national collection's shape) as CSV rows (pure).

One header row and one data row per commissioner and quarter. Counts are distinct people with a
PHB (a budget with NHS money; an IPB includes one): first at the quarter's last day (`QE_`), then
at any time from 1 April to that day (`YTD_`, the collection's year-to-date totals). Columns are
documented in docs/quarterly-return.md; their names and order are part of the contract.
"""

from __future__ import annotations

import csv
import io

from onebudget.reporting.domain import periods
from onebudget.reporting.domain.figures import CommissionerFigures, PeopleCounts
from onebudget.reporting.domain.model import Category, Option

_CATEGORY_COLUMNS = (
    ("PHB_CHC", Category.CHC),
    ("PHB_CHILDRENS_CC", Category.CHILDRENS_CC),
    ("PHB_S117", Category.S117),
    ("PWB_WHEELCHAIR", Category.WHEELCHAIR),
    ("PHB_JOINT_PACKAGE", Category.JOINT_PACKAGE),
    ("PHB_LONG_TERM_CONDITION", Category.LONG_TERM_CONDITION),
    ("PHB_MENTAL_HEALTH", Category.MENTAL_HEALTH),
    ("PHB_OTHER", Category.OTHER),
)
_OPTION_COLUMNS = (
    ("MGMT_NOTIONAL", Option.NOTIONAL),
    ("MGMT_THIRD_PARTY", Option.THIRD_PARTY),
    ("MGMT_DIRECT_PAYMENT", Option.DIRECT_PAYMENT),
)
_PERIOD_COLUMNS = (
    "PHB_TOTAL",
    "PHB_ADULT",
    "PHB_CHILD",
    *(name for name, _ in _CATEGORY_COLUMNS),
    *(name for name, _ in _OPTION_COLUMNS),
    "IPB_TOTAL",
)
COLUMNS: tuple[str, ...] = (
    "ODS_CODE",
    "FINANCIAL_YEAR",
    "QUARTER",
    "PERIOD_START",
    "PERIOD_END",
    *(f"QE_{c}" for c in _PERIOD_COLUMNS),
    *(f"YTD_{c}" for c in _PERIOD_COLUMNS),
)


def _period_values(phb: PeopleCounts, ipb: PeopleCounts) -> list[int]:
    return [
        phb.total,
        phb.adults,
        phb.children,
        *(phb.category(c).people for _, c in _CATEGORY_COLUMNS),
        *(phb.option(o) for _, o in _OPTION_COLUMNS),
        ipb.total,
    ]


def row(figures: CommissionerFigures) -> list[str]:
    assert figures.quarter in periods.QUARTERS
    phb, ipb = figures.phb_people, figures.ipb_people
    values: list[object] = [
        figures.commissioner,
        periods.label(figures.year),
        f"Q{figures.quarter}",
        periods.year_start(figures.year).isoformat(),
        figures.period_end.isoformat(),
        *_period_values(phb.at_period_end, ipb.at_period_end),
        *_period_values(phb.year_to_date, ipb.year_to_date),
    ]
    assert len(values) == len(COLUMNS)
    return [str(v) for v in values]


def to_csv(figures: CommissionerFigures) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow(row(figures))
    return out.getvalue().encode()


def file_name(figures: CommissionerFigures) -> str:
    return f"phb-return-{figures.commissioner}-{figures.year}-Q{figures.quarter}.csv"
