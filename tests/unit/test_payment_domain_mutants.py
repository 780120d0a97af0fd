"""The last edges of payment's pure rules that no other unit test pinned (docs/quality.md:
mutation testing of the domain), each as a caller or the ledger sees it."""

from __future__ import annotations

import uuid

from onebudget.ledger import chart
from onebudget.ledger.domain import FundingStream
from onebudget.payment.domain.funders import Funder, return_order
from onebudget.payment.domain.model import PaymentAsk, check_payment
from tests.unit.test_payment_refusal_details import (
    BUDGET,
    LINE,
    PAYEE,
    PROVIDER,
    TODAY,
    _budget,
    _line,
)

ACCOUNTS = tuple(uuid.UUID(f"00000000-0000-4000-8000-0000000000a{k}") for k in (1, 2, 3, 4))


# -- funders: the return order is by the kind of funder first, its owner only second ----------


def _fence(k: int, owner: str) -> Funder:
    return Funder(ACCOUNTS[k], chart.RING_FENCE, owner, FundingStream.NHS, 2026, 10)


def test_a_general_ring_fence_is_refilled_before_a_cohort_fence_whatever_their_owners() -> None:
    """A general ring-fence (owner an ODS code) comes before every cohort ring-fence (owner
    "<ODS>:<cohort>"), even when the cohort fence's owner sorts first."""
    general = _fence(0, "RAT")
    cohort = _fence(1, "QNQ:CHC")
    assert return_order([cohort, general]) == [general, cohort]
    assert return_order([general, cohort]) == [general, cohort]


def test_cohort_ring_fences_are_refilled_by_owner() -> None:
    first, second = _fence(0, "QNQ:CHC"), _fence(1, "QNQ:S117")
    assert return_order([second, first]) == [first, second]


# -- check_payment: a budget swept back in the ledger is not active, whatever payment last saw -


def test_check_payment_refuses_a_budget_ended_in_the_ledger_as_ended() -> None:
    """The ledger swept the budget's accounts back (allocation ended it) before payment saw the
    event: the budget payment still holds as AGREED is refused BUDGET_NOT_ACTIVE, state ENDED."""
    refused = check_payment(
        PaymentAsk(BUDGET, LINE, PAYEE, 10),
        budget=_budget(),
        line=_line(),
        payee=PROVIDER,
        stopped=False,
        excluded_categories=frozenset(),
        line_committed_pence=0,
        today=TODAY,
        ended_in_ledger=True,
    )
    assert refused is not None
    assert (refused.reason, refused.message, dict(refused.metadata)) == (
        "BUDGET_NOT_ACTIVE",
        "the budget is not agreed and active",
        {"budget_id": str(BUDGET), "state": "ENDED"},
    )
