"""The edges of the pure schedule, stop and funder rules, each refusal exactly as a caller reads
it: its reason, its message and its metadata (docs/quality.md: the mutation score of the domain).
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from onebudget.ledger import chart
from onebudget.ledger.domain import FundingStream
from onebudget.payment.domain import errors
from onebudget.payment.domain.funders import (
    Funder,
    FunderReturn,
    FunderUnknown,
    funder_returns,
    return_order,
)
from onebudget.payment.domain.model import Budget, PlanLine
from onebudget.payment.domain.schedules import (
    check_schedule,
    instalment_bounds,
    instalment_pence_due,
)
from onebudget.payment.domain.stops import (
    CONSENT_WITHDRAWN,
    OpenStop,
    StopGrounds,
    check_resume,
    check_stop,
    lifts_person_stop,
)
from onebudget.shared.errors import DomainError, FailedPrecondition

BUDGET = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
LINE = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
ACCOUNTS = tuple(uuid.UUID(f"00000000-0000-4000-8000-0000000000a{k}") for k in (1, 2, 3, 4))
START = date(2026, 4, 1)
END = date(2027, 3, 31)


def _budget(start: date | None = START, end: date | None = END) -> Budget:
    return Budget(
        budget_id=BUDGET,
        person_id=None,
        commissioner_ods_code="QNQ",
        council_gss_code="E10000015",
        state="AGREED",
        start_date=start,
        end_date=end,
        accounts=(None, None, None),
    )


def _line(option: str = "DIRECT_PAYMENT") -> PlanLine:
    fields: dict[str, object] = {
        "plan_line_id": LINE,
        "budget_id": BUDGET,
        "category": "personal_care",
        "cost_pence": 1_000,
        "basis_points": (10000, 0, 0),
        "management_option": option,
        "allowed_payee_id": None,
        "allowed_payee_kind": "",
        "agreed": True,
        "removed": False,
        "committed_pence": 0,
        "committed_parts": (0, 0, 0),
    }
    return PlanLine(**fields)  # type: ignore[arg-type]


def _check(
    budget: Budget | None = None,
    *,
    option: str = "DIRECT_PAYMENT",
    instalment: int = 250,
    start: date = START,
    end: date | None = date(2026, 4, 28),
    left: int = 1_000,
) -> DomainError | None:
    return check_schedule(
        budget or _budget(),
        _line(option),
        instalment_pence=instalment,
        every_weeks=1,
        start=start,
        end=end,
        line_left_pence=left,
    )


def _seen(error: DomainError | None) -> tuple[str, str, dict[str, str]]:
    assert error is not None
    return error.reason, error.message, dict(error.metadata)


# -- check_schedule ------------------------------------------------------------------------------


def test_a_schedule_on_a_line_not_paid_directly_is_refused_with_its_option() -> None:
    assert _seen(_check(option="NOTIONAL")) == (
        errors.NOT_A_DIRECT_PAYMENT_LINE,
        "a direct-payment schedule runs only on a direct-payment line",
        {"management_option": "NOTIONAL"},
    )


OUTSIDE = "a schedule runs within the budget's period"


def test_a_schedule_starting_before_the_budget_is_refused_with_all_four_dates() -> None:
    assert _seen(_check(start=date(2026, 3, 31))) == (
        errors.SCHEDULE_OUTSIDE_BUDGET,
        OUTSIDE,
        {
            "start_date": "2026-03-31",
            "end_date": "2026-04-28",
            "budget_start_date": "2026-04-01",
            "budget_end_date": "2027-03-31",
        },
    )


def test_an_unknown_end_and_budget_end_read_as_empty_strings() -> None:
    budget = _budget(end=None)
    assert _seen(_check(budget, start=date(2026, 3, 1), end=None)) == (
        errors.SCHEDULE_OUTSIDE_BUDGET,
        OUTSIDE,
        {
            "start_date": "2026-03-01",
            "end_date": "",
            "budget_start_date": "2026-04-01",
            "budget_end_date": "",
        },
    )


def test_an_unknown_budget_start_reads_as_an_empty_string() -> None:
    budget = _budget(start=None)
    assert _seen(_check(budget, end=date(2027, 4, 1))) == (
        errors.SCHEDULE_OUTSIDE_BUDGET,
        OUTSIDE,
        {
            "start_date": "2026-04-01",
            "end_date": "2027-04-01",
            "budget_start_date": "",
            "budget_end_date": "2027-03-31",
        },
    )


def test_with_no_end_known_one_instalment_of_exactly_what_is_left_fits() -> None:
    budget = _budget(end=None)
    assert _check(budget, end=None, instalment=1_000, left=1_000) is None


def test_with_no_end_known_an_instalment_over_what_is_left_is_refused() -> None:
    budget = _budget(end=None)
    assert _seen(_check(budget, end=None, instalment=1_001, left=1_000)) == (
        errors.SCHEDULE_EXCEEDS_LINE,
        "an instalment is more than what is left of the line",
        {"instalment_max_pence": "1000", "instalment_count": "0"},
    )


def test_a_line_with_nothing_left_is_refused_with_zeroes() -> None:
    assert _seen(_check(left=0)) == (
        errors.SCHEDULE_EXCEEDS_LINE,
        "nothing is left of the line to pay",
        {"instalment_max_pence": "0", "instalment_count": "0"},
    )


def test_a_line_with_one_penny_left_takes_a_one_penny_single_instalment() -> None:
    assert _check(instalment=1, end=START, left=1) is None


def test_instalments_short_of_the_line_are_refused_with_the_least_that_covers() -> None:
    # 2026-04-01..2026-04-28 weekly: 4 instalments; 1000p needs 250p each.
    assert _seen(_check(instalment=249)) == (
        errors.SCHEDULE_DOES_NOT_COVER_LINE,
        "the instalments do not pay the line's cost over the schedule's period",
        {"instalment_min_pence": "250", "instalment_count": "4", "line_left_pence": "1000"},
    )


def test_instalments_over_the_line_are_refused_with_the_most_that_fits() -> None:
    # 3 x 333 = 999 < 1000: the fourth pays the last penny; 334 x 3 = 1002 is beyond the line.
    assert _seen(_check(instalment=334)) == (
        errors.SCHEDULE_EXCEEDS_LINE,
        "the instalments pay more than the line's cost over the schedule's period",
        {"instalment_max_pence": "333", "instalment_count": "4", "line_left_pence": "1000"},
    )


@pytest.mark.parametrize("instalment", [250, 333])
def test_instalments_between_the_bounds_are_allowed(instalment: int) -> None:
    assert _check(instalment=instalment) is None


def test_instalment_bounds_need_something_left() -> None:
    with pytest.raises(AssertionError):
        instalment_bounds(0, 1)


# -- instalment_pence_due ------------------------------------------------------------------------


def test_an_instalment_due_is_cut_to_a_last_penny_left() -> None:
    assert instalment_pence_due(5, 1) == 1
    assert instalment_pence_due(1, 3) == 1
    assert instalment_pence_due(5, 0) == 5


@pytest.mark.parametrize("instalment", [0, -1])
def test_an_instalment_of_nothing_is_a_bug(instalment: int) -> None:
    with pytest.raises(AssertionError):
        instalment_pence_due(instalment, 10)


# -- stops ---------------------------------------------------------------------------------------


def test_a_grant_recorded_at_the_same_version_as_the_withdrawal_lifts_it() -> None:
    assert lifts_person_stop(CONSENT_WITHDRAWN, 5, 5) is True
    assert lifts_person_stop(CONSENT_WITHDRAWN, 5, 4) is False
    assert lifts_person_stop(CONSENT_WITHDRAWN, 5, 6) is True


STOP = OpenStop(StopGrounds.MISUSE, date(2026, 5, 1))


def test_stopping_an_ended_budget_is_refused_with_its_state() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_stop(None, "ENDED")
    assert _seen(caught.value) == (
        errors.BUDGET_NOT_ACTIVE,
        "the budget has ended: nothing is paid from it",
        {"state": "ENDED"},
    )


def test_stopping_twice_is_refused_with_the_open_stop() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_stop(STOP, "AGREED")
    assert _seen(caught.value) == (
        errors.PAYMENTS_ALREADY_STOPPED,
        "payments against this budget are stopped already: resume them first",
        {"grounds": "MISUSE", "stopped_on": "2026-05-01"},
    )


def test_resuming_under_a_refused_eligibility_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_resume(STOP, date(2026, 6, 1), False)
    assert _seen(caught.value) == (
        errors.ELIGIBILITY_REFUSED,
        "the eligibility this budget rests on is refused: payments resume when it is granted again",
        {},
    )


def test_resuming_with_no_stop_open_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_resume(None, date(2026, 6, 1), True)
    assert _seen(caught.value) == (
        errors.PAYMENTS_NOT_STOPPED,
        "no stop of this budget's payments is open",
        {},
    )


def test_resuming_before_the_stop_is_refused_with_its_date() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_resume(STOP, date(2026, 4, 30), None)
    assert _seen(caught.value) == (
        errors.RESUMED_BEFORE_STOPPED,
        "resumed_on is before the stop's date",
        {"stopped_on": "2026-05-01"},
    )
    check_resume(STOP, date(2026, 5, 1), None)


# -- funders -------------------------------------------------------------------------------------


def _funder(k: int, kind: str, owner: str, pence: int, year: int | None = 2026) -> Funder:
    return Funder(ACCOUNTS[k], kind, owner, FundingStream.NHS, year, pence)


def test_a_return_refills_allocation_then_general_fence_then_cohort_fences_then_the_rest() -> None:
    other = _funder(0, chart.CONTRIBUTION, "AAA", 10)
    cohort = _funder(1, chart.RING_FENCE, "QNQ:a", 10)
    general = _funder(2, chart.RING_FENCE, "QNQ", 10)
    allocation = _funder(3, chart.ALLOCATION, "ZZZ", 10)
    assert return_order([other, cohort, general, allocation]) == [
        allocation,
        general,
        cohort,
        other,
    ]


def test_a_funder_with_one_penny_left_is_still_refilled() -> None:
    penny = _funder(0, chart.ALLOCATION, "QNQ", 1)
    empty = _funder(1, chart.ALLOCATION, "QNQ", 0)
    assert return_order([penny, empty]) == [penny]


def test_a_part_beyond_the_funders_is_refused_with_stream_part_and_funded() -> None:
    funder = _funder(0, chart.ALLOCATION, "QNQ", 10)
    with pytest.raises(FunderUnknown) as caught:
        funder_returns([11], [FundingStream.NHS], [funder])
    assert _seen(caught.value) == (
        errors.REPAYMENT_FUNDER_UNKNOWN,
        "the NHS part has no funder in the ledger to go back to",
        {"funding_stream": "NHS", "part_pence": "11", "funded_pence": "10"},
    )


def test_parts_and_streams_of_different_lengths_are_a_bug() -> None:
    with pytest.raises(ValueError, match="longer"):
        funder_returns([0, 0], [FundingStream.NHS], [])


def test_a_return_names_the_kind_of_each_funder() -> None:
    allocation = _funder(0, chart.ALLOCATION, "QNQ", 4)
    fence = _funder(1, chart.RING_FENCE, "QNQ", 10)
    assert funder_returns([6], [FundingStream.NHS], [fence, allocation]) == [
        FunderReturn(FundingStream.NHS, ACCOUNTS[0], chart.ALLOCATION, 4, None),
        FunderReturn(FundingStream.NHS, ACCOUNTS[1], chart.RING_FENCE, 2, None),
    ]


def test_only_a_ring_fence_of_a_closed_year_passes_its_share_on() -> None:
    closed = frozenset({("", 2026), ("QNQ", 2026)})
    allocation = _funder(0, chart.ALLOCATION, "", 4)
    fence = _funder(1, chart.RING_FENCE, "QNQ", 10)
    assert funder_returns([6], [FundingStream.NHS], [fence, allocation], closed_years=closed) == [
        FunderReturn(FundingStream.NHS, ACCOUNTS[0], chart.ALLOCATION, 4, None),
        FunderReturn(
            FundingStream.NHS,
            ACCOUNTS[1],
            chart.RING_FENCE,
            2,
            chart.commissioner_allocation("QNQ", 2026).id,
        ),
    ]
