"""Allocation's budgets and plan lines as this service needs them (its read model).

Pure mapping from facts to rows: the consumer turns each event into one of these facts, and
tests insert budgets the same way. Fields a fact leaves None keep their stored value, so events
that carry only part of a budget (BudgetAgreed has no accounts) do not erase the rest.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

from onebudget.payment.adapters import repository as repo


@dataclass(frozen=True)
class BudgetFacts:
    budget_id: uuid.UUID
    state: str | None = None  # DRAFT, AGREED, ENDED
    person_id: uuid.UUID | None = None
    commissioner_ods_code: str | None = None
    council_gss_code: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    nhs_account_id: uuid.UUID | None = None
    council_account_id: uuid.UUID | None = None
    client_account_id: uuid.UUID | None = None
    cohort: str | None = None  # the eligibility category the budget rests on


@dataclass(frozen=True)
class PlanLineFacts:
    plan_line_id: uuid.UUID
    budget_id: uuid.UUID
    category: str
    cost_pence: int
    nhs_bp: int
    council_bp: int
    client_bp: int
    management_option: str = ""
    allowed_payee_id: uuid.UUID | None = None
    allowed_payee_kind: str = ""
    agreed: bool = False


async def apply_budget(conn: asyncpg.Connection, facts: BudgetFacts) -> None:
    await repo.upsert_budget(conn, **facts.__dict__)


async def apply_plan_line(conn: asyncpg.Connection, facts: PlanLineFacts) -> None:
    await repo.upsert_budget(conn, budget_id=facts.budget_id)
    await repo.upsert_plan_line(conn, **facts.__dict__)


async def agree_budget(conn: asyncpg.Connection, facts: BudgetFacts) -> None:
    """The budget and every line still in its plan are agreed."""
    await repo.upsert_budget(conn, **{**facts.__dict__, "state": "AGREED"})
    await repo.set_lines_agreed(conn, facts.budget_id)


async def remove_plan_line(conn: asyncpg.Connection, plan_line_id: uuid.UUID) -> None:
    await repo.remove_plan_line(conn, plan_line_id)
