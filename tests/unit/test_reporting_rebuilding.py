"""While the read model is rebuilt the reports are not final (issue 16): the replay's progress
over its streams, and when it is done."""

from __future__ import annotations

from onebudget.reporting.domain.rebuilding import StreamReplay, rebuild_progress
from onebudget.shared.progress import progress_line


def replay(first: int, target: int, applied: int, idle: bool) -> StreamReplay:
    return StreamReplay("S", first_seq=first, target_seq=target, applied_seq=applied, idle=idle)


def test_a_consumer_not_yet_back_is_not_done() -> None:
    progress = rebuild_progress([replay(1, 100, 0, False), replay(1, 50, 50, True)])
    assert (progress.applied_events, progress.total_events, progress.done) == (50, 150, False)
    assert progress.percent == 33


def test_an_idle_consumer_short_of_its_target_is_not_done() -> None:
    assert not rebuild_progress([replay(1, 100, 60, True)]).done


def test_done_when_every_consumer_passed_its_target_and_is_idle() -> None:
    progress = rebuild_progress([replay(1, 100, 130, True), replay(5, 4, 0, True)])
    assert progress.done
    assert (progress.applied_events, progress.total_events, progress.percent) == (100, 100, 100)


def test_a_pruned_start_counts_from_the_first_sequence_kept() -> None:
    progress = rebuild_progress([replay(41, 140, 90, False)])
    assert (progress.applied_events, progress.total_events) == (50, 100)


def test_empty_streams_are_done_at_once() -> None:
    assert rebuild_progress([replay(0, 0, 0, True)]).done
    assert rebuild_progress([]).done


def test_the_progress_line_has_a_rate_and_an_estimate() -> None:
    assert progress_line("replaying", 1_200, 5_400, 1.5, "events") == (
        "replaying: 1,200 of 5,400 events (22%), 800 events/s, about 5 s left"
    )
    assert progress_line("replaying", 0, 5_400, 0.5, "events") == (
        "replaying: 0 of 5,400 events (0%)"
    )
