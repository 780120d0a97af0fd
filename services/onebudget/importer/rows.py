"""The import file (docs/import.md): one CSV row per plan line of a person's agreed budget,
checked row by row with the rules the RPCs use, before anything is sent.

The person's and budget's columns repeat on each of that person's lines; the rows of one NHS
number make one person with one budget. Every check here is a call of the one function that
decides the rule for the services (never a second copy):

- NHS number check digit: `shared.identifiers.is_valid_nhs_number`;
- ODS / GSS codes, financial year, plan line terms and split, payee kind: the allocation API's
  own request checks (`allocation.service_layer.validation`);
- age rule of CHC / children's continuing care: `entitlement.domain.model.check_age_rule`;
- excluded categories: `shared.policy.CategoryPolicy` (ONEBUDGET_EXCLUDED_CATEGORIES);
- NHS-only cohorts (CHC): `allocation.domain.funders.check_cohort_split` / `check_cohort_funders`;
- client contribution only towards council care, never more than assessed:
  `allocation.domain.funders.client_part_allowed` / `check_client_contribution`;
- amounts: `shared.validation.check_pence` (whole pence; a pounds figure is refused);
- dates: `shared.validation.parse_date` and `allocation.domain.model.budget_date_refusal`.

Rules that need the services' state (a person already registered under another commissioner, a
second budget for the year, funds) are decided by the services when the rows are sent; their
refusals join the same report (importer/load.py).
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from onebudget.allocation.domain import funders
from onebudget.allocation.domain import model as alloc_model
from onebudget.allocation.service_layer import validation as alloc_validation
from onebudget.allocation.v1 import allocation_service_pb2 as alloc
from onebudget.entitlement.domain import model as ent_model
from onebudget.ledger.domain import FundingStream
from onebudget.shared.errors import DomainError, InvalidArgument, Violations
from onebudget.shared.identifiers import is_valid_nhs_number
from onebudget.shared.policy import CategoryPolicy
from onebudget.shared.validation import check_pence, parse_date

# The columns, in the order of the example file (docs/examples/phb-import.csv). Amounts are
# whole pence in `*_pence` columns; splits in basis points (10,000 = 100%).
PERSON_COLUMNS = (
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "commissioner_ods_code",
    "council_gss_code",
    "nhs_only",
    "eligibility_category",
    "eligibility_decided_on",
    "financial_year",
    "budget_start_date",
    "client_contribution_pence",
)
LINE_COLUMNS = (
    "line_description",
    "line_category",
    "line_cost_per_occurrence_pence",
    "line_frequency",
    "line_occurrences",
    "line_nhs_basis_points",
    "line_council_basis_points",
    "line_client_basis_points",
    "line_management_option",
)
COLUMNS = PERSON_COLUMNS + LINE_COLUMNS
PENCE_COLUMNS = ("client_contribution_pence", "line_cost_per_occurrence_pence")


def _pence_from(low: int) -> Callable[[int, str, Violations], None]:
    def bound(value: int, name: str, v: Violations) -> None:
        check_pence(value, name, v, low=low)

    return bound


# Every numeric column and the API's own bound on it (the one function the RPC calls): a
# figure outside it is refused by row and column before it goes near an int64 field.
BOUNDS: dict[str, Callable[[int, str, Violations], None]] = {
    "client_contribution_pence": _pence_from(0),
    "line_cost_per_occurrence_pence": _pence_from(1),
    "financial_year": alloc_validation.check_year,
    "line_occurrences": alloc_validation.check_occurrences,
    "line_nhs_basis_points": alloc_validation.check_basis_points,
    "line_council_basis_points": alloc_validation.check_basis_points,
    "line_client_basis_points": alloc_validation.check_basis_points,
}
WHOLE_COLUMNS = tuple(BOUNDS)
FIRST_DATA_ROW = 2  # row 1 is the header, as a spreadsheet numbers them
ROWS_MAX = 2_000_000  # the file's data rows (England has about 200,000 PHBs)
FREQUENCIES = tuple(n.removeprefix("FREQUENCY_") for n in alloc.Frequency.keys()[1:])
OPTIONS = tuple(n.removeprefix("MANAGEMENT_OPTION_") for n in alloc.ManagementOption.keys()[1:])
CATEGORIES = tuple(c.value for c in ent_model.Category)
YES_NO = {"yes": True, "no": False}

# The request_ids of an import are derived from the person's stable key (commissioner,
# financial year, NHS number; importer/load.py adds which item) in this namespace: a re-run of
# the same file, or of a corrected copy, sends the same ids, so nothing is imported twice.
NAMESPACE = uuid.UUID("0b6c7c8e-54a1-4a43-9c9e-6f0f3f1d2a17")

# Where the allocation API's request checks name a plan line's fields, the file's columns.
_LINE_FIELDS = {
    "line.description": "line_description",
    "line.category": "line_category",
    "line.cost_per_occurrence_pence": "line_cost_per_occurrence_pence",
    "line.occurrences": "line_occurrences",
    "line.split": "line_nhs_basis_points",
    "line.split.client_basis_points": "line_client_basis_points",
    "line.frequency": "line_frequency",
    "line.management_option": "line_management_option",
    "line.allowed_payee_kind": "line_management_option",
}


class FileRefused(ValueError):
    """The whole file is refused (a missing or a pounds column, no rows, too many rows)."""


@dataclass(frozen=True)
class Refusal:
    """One refused row: its number as the spreadsheet shows it (the header is row 1), the
    column at fault ("" for the row as a whole) and the reason (a stable code, then words)."""

    row: int
    column: str
    reason: str


@dataclass
class Line:
    """One plan line: the row it came from and the API's PlanLineInput."""

    row: int
    plan_line: alloc.PlanLineInput
    terms: alloc_model.PlanLineTerms


