"""A synthetic year for one ICB and one council: people, eligibility, budgets and plans.

Pure and deterministic (a seeded random.Random): the same seed gives the same demo. No real
person appears: names are drawn from short lists of common words, and NHS numbers come from the
999 range, which the NHS does not issue to patients, with a valid modulus-11 check digit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from onebudget.shared.identifiers import nhs_check_digit
from onebudget.shared.money import split_by_basis_points

COMMISSIONER = ("QNQ", "NHS Frimley Integrated Care Board (synthetic)")
COUNCIL = ("E06000036", "Bracknell Forest Council (synthetic)")
DECIDING_BODY = "Synthetic ICB continuing care panel"

# (category, share of people, adult?) - roughly the national mix of PHB holders.
CATEGORY_MIX: tuple[tuple[str, int, bool | None], ...] = (
    ("CHC", 30, True),
    ("CHILDRENS_CC", 5, False),
    ("S117", 10, True),
    ("WHEELCHAIR", 15, None),
    ("JOINT_PACKAGE", 15, True),
    ("LONG_TERM_CONDITION", 15, None),
    ("MENTAL_HEALTH", 10, True),
)
# National mix Q4 2023/24: 80% notional, 5% third party, 15% direct payment (domain.md).
MANAGEMENT_MIX = (("NOTIONAL", 80), ("THIRD_PARTY", 5), ("DIRECT_PAYMENT", 15))
GIVEN = (
    "Alex",
    "Sam",
    "Jo",
    "Chris",
    "Pat",
    "Robin",
    "Jamie",
    "Morgan",
    "Taylor",
    "Casey",
    "Jordan",
    "Riley",
    "Avery",
    "Quinn",
    "Rowan",
    "Sasha",
    "Toni",
    "Kit",
    "Ash",
    "Drew",
)
FAMILY = (
    "Oak",
    "Birch",
    "Hazel",
    "Rowan",
    "Alder",
    "Willow",
    "Aspen",
    "Holly",
    "Ivy",
    "Elm",
    "Juniper",
    "Laurel",
    "Maple",
    "Cedar",
    "Linden",
    "Poplar",
    "Sorrel",
    "Teasel",
)
# (service, category, pence per occurrence, frequency): rough 2026 prices for the region.
SERVICES = (
    ("Personal assistant support", "personal_care", 16_500, "WEEKLY"),
    ("Respite care", "respite", 125_000, "FOUR_WEEKLY"),
    ("Physiotherapy", "therapy", 9_000, "WEEKLY"),
    ("Community nursing support", "nursing", 31_000, "WEEKLY"),
    ("Day opportunities", "day_services", 11_600, "WEEKLY"),
    ("Powered wheelchair and maintenance", "equipment", 580_000, "ONE_OFF"),
    ("Counselling", "therapy", 5_500, "WEEKLY"),
)


def synthetic_nhs_number(rng: random.Random) -> str:
    """A valid-looking NHS number from the never-issued 999 range."""
    while True:
        nine = "999" + "".join(rng.choice("0123456789") for _ in range(6))
        check = nhs_check_digit(nine)
        if check is not None:
            return nine + str(check)


@dataclass(frozen=True)
class PlanLineSpec:
    description: str
    category: str
    cost_per_occurrence_pence: int
    frequency: str
    occurrences: int
    nhs_basis_points: int
    council_basis_points: int
    client_basis_points: int
    management_option: str


@dataclass(frozen=True)
class PersonSpec:
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: date
    category: str
    decided_on: date
    agreed_on: date
    nhs_only: bool
    client_contribution_pence: int
    plan: tuple[PlanLineSpec, ...] = field(default=())


def financial_year_of(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    names = [name for name, _ in options]
    weights = [weight for _, weight in options]
    return rng.choices(names, weights=weights)[0]


def _birth_date(rng: random.Random, adult: bool | None, today: date) -> date:
    if adult is None:
        adult = rng.random() < 0.85
    age = rng.randint(19, 90) if adult else rng.randint(2, 16)
    return today - timedelta(days=age * 365 + rng.randint(0, 364))


def _split(rng: random.Random, category: str, joint: bool) -> tuple[int, int, int]:
    if not joint:
        return (10_000, 0, 0)
    nhs = rng.choice((4_000, 5_000, 6_000, 7_000))
    client = rng.choice((0, 0, 500, 1_000))
    return (nhs, 10_000 - nhs - client, client)


def assessed_contribution(plan: tuple[PlanLineSpec, ...]) -> int:
    """The person's assessed contribution (Care Act 2014 s17) that the plan's client parts were
    costed from: the plan charges exactly what the financial assessment says, never more
    (issue 13). Pence, each line split as allocation splits it (largest remainder)."""
    return sum(
        split_by_basis_points(
            line.cost_per_occurrence_pence * line.occurrences,
            [line.nhs_basis_points, line.council_basis_points, line.client_basis_points],
        )[2]
        for line in plan
    )


def _plan(rng: random.Random, category: str, joint: bool, weeks: int) -> tuple[PlanLineSpec, ...]:
    lines: list[PlanLineSpec] = []
    chosen = rng.sample(SERVICES, k=rng.randint(1, 3))
    if category == "WHEELCHAIR":
        chosen = [SERVICES[5]]
    for description, service_category, cost, frequency in chosen:
        occurrences = {"WEEKLY": weeks, "FOUR_WEEKLY": max(1, weeks // 4), "ONE_OFF": 1}[frequency]
        nhs, council, client = _split(rng, category, joint)
        lines.append(
            PlanLineSpec(
                description=description,
                category=service_category,
                cost_per_occurrence_pence=cost * rng.choice((1, 2, 3)),
                frequency=frequency,
                occurrences=occurrences,
                nhs_basis_points=nhs,
                council_basis_points=council,
                client_basis_points=client,
                management_option=_weighted(rng, MANAGEMENT_MIX),
            )
        )
    return tuple(lines)


def people(count: int, *, today: date, seed: int = 2026) -> list[PersonSpec]:
    """`count` synthetic people with budgets agreed between 1 April and `today`."""
    rng = random.Random(seed)
    year_start = date(financial_year_of(today), 4, 1)
    span_days = max(1, (today - year_start).days)
    year_end = date(year_start.year + 1, 3, 31)
    categories = tuple((name, weight) for name, weight, _ in CATEGORY_MIX)
    adult_rule = {name: adult for name, _, adult in CATEGORY_MIX}
    result: list[PersonSpec] = []
    numbers: set[str] = set()
    while len(result) < count:
        number = synthetic_nhs_number(rng)
        if number in numbers:
            continue
        numbers.add(number)
        category = _weighted(rng, categories)
        decided_on = year_start + timedelta(days=rng.randrange(span_days))
        agreed_on = min(today, decided_on + timedelta(days=rng.randint(0, 21)))
        # Joint packages are integrated budgets; some long-term conditions are too.
        joint = category == "JOINT_PACKAGE" or (
            category == "LONG_TERM_CONDITION" and rng.random() < 0.3
        )
        weeks = max(1, (year_end - agreed_on).days // 7)
        plan = _plan(rng, category, joint, weeks)
        result.append(
            PersonSpec(
                nhs_number=number,
                given_name=rng.choice(GIVEN),
                family_name=rng.choice(FAMILY),
                date_of_birth=_birth_date(rng, adult_rule[category], decided_on),
                category=category,
                decided_on=decided_on,
                agreed_on=agreed_on,
                nhs_only=not joint,
                client_contribution_pence=assessed_contribution(plan),
                plan=plan,
            )
        )
    return result
