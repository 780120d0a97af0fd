"""The one definition of a settled stack (issue 16): every outbox drained, the schedules caught
up, every consumer's applied position at its stream's published position; and the wait asks for
two quiet looks in a row."""

from __future__ import annotations

import pytest

from onebudget.shared.settling import Motion, still_moving, wait_settled

QUIET = Motion(
    outbox_unsent={"allocation": 0, "payment": 0},
    consumers_behind={"PAYMENT/reporting-payment": 0},
    schedules_behind=0,
)


def test_a_quiet_stack_is_settled() -> None:
    assert still_moving(QUIET) == []
    assert still_moving(Motion()) == []


@pytest.mark.parametrize(
    ("motion", "said"),
    [
        (Motion(outbox_unsent={"payment": 3}), "payment outbox: 3 event(s) unpublished"),
        (Motion(outbox_unsent={"allocation": 1}), "allocation outbox: 1 event(s) unpublished"),
        (Motion(schedules_behind=2), "2 schedule(s) with instalments due and unpaid"),
        (
            Motion(consumers_behind={"PAYMENT/reporting-payment": 7}),
            "consumer PAYMENT/reporting-payment: 7 event(s) not yet applied",
        ),
    ],
)
def test_each_kind_of_motion_is_named(motion: Motion, said: str) -> None:
    assert still_moving(motion) == [said]


async def test_the_wait_needs_two_quiet_looks_in_a_row() -> None:
    looks = iter([QUIET, Motion(schedules_behind=1), QUIET, QUIET, Motion(schedules_behind=9)])
    seen: list[list[str]] = []

    async def look() -> Motion:
        return next(looks)

    assert await wait_settled(look, timeout_s=10, every_s=0, on_wait=seen.append) == []
    assert seen == [["1 schedule(s) with instalments due and unpaid"]]
    assert next(looks) == Motion(schedules_behind=9)  # stopped after the second quiet look


async def test_the_wait_gives_up_and_says_what_still_moves() -> None:
    async def look() -> Motion:
        return Motion(outbox_unsent={"payment": 1})

    assert await wait_settled(look, timeout_s=0, every_s=0) == [
        "payment outbox: 1 event(s) unpublished"
    ]