@dataclass
class PersonBudget:
    """One person, their granted eligibility and their agreed budget of one financial year."""

    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: date
    commissioner_ods_code: str
    council_gss_code: str  # the person's council (social services authority)
    nhs_only: bool  # a budget funded solely by the NHS (names no council; CHC always is)
    category: ent_model.Category
    decided_on: date
    financial_year: int
    start_date: date  # the budget's first day and the day it was agreed (England)
    client_contribution_pence: int
    lines: list[Line] = field(default_factory=list)

    @property
    def rows(self) -> list[int]:
        return [line.row for line in self.lines]

    def request_id(self, *parts: object) -> str:
        """The deterministic request_id of one of this person's calls (see NAMESPACE)."""
        stable = ("import", self.commissioner_ods_code, self.financial_year, self.nhs_number)
        key = "/".join(str(p) for p in (*stable, *parts))
        return str(uuid.uuid5(NAMESPACE, key))


@dataclass
class Checked:
    """The file checked: the people whose every row passed, and the refused rows."""

    people: list[PersonBudget]
    refusals: list[Refusal]
    rows: int


def check_header(header: Sequence[str]) -> None:
    """Raise FileRefused unless the header names every column once, none in pounds."""
    names = [h.strip() for h in header]
    if len(names) == 1:
        for mark, called in ((";", "semicolons"), ("\t", "tabs")):
            if mark in names[0]:
                raise FileRefused(
                    f"the file is not comma-separated: its header is separated by {called};"
                    " save it as CSV with commas (docs/import.md)"
                )
    pounds = [n for n in names if "pound" in n.lower() or n.lower().endswith("_gbp")]
    if pounds:
        raise FileRefused(
            f"column {pounds[0]!r} is in pounds: amounts are whole pence, in the *_pence columns"
            " (12550 for £125.50)"
        )
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise FileRefused(f"the header lacks the columns: {', '.join(missing)}")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise FileRefused(f"the header has unknown columns: {', '.join(unknown)}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise FileRefused(f"the header names columns twice: {', '.join(twice)}")


def read(
    lines: Iterable[str], *, policy: CategoryPolicy, today: date, rows_max: int = ROWS_MAX
) -> Checked:
    """Read and check the CSV text `lines` as of `today` (England). Raises FileRefused for a
    file that cannot be read at all; a bad row is a Refusal and the others go on. A person with
    one refused row is refused whole (each other row of theirs says which row)."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise FileRefused("the file is empty: it needs a header row and a row per plan line")
    check_header(header)
    names = [h.strip() for h in header]
    refusals: list[Refusal] = []
    people: dict[str, PersonBudget] = {}
    refused_people: dict[str, int] = {}
    rows = 0
    for number, raw in enumerate(reader, start=FIRST_DATA_ROW):
        if not any(cell.strip() for cell in raw):
            continue  # a blank line, as spreadsheets leave at the end
        rows += 1
        if rows > rows_max:
            raise FileRefused(f"more than {rows_max} rows: split the file")
        if len(raw) != len(names):
            refusals.append(
                Refusal(number, "", f"ROW_WIDTH: {len(raw)} cells, the header has {len(names)}")
            )
            continue
        cells = {name: cell.strip() for name, cell in zip(names, raw, strict=True)}
        found = _check_row(number, cells, policy=policy, today=today)
        nhs = cells["nhs_number"]
        if isinstance(found, list):
            refusals.extend(found)
            refused_people.setdefault(nhs, number)
            continue
        held = people.get(nhs)
        if held is None:
            people[nhs] = found
            continue
        fault = _same_person(held, found)
        if fault:
            refusals.append(
                Refusal(number, fault, f"PERSON_ROWS_DIFFER: differs from row {held.rows[0]}")
            )
            refused_people.setdefault(nhs, number)
            continue
        held.lines.extend(found.lines)
    for nhs, held in list(people.items()):
        refused = _check_person(held)
        if refused is not None:
            refusals.append(refused)
            refused_people.setdefault(nhs, refused.row)
    reported = {r.row for r in refusals}
    for nhs, first in refused_people.items():
        person = people.pop(nhs) if nhs in people else None
        if person is None:
            continue
        refusals.extend(
            Refusal(row, "", f"PERSON_REFUSED: row {first} of the same person is refused")
            for row in person.rows
            if row not in reported
        )
    refusals.sort(key=lambda r: (r.row, r.column))
    return Checked(list(people.values()), refusals, rows)


def _whole(cells: dict[str, str], name: str, v: Violations) -> int:
    text = cells[name]
    if name in PENCE_COLUMNS and ("." in text or "£" in text):
        v.add(name, "whole pence, not pounds (12550 for £125.50)")
        return 0
    try:
        value = int(text) if text else 0
    except ValueError:
        v.add(name, "a whole number")
        return 0
    own = Violations()
    BOUNDS[name](value, name, own)
    if own:
        BOUNDS[name](value, name, v)  # the rule's own words, on the file's column
        return 0
    return value


def _check_row(
    number: int, cells: dict[str, str], *, policy: CategoryPolicy, today: date
) -> PersonBudget | list[Refusal]:
    v = Violations()
    nhs = cells["nhs_number"]
    v.check(is_valid_nhs_number(nhs), "nhs_number", "10 digits with a valid check digit")
    for name in ("given_name", "family_name"):
        alloc_validation.check_name(cells[name], name, v)
    born = parse_date(cells["date_of_birth"], "date_of_birth", v, required=True)
    if born is not None and born > today:
        v.add("date_of_birth", "must not be in the future")
    alloc_validation.check_ods(cells["commissioner_ods_code"], "commissioner_ods_code", v)
    alloc_validation.check_gss(cells["council_gss_code"], "council_gss_code", v)
    nhs_only = cells["nhs_only"].lower()
    v.check(nhs_only in YES_NO, "nhs_only", "yes (funded solely by the NHS) or no")
    category_text = cells["eligibility_category"]
    category = ent_model.categories_by_name().get(category_text)
    v.check(category is not None, "eligibility_category", f"one of {', '.join(CATEGORIES)}")
    decided = parse_date(
        cells["eligibility_decided_on"], "eligibility_decided_on", v, required=True
    )
    if decided is not None and decided > today:
        v.add("eligibility_decided_on", "must not be in the future")
    year = _whole(cells, "financial_year", v)
    start = parse_date(cells["budget_start_date"], "budget_start_date", v, required=True)
    contribution = _whole(cells, "client_contribution_pence", v)
    line = _plan_line(cells, v)
    terms = _line_terms(line, v)
    faults = _faults(number, v)
    if faults:
        return faults
    assert category is not None
    assert born is not None
    assert decided is not None
    assert start is not None
    assert terms is not None
    person = PersonBudget(
        nhs_number=nhs,
        given_name=cells["given_name"],
        family_name=cells["family_name"],
        date_of_birth=born,
        commissioner_ods_code=cells["commissioner_ods_code"],
        council_gss_code=cells["council_gss_code"],
        nhs_only=YES_NO.get(nhs_only, False),
        category=category,
        decided_on=decided,
        financial_year=year,
        start_date=start,
        client_contribution_pence=contribution,
        lines=[Line(number, line, terms)],
    )
    refused = _check_rules(number, person, terms, policy)
    return [refused] if refused is not None else person


def _plan_line(cells: dict[str, str], v: Violations) -> alloc.PlanLineInput:
    frequency = cells["line_frequency"]
    option = cells["line_management_option"]
    v.check(frequency in FREQUENCIES, "line_frequency", f"one of {', '.join(FREQUENCIES)}")
    v.check(option in OPTIONS, "line_management_option", f"one of {', '.join(OPTIONS)}")
    direct = option == "DIRECT_PAYMENT"
    return alloc.PlanLineInput(
        description=cells["line_description"],
        category=cells["line_category"],
        cost_per_occurrence_pence=_whole(cells, "line_cost_per_occurrence_pence", v),
        frequency=f"FREQUENCY_{frequency}" if frequency in FREQUENCIES else None,
        occurrences=_whole(cells, "line_occurrences", v),
        split=alloc.FundingSplit(
            nhs_basis_points=_whole(cells, "line_nhs_basis_points", v),
            council_basis_points=_whole(cells, "line_council_basis_points", v),
            client_basis_points=_whole(cells, "line_client_basis_points", v),
        ),
        management_option=f"MANAGEMENT_OPTION_{option}" if option in OPTIONS else None,
        # A direct payment goes to the person's own direct-payment account; the rest to providers.
        allowed_payee_kind="PAYEE_KIND_PERSON" if direct else "PAYEE_KIND_PROVIDER",
    )


def _line_terms(line: alloc.PlanLineInput, v: Violations) -> alloc_model.PlanLineTerms | None:
    """The allocation API's own check of a plan line; its faults named by the file's columns."""
    own = Violations()
    terms = alloc_validation.plan_line(line, "line", own)
    try:
        own.raise_if_any()
    except InvalidArgument as bad:
        seen: set[str] = set()
        for violation in bad.violations:
            column = _LINE_FIELDS.get(violation.field, violation.field)
            if column not in seen and not _already(v, column):
                seen.add(column)
                v.add(column, violation.description)
        return None
    return terms


def _already(v: Violations, column: str) -> bool:
    try:
        v.raise_if_any()
    except InvalidArgument as bad:
        return any(item.field == column for item in bad.violations)
    return False


def _faults(number: int, v: Violations) -> list[Refusal]:
    try:
        v.raise_if_any()
    except InvalidArgument as bad:
        return [
            Refusal(number, item.field, f"INVALID_VALUE: {item.description}")
            for item in bad.violations
        ]
    return []


def _check_rules(
    number: int, person: PersonBudget, terms: alloc_model.PlanLineTerms, policy: CategoryPolicy
) -> Refusal | None:
    """The stateless rules between the row's fields: the first broken one, or None."""
    checks: list[tuple[str, DomainError | None]] = [
        ("eligibility_decided_on", _age_refusal(person)),
        ("budget_start_date", _start_refusal(person)),
        ("line_category", policy.check_category(terms.category, column="line_category")),
        ("line_nhs_basis_points", _cohort_refusal(person, terms)),
    ]
    for column, refused in checks:
        if refused is not None:
            return Refusal(number, column, f"{refused.reason}: {refused.message}")
    return None


def _age_refusal(person: PersonBudget) -> DomainError | None:
    try:
        ent_model.check_age_rule(person.category, person.date_of_birth, person.decided_on)
    except DomainError as refused:
        return refused
    return None


def _start_refusal(person: PersonBudget) -> DomainError | None:
    """A budget starts (and was agreed) within its financial year (CreateBudget's start_date
    rule on allocation.domain.model.financial_year_bounds, then budget_date_refusal)."""
    first, last = alloc_model.financial_year_bounds(person.financial_year)
    if not alloc_model.within_financial_year(person.financial_year, person.start_date):
        return InvalidArgument(
            reason="DATE_OUTSIDE_FINANCIAL_YEAR",
            message=f"must lie within the financial year {first.isoformat()}..{last.isoformat()}",
        )
    return alloc_model.budget_date_refusal(
        "budget_start_date", person.start_date, year=person.financial_year, end_date=last
    )


def _cohort_refusal(person: PersonBudget, terms: alloc_model.PlanLineTerms) -> DomainError | None:
    cohort = person.category.value
    try:
        funders.check_cohort_split(cohort, terms.split)
        funders.check_cohort_funders(
            cohort,
            council_named=not person.nhs_only,
            council_pence=person.client_contribution_pence,
        )
    except DomainError as refused:
        return refused
    return None


def _same_person(held: PersonBudget, row: PersonBudget) -> str:
    """The first person or budget column in which `row` differs from the person's first row."""
    pairs = {
        "given_name": (held.given_name, row.given_name),
        "family_name": (held.family_name, row.family_name),
        "date_of_birth": (held.date_of_birth, row.date_of_birth),
        "commissioner_ods_code": (held.commissioner_ods_code, row.commissioner_ods_code),
        "council_gss_code": (held.council_gss_code, row.council_gss_code),
        "nhs_only": (held.nhs_only, row.nhs_only),
        "eligibility_category": (held.category, row.category),
        "eligibility_decided_on": (held.decided_on, row.decided_on),
        "financial_year": (held.financial_year, row.financial_year),
        "budget_start_date": (held.start_date, row.start_date),
        "client_contribution_pence": (
            held.client_contribution_pence,
            row.client_contribution_pence,
        ),
    }
    return next((name for name, (a, b) in pairs.items() if a != b), "")


def _check_person(person: PersonBudget) -> Refusal | None:
    """The rules over all of a person's lines: the plan's client part is never more than the
    assessed contribution (Care Act s17)."""
    totals = alloc_model.plan_totals(line.terms for line in person.lines)
    try:
        funders.check_client_contribution(
            totals[FundingStream.CLIENT], person.client_contribution_pence
        )
    except DomainError as refused:
        return Refusal(
            person.rows[-1], "client_contribution_pence", f"{refused.reason}: {refused.message}"
        )
    return None
