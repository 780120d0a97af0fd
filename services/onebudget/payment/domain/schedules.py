"""Direct-payment schedules, pure: due dates, offsets of accumulated funds, unspent money.

Instalments are paid in advance: instalment n covers the `every_weeks` weeks from its due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

DAYS_PER_WEEK = 7
EVERY_WEEKS_MAX = 52


def due_date(start: date, every_weeks: int, instalment_no: int) -> date:
    assert instalment_no >= 1
    return start + timedelta(weeks=every_weeks * (instalment_no - 1))


def period_end(due: date, every_weeks: int) -> date:
    """The last day an instalment due on `due` pays for."""
    return due + timedelta(weeks=every_weeks) - timedelta(days=1)


def offset_threshold_pence(instalment_pence: int, every_weeks: int, threshold_weeks: int) -> int:
    """The unused money a person may keep: `threshold_weeks` of the weekly rate (local
    practice, configured; e.g. 8 weeks), rounded down to the penny."""
    return instalment_pence * threshold_weeks // every_weeks


def offset_excess_pence(unused_pence: int, threshold_pence: int) -> int:
    """What is above the threshold and will come off the next instalments (reg 13)."""
    return max(0, unused_pence - threshold_pence)


@dataclass(frozen=True)
class InstalmentPlan:
    scheduled_pence: int
    offset_pence: int

    @property
    def pay_pence(self) -> int:
        return self.scheduled_pence - self.offset_pence


def plan_instalment(scheduled_pence: int, offset_outstanding_pence: int) -> InstalmentPlan:
    """Take as much of the outstanding offset as this instalment can bear; the rest carries."""
    taken = min(scheduled_pence, offset_outstanding_pence)
    plan = InstalmentPlan(scheduled_pence, taken)
    assert 0 <= plan.pay_pence <= scheduled_pence
    return plan


def unspent_after(paid_pence: int, due: date, every_weeks: int, stopped_on: date) -> int:
    """Of an instalment paid in advance for [due, period end], the share for the days after
    `stopped_on` (pro rata by days, rounded down: the person keeps the odd penny)."""
    end = period_end(due, every_weeks)
    days = (end - due).days + 1
    after = min(days, max(0, (end - stopped_on).days))
    return paid_pence * after // days


# -- a budget's end (issue 13, item 13) ---------------------------------------------------------

END_REASON_GROUNDS = {
    # allocation's BudgetEnded.reason -> (repayment grounds, who repays), reg 15
    "PERSON_DIED": ("DEATH", "ESTATE"),
    "CONSENT_WITHDRAWN": ("CONSENT_WITHDRAWN", "PERSON"),
    "REQUESTED": ("PLAN_CHANGED", "PERSON"),
}


def last_day_paid_for(ended_on: date) -> date:
    """A budget that ends on day E pays for the days before E (it is not live on E, as
    reporting counts it): what an instalment paid for E onwards is reclaimed."""
    return ended_on - timedelta(days=1)


def unspent_after_end(paid_pence: int, due: date, every_weeks: int, ended_on: date) -> int:
    """Of an instalment paid in advance for [due, period end], the share for days from the
    budget's end date on (pro rata by days, rounded down), which is reclaimed (reg 15)."""
    return unspent_after(paid_pence, due, every_weeks, last_day_paid_for(ended_on))


def end_reclaim_terms(end_reason: str) -> tuple[str, str]:
    """(repayment grounds, repayer) of the reclaim a budget's end raises: a death is repaid by
    the estate (grounds DEATH), withdrawn consent by the person, any other end is a change of
    plan repaid by the person (SI 2013/1617 reg 15). Unknown reasons count as a change of plan."""
    return END_REASON_GROUNDS.get(end_reason, END_REASON_GROUNDS["REQUESTED"])
