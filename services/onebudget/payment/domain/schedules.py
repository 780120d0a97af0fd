"""Direct-payment schedules, pure: due dates, offsets of accumulated funds, unspent money, and
how many back-dated instalments one scheduler run may pay.

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


CATCH_UP_MAX_DEFAULT = 13  # a year of 4-weekly instalments, a quarter of weekly ones


def is_backdated(due: date, today: date) -> bool:
    """An instalment is back-dated when it fell due before today (England's date)."""
    return due < today


def may_pay_now(due: date, today: date, backdated_paid_this_run: int, catch_up_max: int) -> bool:
    """Whether one scheduler run may pay the instalment due on `due` of a schedule that has
    already had `backdated_paid_this_run` back-dated instalments paid in this run.

    An instalment due today is always paid. A back-dated one is paid only while the run has
    paid fewer than `catch_up_max` back-dated instalments of this schedule; the rest wait for
    later runs and are flagged (issue 15, item 5: a schedule dated 0001-01-01 paid 5,353
    back-dated instalments in 34 s and drained its plan line). Local practice, configured
    (ONEBUDGET_PAYMENT_CATCH_UP_MAX), not statute: the Direct Payments regulations set no
    catch-up rule; this bounds what one mistaken start date can pay before a person looks."""
    assert catch_up_max >= 1
    assert backdated_paid_this_run >= 0
    if not is_backdated(due, today):
        return True
    return backdated_paid_this_run < catch_up_max


def backdated_unpaid(
    start: date, every_weeks: int, next_instalment_no: int, end: date | None, today: date
) -> int:
    """How many instalments from `next_instalment_no` on fell due before `today` (and on or
    before the schedule's `end`, if it has one): the back-dated instalments not yet paid."""
    first_due = due_date(start, every_weeks, next_instalment_no)
    last_day = today - timedelta(days=1)
    if end is not None:
        last_day = min(last_day, end)
    if first_due > last_day:
        return 0
    return (last_day - first_due).days // (DAYS_PER_WEEK * every_weeks) + 1
