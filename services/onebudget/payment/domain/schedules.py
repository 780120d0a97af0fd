"""Direct-payment schedules, pure: due dates, offsets of accumulated funds, unspent money, and
whether a schedule may run on a line (`check_schedule`), and how many back-dated instalments
one scheduler run may pay.

Instalments are paid in advance: instalment n covers the `every_weeks` weeks from its due date
(the last one up to the schedule's end). Money is integer pence, dates England's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from onebudget.payment.domain import errors
from onebudget.payment.domain.model import Budget, ManagementOption, PaymentRefused, PlanLine

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


# -- may a schedule run on this line (CreateSchedule) ---------------------------------------------


class NotADirectPaymentLine(PaymentRefused):
    REASON = errors.NOT_A_DIRECT_PAYMENT_LINE


class ScheduleOutsideBudget(PaymentRefused):
    REASON = errors.SCHEDULE_OUTSIDE_BUDGET


class ScheduleDoesNotCoverLine(PaymentRefused):
    REASON = errors.SCHEDULE_DOES_NOT_COVER_LINE


class ScheduleExceedsLine(PaymentRefused):
    REASON = errors.SCHEDULE_EXCEEDS_LINE


def instalment_count(start: date, end: date, every_weeks: int) -> int:
    """How many instalments fall due from `start` to `end` (both inclusive), the first on
    `start`."""
    assert start <= end
    assert every_weeks >= 1
    return (end - start).days // (DAYS_PER_WEEK * every_weeks) + 1


def instalment_bounds(left_pence: int, count: int) -> tuple[int, int]:
    """(least, most) pence per instalment for `count` equal instalments to pay `left_pence`
    (> 0) over their period, within it: count x least >= left (they cover it) and
    (count - 1) x most < left (only the last instalment may be cut to what is left; none is
    wholly beyond the line). They always meet when left >= count^2 (any line of real money);
    below that least may exceed most (4p over 3 instalments: 1p does not cover it, 2p pays it
    all by the second), no equal instalment does both, and the schedule is refused: pay less
    often."""
    assert left_pence > 0
    assert count >= 1
    least = -(-left_pence // count)
    most = left_pence if count == 1 else (left_pence - 1) // (count - 1)
    return least, most


def schedule_end(budget: Budget, end: date | None) -> date | None:
    """The schedule's last day: its own end, else the budget's (None when neither is known)."""
    return end if end is not None else budget.end_date


def check_schedule(
    budget: Budget,
    line: PlanLine,
    *,
    instalment_pence: int,
    every_weeks: int,
    start: date,
    end: date | None,
    line_left_pence: int,
) -> PaymentRefused | None:
    """The first rule a direct-payment schedule breaks, or None. In order:

    - NOT_A_DIRECT_PAYMENT_LINE: a schedule pays a direct payment, so it runs only on a
      DIRECT_PAYMENT line (Standing Rules reg 32B(2); the line's management option is a rule).
    - SCHEDULE_OUTSIDE_BUDGET: its start and its end (`schedule_end`: its own, else the
      budget's) lie within the budget's period, the budget's money being for that period.
    - SCHEDULE_DOES_NOT_COVER_LINE: its instalments pay at least what is left of the line
      (`line_left_pence`, the cost less what is committed) over the period: NHS direct payments
      must cover the full cost of the planned services (NHS (Direct Payments) Regs 2013,
      SI 2013/1617, reg 13). Metadata instalment_min_pence, instalment_count.
    - SCHEDULE_EXCEEDS_LINE: and within the line: all but the last instalment fit in what is
      left (the last pays only the rest). Metadata instalment_max_pence, instalment_count.
    With no end known (neither the schedule's nor the budget's) the cover cannot be counted; one
    instalment must still fit in the line."""
    if line.management_option != ManagementOption.DIRECT_PAYMENT:
        return NotADirectPaymentLine(
            "a direct-payment schedule runs only on a direct-payment line",
            management_option=line.management_option,
        )
    last = schedule_end(budget, end)
    early = budget.start_date is not None and start < budget.start_date
    late = budget.end_date is not None and last is not None and last > budget.end_date
    if early or late or (last is not None and last < start):
        return ScheduleOutsideBudget(
            "a schedule runs within the budget's period",
            start_date=start.isoformat(),
            end_date=last.isoformat() if last else "",
            budget_start_date=budget.start_date.isoformat() if budget.start_date else "",
            budget_end_date=budget.end_date.isoformat() if budget.end_date else "",
        )
    if last is None:
        if instalment_pence > line_left_pence:
            return ScheduleExceedsLine(
                "an instalment is more than what is left of the line",
                instalment_max_pence=line_left_pence,
                instalment_count=0,
            )
        return None
    if line_left_pence <= 0:
        return ScheduleExceedsLine(
            "nothing is left of the line to pay", instalment_max_pence=0, instalment_count=0
        )
    count = instalment_count(start, last, every_weeks)
    least, most = instalment_bounds(line_left_pence, count)
    if instalment_pence < least:
        return ScheduleDoesNotCoverLine(
            "the instalments do not pay the line's cost over the schedule's period",
            instalment_min_pence=least,
            instalment_count=count,
            line_left_pence=line_left_pence,
        )
    if instalment_pence > most:
        return ScheduleExceedsLine(
            "the instalments pay more than the line's cost over the schedule's period",
            instalment_max_pence=most,
            instalment_count=count,
            line_left_pence=line_left_pence,
        )
    return None


def instalment_pence_due(instalment_pence: int, line_left_pence: int) -> int:
    """What an instalment schedules: its amount, but never more than is left of the line while
    anything is (the last instalment of a schedule that covers the line pays the rest); a line
    already spent leaves the amount, which the payment rules then refuse PLAN_LINE_EXCEEDED."""
    assert instalment_pence > 0
    return min(instalment_pence, line_left_pence) if line_left_pence > 0 else instalment_pence


def instalment_period(due: date, every_weeks: int, end: date | None) -> tuple[date, date]:
    """The days an instalment due on `due` pays for: `period_end`, cut at the schedule's (or
    budget's) `end` so no instalment pays for services outside the budget's period."""
    last = period_end(due, every_weeks)
    return due, last if end is None else min(last, end)


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


# The time limit of a reclaim notice payment raises by itself (reg 15; local practice).
REPAYMENT_DUE_DAYS_DEFAULT = 28
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
