"""The allocation service's stable error reasons (clients branch on them: never renamed)."""

from __future__ import annotations

from onebudget.shared.errors import AlreadyExists, FailedPrecondition, NotFound

COMMISSIONER_NOT_FOUND = "COMMISSIONER_NOT_FOUND"
COUNCIL_NOT_FOUND = "COUNCIL_NOT_FOUND"
COMMISSIONER_ALREADY_REGISTERED = "COMMISSIONER_ALREADY_REGISTERED"
COUNCIL_ALREADY_REGISTERED = "COUNCIL_ALREADY_REGISTERED"
ALLOCATION_ALREADY_SET = "ALLOCATION_ALREADY_SET"
ALLOCATION_NOT_FOUND = "ALLOCATION_NOT_FOUND"
ALLOCATION_NOT_SET = "COMMISSIONER_ALLOCATION_NOT_SET"
COUNCIL_ALLOCATION_NOT_SET = "COUNCIL_ALLOCATION_NOT_SET"
TARGETS_TOO_SMALL = "COHORT_TARGETS_EXCEED_OVERALL_TARGET"
YEAR_NOT_OVER = "FINANCIAL_YEAR_NOT_OVER"
YEAR_CLOSED = "FINANCIAL_YEAR_CLOSED"
PERSON_NOT_FOUND = "PERSON_NOT_FOUND"
NO_ELIGIBILITY = "NO_ELIGIBILITY"
PERSON_DECEASED = "PERSON_DECEASED"
CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
CLIENT_CONTRIBUTION_NOT_ALLOWED = "CLIENT_CONTRIBUTION_NOT_ALLOWED"
COUNCIL_STREAM_NOT_IN_BUDGET = "COUNCIL_STREAM_NOT_IN_BUDGET"
BUDGET_NOT_FOUND = "BUDGET_NOT_FOUND"
PLAN_LINE_NOT_FOUND = "PLAN_LINE_NOT_FOUND"
BUDGET_ALREADY_AGREED = "BUDGET_ALREADY_AGREED"
BUDGET_NOT_AGREED = "BUDGET_NOT_AGREED"
BUDGET_ENDED = "BUDGET_ENDED"
PLAN_EMPTY = "PLAN_EMPTY"
PLAN_LINES_LIMIT = "PLAN_LINES_LIMIT_REACHED"
PLAN_LINE_HAS_PAYMENTS = "PLAN_LINE_HAS_PAYMENTS"
# Retired by issue 13 (the PHB target is a floor): an empty ring-fence no longer refuses a budget
# while the general allocation can pay; NHS_ALLOCATION_EXHAUSTED says when nothing can.
RING_FENCE_EXHAUSTED = "RING_FENCE_EXHAUSTED"
COUNCIL_POT_EXHAUSTED = "COUNCIL_POT_EXHAUSTED"
CUT_BELOW_SPENT = "CUT_BELOW_SPENT_OR_RESERVED"
CONCURRENT_PAYMENTS = "CONCURRENT_PAYMENTS"  # ABORTED: retry the same request
REVISION_EMPTY = "REVISION_CHANGES_NOTHING"
# A budget rests on a granted eligibility and a granted PHB in its cohort (docs/adr/0010).
NO_PHB_GRANTED = "NO_PHB_GRANTED"
# One integrated budget per person per financial year (ALREADY_EXISTS; docs/adr/0010).
BUDGET_EXISTS_FOR_YEAR = "BUDGET_EXISTS_FOR_YEAR"
DATE_OUTSIDE_BUDGET_PERIOD = "DATE_OUTSIDE_BUDGET_PERIOD"


class DateOutsideBudgetPeriod(FailedPrecondition):
    """An agreement, revision-notice or end date that does not fall where it makes sense for
    the budget (`model.budget_date_refusal`)."""

    def __init__(self, message: str, **metadata: str) -> None:
        super().__init__(reason=DATE_OUTSIDE_BUDGET_PERIOD, message=message, metadata=metadata)


# Issue 13, funding (domain/funders.py).
NHS_ALLOCATION_EXHAUSTED = "NHS_ALLOCATION_EXHAUSTED"
CLIENT_CONTRIBUTION_EXCEEDED = "CLIENT_CONTRIBUTION_EXCEEDED"
COHORT_NHS_ONLY = "COHORT_NHS_ONLY"


def not_found(reason: str, what: str, key: str) -> NotFound:
    return NotFound(reason=reason, message=f"no {what} {key!r}", metadata={"id": key})


def precondition(reason: str, message: str, **metadata: str) -> FailedPrecondition:
    return FailedPrecondition(reason=reason, message=message, metadata=metadata)


def exists(reason: str, message: str, **metadata: str) -> AlreadyExists:
    return AlreadyExists(reason=reason, message=message, metadata=metadata)
