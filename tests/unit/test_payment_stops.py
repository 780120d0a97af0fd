"""The pure rules of stopping and resuming payments (payment/domain/stops.py; NHS (Direct
Payments) Regulations 2013 reg 17; issue 13 items 6 and 7). Dates are England's."""

from __future__ import annotations

from datetime import date

import pytest

from onebudget.payment.domain.model import stopped_refusal
from onebudget.payment.domain.stops import (
    CONSENT_WITHDRAWN,
    DEATH,
    OpenStop,
    StopGrounds,
    check_resume,
    check_stop,
    lifts_person_stop,
    stop_grounds,
)
from onebudget.shared.errors import FailedPrecondition

D = date.fromisoformat
MISUSE = OpenStop(StopGrounds.MISUSE, D("2026-06-01"))


def test_a_refused_eligibility_in_force_stops_the_budget_and_a_grant_lets_it_pay() -> None:
    """Reg 17: payments may be stopped on ineligibility; a budget rests on its cohort's
    eligibility, so the decision in force decides."""
    assert stop_grounds(None, None, False) == "INELIGIBILITY"
    assert stop_grounds(None, None, True) is None
    assert stop_grounds(None, None, None) is None


def test_an_open_stop_stops_with_its_grounds_and_the_person_comes_first() -> None:
    assert stop_grounds(None, MISUSE, True) == "MISUSE"
    assert stop_grounds(None, OpenStop(StopGrounds.FRAUD, D("2026-06-01")), False) == "FRAUD"
    assert stop_grounds(DEATH, MISUSE, False) == "DEATH"
    assert stop_grounds(CONSENT_WITHDRAWN, None, True) == "CONSENT_WITHDRAWN"


def test_a_granted_phb_lifts_a_withdrawal_of_consent_never_a_death() -> None:
    """Issue 13 item 6: consent withdrawn on 1 June, a PHB granted on 1 July: payments used to
    stay stopped for ever. A grant recorded after the withdrawal lifts it."""
    assert lifts_person_stop(CONSENT_WITHDRAWN, stop_recorded=4, grant_recorded=7)
    assert lifts_person_stop(CONSENT_WITHDRAWN, stop_recorded=0, grant_recorded=7)
    assert lifts_person_stop(CONSENT_WITHDRAWN, stop_recorded=4, grant_recorded=0)
    assert not lifts_person_stop(CONSENT_WITHDRAWN, stop_recorded=7, grant_recorded=4)
    assert not lifts_person_stop(DEATH, stop_recorded=4, grant_recorded=7)


def test_stopping_needs_a_live_budget_with_no_open_stop() -> None:
    check_stop(None, "AGREED")
    check_stop(None, "DRAFT")
    with pytest.raises(FailedPrecondition) as again:
        check_stop(MISUSE, "AGREED")
    assert again.value.reason == "PAYMENTS_ALREADY_STOPPED"
    assert again.value.metadata == {"grounds": "MISUSE", "stopped_on": "2026-06-01"}
    with pytest.raises(FailedPrecondition) as ended:
        check_stop(None, "ENDED")
    assert ended.value.reason == "BUDGET_NOT_ACTIVE"


def test_resuming_needs_an_open_stop_a_date_after_it_and_eligibility_not_refused() -> None:
    check_resume(MISUSE, D("2026-06-01"), True)
    check_resume(MISUSE, D("2026-07-01"), None)
    for stop, on, eligible, reason in (
        (None, D("2026-07-01"), True, "PAYMENTS_NOT_STOPPED"),
        (MISUSE, D("2026-05-31"), True, "RESUMED_BEFORE_STOPPED"),
        (MISUSE, D("2026-07-01"), False, "ELIGIBILITY_REFUSED"),
        (None, D("2026-07-01"), False, "ELIGIBILITY_REFUSED"),
    ):
        with pytest.raises(FailedPrecondition) as refused:
            check_resume(stop, on, eligible)
        assert refused.value.reason == reason


def test_a_stopped_budget_refuses_with_its_grounds() -> None:
    """Releases, confirmations and instalments all meet the same refusal (model.stopped_refusal)."""
    assert stopped_refusal("b-1", False, "") is None
    refused = stopped_refusal("b-1", True, "FRAUD")
    assert refused is not None
    assert refused.reason == "PAYMENTS_STOPPED"
    assert refused.metadata == {"budget_id": "b-1", "grounds": "FRAUD"}
    assert "ineligibility, misuse or fraud" in refused.message
    death = stopped_refusal("b-1", True, "DEATH")
    assert death is not None
    assert death.message == "payments to this person have stopped (death or consent withdrawn)"
