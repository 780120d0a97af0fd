"""Policies that more than one service decides with, configured once (design.md, "One policy per
rule").

Excluded categories: what a budget may never buy. Allocation refuses such a plan line when it is
planned (AddPlanLine, ReviseBudget's added lines) and when the plan is agreed; payment refuses
to pay one. Both read the same environment variable through `CategoryPolicy.from_env`, so a line
that is agreed can always be paid as far as its category goes.

Source: guidance on what a personal health budget may not buy (NHS (Direct Payments) Regulations
2013, SI 2013/1617, regs 15 and 17; Care Act 2014 s33; shared/domain.md "Payments"): alcohol,
tobacco, gambling, debt repayment, anything illegal, urgent and emergency care, and GP and dental
primary care. It is guidance and local practice, so it is configurable, not a constant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from onebudget.shared.config import ConfigError
from onebudget.shared.errors import FailedPrecondition

EXCLUDED_CATEGORIES_ENV = "ONEBUDGET_EXCLUDED_CATEGORIES"
EXCLUDED_CATEGORIES_DEFAULT: frozenset[str] = frozenset(
    {
        "alcohol",
        "tobacco",
        "gambling",
        "debt_repayment",
        "illegal",
        "urgent_care",
        "emergency_care",
        "gp_services",
        "primary_medical_care",
        "primary_dental_care",
    }
)
# The stable reason of the refusal, the same in allocation and payment (never renamed).
CATEGORY_EXCLUDED = "CATEGORY_EXCLUDED"
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")


def is_excluded(category: str, excluded: frozenset[str]) -> bool:
    """Whether a plan line of `category` may never be bought (exact, lower_snake codes)."""
    return category in excluded


@dataclass(frozen=True)
class CategoryPolicy:
    """The excluded categories of this deployment (default: EXCLUDED_CATEGORIES_DEFAULT)."""

    excluded: frozenset[str] = EXCLUDED_CATEGORIES_DEFAULT

    def is_excluded(self, category: str) -> bool:
        return is_excluded(category, self.excluded)

    def check_category(self, category: str, **metadata: object) -> FailedPrecondition | None:
        """FAILED_PRECONDITION reason CATEGORY_EXCLUDED (metadata: category and what the caller
        adds, e.g. the request field), or None when the category may be bought.

        FAILED_PRECONDITION, not INVALID_ARGUMENT: the category code is well formed; the refusal
        comes from this deployment's configured policy (the same request is fine under another
        policy, and a line agreed before a policy change is refused at agreement, not in the
        request), and payment has always answered CATEGORY_EXCLUDED this way. One code and one
        reason wherever a client meets the rule."""
        if not self.is_excluded(category):
            return None
        return FailedPrecondition(
            reason=CATEGORY_EXCLUDED,
            message="a budget may not buy this category (excluded by policy)",
            metadata={"category": category, **{k: str(v) for k, v in metadata.items()}},
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CategoryPolicy:
        """ONEBUDGET_EXCLUDED_CATEGORIES: comma-separated lower_snake codes that replace the
        default list; unset means the default; a bad code stops start-up (ConfigError)."""
        raw = env.get(EXCLUDED_CATEGORIES_ENV)
        if raw is None or not raw.strip():
            return cls()
        categories = frozenset(c.strip() for c in raw.split(",") if c.strip())
        bad = sorted(c for c in categories if not _CATEGORY.match(c))
        if bad:
            raise ConfigError(f"{EXCLUDED_CATEGORIES_ENV} has bad category codes: {', '.join(bad)}")
        return cls(categories)
