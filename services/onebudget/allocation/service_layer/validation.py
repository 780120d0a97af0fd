"""Request checks that need no state: every fault of a request is reported at once
(INVALID_ARGUMENT with BadRequest field violations), before any transaction starts."""

from __future__ import annotations

from onebudget.allocation.domain import funders, model
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.shared.errors import Violations
from onebudget.shared.identifiers import is_valid_gss_council_code, is_valid_ods_code
from onebudget.shared.money import BASIS_POINTS_WHOLE
from onebudget.shared.validation import check_pence


def check_name(name: str, field: str, v: Violations) -> None:
    v.check(0 < len(name.strip()) <= model.TEXT_LENGTH_MAX, field, "required, up to 200 chars")


def check_ods(code: str, field: str, v: Violations, *, required: bool = True) -> None:
    if code or required:
        v.check(is_valid_ods_code(code), field, "an ODS code: 3 or 5 upper-case letters/digits")


def check_gss(code: str, field: str, v: Violations, *, required: bool = True) -> None:
    if code or required:
        v.check(
            is_valid_gss_council_code(code),
            field,
            "a social-services council GSS code: E06, E08, E09 or E10 and 6 digits",
        )


def check_year(year: int, field: str, v: Violations) -> None:
    v.check(
        model.is_financial_year(year),
        field,
        f"a financial year by its starting year, {model.FINANCIAL_YEAR_MIN}"
        f"..{model.FINANCIAL_YEAR_MAX} (2026 = 2026-04-01..2027-03-31)",
    )


def check_basis_points(value: int, field: str, v: Violations) -> None:
    v.check(0 <= value <= BASIS_POINTS_WHOLE, field, "basis points between 0 and 10,000")


def check_occurrences(value: int, field: str, v: Violations) -> None:
    """A plan line's occurrences in the budget's period: 1..OCCURRENCES_MAX."""
    v.check(0 < value <= model.OCCURRENCES_MAX, field, f"between 1 and {model.OCCURRENCES_MAX}")


def cohort_name(value: int) -> str:
    """COHORT_UNSPECIFIED -> "" (general); COHORT_CHC -> "CHC"."""
    return "" if value == 0 else pb.Cohort.Name(value).removeprefix("COHORT_")


def _enum_name(enum: object, value: int, prefix: str) -> str:
    if value == 0:
        return ""
    try:
        return str(enum.Name(value)).removeprefix(prefix)  # type: ignore[attr-defined]
    except ValueError:
        return ""


def plan_line(line: pb.PlanLineInput, field: str, v: Violations) -> model.PlanLineTerms:
    """A plan line's terms; every fault is reported under `field`."""
    check_name(line.description, f"{field}.description", v)
    v.check(
        model.is_category_code(line.category),
        f"{field}.category",
        "a lower_snake code such as personal_care",
    )
    check_pence(
        line.cost_per_occurrence_pence,
        f"{field}.cost_per_occurrence_pence",
        v,
        high=model.COST_PER_OCCURRENCE_PENCE_MAX,
    )
    check_occurrences(line.occurrences, f"{field}.occurrences", v)
    split = model.Split(
        line.split.nhs_basis_points,
        line.split.council_basis_points,
        line.split.client_basis_points,
    )
    v.check(split.whole, f"{field}.split", "basis points >= 0 that sum to exactly 10,000")
    v.check(
        funders.client_part_allowed(split),
        f"{field}.split.client_basis_points",
        "the client contribution applies to the council stream only",
    )
    frequency = _enum_name(pb.Frequency, line.frequency, "FREQUENCY_")
    v.check(bool(frequency), f"{field}.frequency", "required")
    option = _enum_name(pb.ManagementOption, line.management_option, "MANAGEMENT_OPTION_")
    v.check(bool(option), f"{field}.management_option", "required")
    payee_kind = _enum_name(pb.PayeeKind, line.allowed_payee_kind, "PAYEE_KIND_")
    v.check(
        bool(line.allowed_payee_id or payee_kind),
        f"{field}.allowed_payee_kind",
        "an allowed payee id or payee kind is required",
    )
    v.check(
        model.payee_kind_fits_option(option, payee_kind),
        f"{field}.allowed_payee_kind",
        "a direct-payment line pays the person or nominee (PERSON, NOMINEE); other lines never",
    )
    v.check(len(line.allowed_payee_id) <= 100, f"{field}.allowed_payee_id", "up to 100 chars")
    return model.PlanLineTerms(
        description=line.description.strip(),
        category=line.category,
        cost_per_occurrence_pence=line.cost_per_occurrence_pence,
        frequency=frequency,
        occurrences=line.occurrences,
        split=split,
        management_option=option,
        allowed_payee_id=line.allowed_payee_id,
        allowed_payee_kind=payee_kind,
    )
