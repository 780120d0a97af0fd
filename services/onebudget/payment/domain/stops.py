"""When a budget's payments are stopped, and when they may resume: pure rules.

Source: NHS (Direct Payments) Regulations 2013 (SI 2013/1617) reg 17 and shared/domain.md
("Payments"): payments are stopped when consent is withdrawn, and may be stopped on
ineligibility, misuse, fraud or death. Dates are England's calendar dates. docs/adr/0010.

A budget's payments are stopped while any of these holds, the first named in this order:
  1. the person died (never lifted) or withdrew consent (lifted by a later granted PHB: a new
     request is the person's consent again, as entitlement makes the person ACTIVE again);
  2. a stop recorded by StopPayments is open (grounds INELIGIBILITY, MISUSE or FRAUD), until
     ResumePayments;
  3. the eligibility the budget rests on (its cohort) is refused by the decision in force
     (shared/standing.py): a refused eligibility stops the budgets that rest on it, and a later
     grant lets them pay again.
While stopped, nothing is paid: releases, confirmations and each instalment due are refused
PAYMENTS_STOPPED (an instalment is recorded as failed, and the schedule pays again from the
first instalment due after payments resume).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from onebudget.payment.domain import errors
from onebudget.shared.errors import FailedPrecondition


class StopGrounds(enum.StrEnum):
    """Grounds a commissioner records with StopPayments (reg 17)."""

    INELIGIBILITY = "INELIGIBILITY"
    MISUSE = "MISUSE"
    FRAUD = "FRAUD"


# Person-level stops, from entitlement's events (payment.stopped_people.why).
DEATH = "DEATH"
CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
# A refused eligibility in the budget's cohort stops it on these grounds.
ELIGIBILITY_REFUSED = "INELIGIBILITY"


@dataclass(frozen=True)
class OpenStop:
    """A stop recorded by StopPayments and not yet resumed."""

    grounds: StopGrounds
    stopped_on: date


def stop_grounds(
    person_stop: str | None, open_stop: OpenStop | None, eligibility_granted: bool | None
) -> str | None:
    """Why the budget's payments are stopped now (the module's order), or None if they are not.

    `person_stop` is DEATH or CONSENT_WITHDRAWN when recorded for the person;
    `eligibility_granted` is the decision in force in the budget's cohort (None: none known,
    which stops nothing: the budget was agreed on a granted one)."""
    if person_stop:
        return person_stop
    if open_stop is not None:
        return open_stop.grounds.value
    if eligibility_granted is False:
        return ELIGIBILITY_REFUSED
    return None


def lifts_person_stop(why: str, stop_recorded: int, grant_recorded: int) -> bool:
    """Whether a granted PHB request lifts the person's stop: a withdrawal of consent recorded
    before the grant (by the person's event version; unknown order, 0, counts as before);
    a death never."""
    if why != CONSENT_WITHDRAWN:
        return False
    return not (stop_recorded and grant_recorded and grant_recorded < stop_recorded)


def check_stop(open_stop: OpenStop | None, budget_state: str) -> None:
    """A budget can be stopped once at a time, and only while it is not ended.

    Raises FAILED_PRECONDITION `PAYMENTS_ALREADY_STOPPED` (metadata: the open stop's grounds
    and date) or `BUDGET_NOT_ACTIVE` (the budget ended: nothing is paid from it anyway)."""
    if budget_state == "ENDED":
        raise FailedPrecondition(
            reason=errors.BUDGET_NOT_ACTIVE,
            message="the budget has ended: nothing is paid from it",
            metadata={"state": budget_state},
        )
    if open_stop is not None:
        raise FailedPrecondition(
            reason=errors.PAYMENTS_ALREADY_STOPPED,
            message="payments against this budget are stopped already: resume them first",
            metadata={
                "grounds": open_stop.grounds.value,
                "stopped_on": open_stop.stopped_on.isoformat(),
            },
        )


def check_resume(
    open_stop: OpenStop | None, resumed_on: date, eligibility_granted: bool | None
) -> None:
    """Payments resume when the law allows: never while the eligibility the budget rests on is
    refused, and only an open stop, on or after its date.

    Raises FAILED_PRECONDITION `ELIGIBILITY_REFUSED` (the decision in force in the budget's
    cohort is a refusal: payments resume when it is granted again), `PAYMENTS_NOT_STOPPED` (no
    open stop) or `RESUMED_BEFORE_STOPPED` (resumed_on before stopped_on)."""
    if eligibility_granted is False:
        raise FailedPrecondition(
            reason=errors.ELIGIBILITY_REFUSED,
            message="the eligibility this budget rests on is refused: payments resume when it "
            "is granted again",
        )
    if open_stop is None:
        raise FailedPrecondition(
            reason=errors.PAYMENTS_NOT_STOPPED,
            message="no stop of this budget's payments is open",
        )
    if resumed_on < open_stop.stopped_on:
        raise FailedPrecondition(
            reason=errors.RESUMED_BEFORE_STOPPED,
            message="resumed_on is before the stop's date",
            metadata={"stopped_on": open_stop.stopped_on.isoformat()},
        )
