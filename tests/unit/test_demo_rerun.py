"""Running the demo again (issue 16): the same size reproduces the same world as of the day it
was first loaded, another size says what to do, and the demo's choices of refunds and reclaims
follow the people's seeded order, not the order concurrent tasks finished in."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from onebudget.demo.rerun import (
    DemoMismatch,
    DemoRecord,
    EndedBudget,
    demo_day,
    ended_notes,
    every_nth,
    in_seeded_order,
)
from onebudget.demo.run import load_and_report, read_record, write_record

TODAY = date(2026, 11, 29)


def test_a_first_load_is_as_of_today() -> None:
    assert demo_day(None, 60, TODAY, ".onebudget/run") == TODAY


@pytest.mark.parametrize("people", [60, 2000])
def test_a_rerun_of_the_same_size_is_as_of_the_day_first_loaded(people: int) -> None:
    first = DemoRecord(people=people, today=date(2026, 11, 2))
    assert demo_day(first, people, TODAY, ".onebudget/run") == date(2026, 11, 2)


@pytest.mark.parametrize(("loaded", "asked"), [(60, 200), (2000, 60)])
def test_another_size_says_what_to_do(loaded: int, asked: int) -> None:
    with pytest.raises(DemoMismatch) as refused:
        demo_day(DemoRecord(people=loaded, today=TODAY), asked, TODAY, ".onebudget/run")
    said = str(refused.value)
    assert f"loaded with {loaded} people" in said
    assert f"run with --fresh to load {asked}" in said
    assert ".onebudget/run" in said
    assert "\n" not in said


def test_choices_follow_the_seeded_order_whatever_order_tasks_finished_in() -> None:
    gathered = {index: [f"payment-{index}-a", f"payment-{index}-b"] for index in range(50)}
    chosen = every_nth(in_seeded_order(gathered))
    for seed in range(5):
        finished = list(gathered.items())
        random.Random(seed).shuffle(finished)  # the order concurrent tasks completed in
        assert every_nth(in_seeded_order(dict(finished))) == chosen
    assert chosen[0] == "payment-0-a"
    assert len(chosen) == 20


@pytest.mark.parametrize(("count", "wanted", "expected"), [(0, 20, 0), (7, 20, 7), (100, 20, 20)])
def test_every_nth_spreads_the_choice(count: int, wanted: int, expected: int) -> None:
    assert len(every_nth(list(range(count)), wanted)) == expected


def test_the_record_round_trips_and_a_bad_one_is_none(tmp_path: Path) -> None:
    path = tmp_path / "run" / "demo.json"
    assert read_record(path) is None
    write_record(path, DemoRecord(people=6, today=TODAY))
    assert read_record(path) == DemoRecord(people=6, today=TODAY)
    path.write_text("{not json")
    assert read_record(path) is None


def test_up_with_another_size_stops_with_one_line_before_loading(tmp_path: Path) -> None:
    write_record(tmp_path / "demo.json", DemoRecord(people=60, today=TODAY))
    with pytest.raises(SystemExit) as stopped:
        load_and_report({}, people_count=200, state_dir=tmp_path)  # no service is asked
    said = str(stopped.value.code)
    assert said.startswith("onebudget up: the demo in ")
    assert "loaded with 60 people on 2026-11-29; run with --fresh to load 200" in said
    assert read_record(tmp_path / "demo.json") == DemoRecord(people=60, today=TODAY)


def test_a_rerun_says_each_budget_ended_since_and_why() -> None:
    """A rerun is a retry of every request, so a budget ended by a death since is refused
    nothing: without these notes the rerun said nothing of it (issue 16)."""
    ended = [
        EndedBudget("b-died", "2026-11-20", "PERSON_DIED"),
        EndedBudget("b-consent", "2026-11-21", "CONSENT_WITHDRAWN"),
        EndedBudget("b-asked", "", "UNSPECIFIED"),
    ]
    notes = ended_notes(ended, ["  budget b-noted: stopped since the demo loaded it"])
    assert notes == [
        "  budget b-died: ended by the person's death on 2026-11-20 since the demo loaded it;"
        " it is left as it is (nothing more is paid from it)",
        "  budget b-consent: ended: the person withdrew consent on 2026-11-21 since the demo"
        " loaded it; it is left as it is (nothing more is paid from it)",
        "  budget b-asked: ended since the demo loaded it; it is left as it is (nothing more is"
        " paid from it)",
    ]
    # A budget a note already names (a refusal met on the rerun) is not said twice.
    assert (
        ended_notes(
            [EndedBudget("b-noted", "2026-11-22", "REQUESTED")],
            [*notes, "  budget b-noted: ended since the demo loaded it"],
        )
        == []
    )
    assert ended_notes([], []) == []
