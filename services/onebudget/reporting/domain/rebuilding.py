"""Whether the read model is being rebuilt, and how far the replay has come (issue 16: reports
say they are rebuilding rather than showing partial figures as if they were final).

Pure. A rebuild records, per replayed stream, its first and last message sequence at the moment
of the rebuild (the target); each stream's durable consumer then replays from the first. The
read model is current again once every consumer has applied and acknowledged everything
(JetStream: nothing pending, nothing unacknowledged) and has passed its target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StreamReplay:
    """One stream's replay: `first_seq`..`target_seq` to apply (sequences at the rebuild),
    `applied_seq` the consumer's acknowledged floor now (0 before its consumer exists again),
    `idle` whether it has nothing pending or unacknowledged."""

    stream: str
    first_seq: int
    target_seq: int
    applied_seq: int
    idle: bool


@dataclass(frozen=True)
class RebuildProgress:
    """Events applied of those to replay (whole counts), and whether the replay is done."""

    applied_events: int
    total_events: int
    done: bool

    @property
    def percent(self) -> int:
        """Whole per cent applied, rounded down (100 only when every event is applied)."""
        if self.total_events == 0:
            return 100
        return self.applied_events * 100 // self.total_events


def rebuild_progress(streams: Sequence[StreamReplay]) -> RebuildProgress:
    """How far a rebuild has come over its streams. A stream counts from its first to its
    target sequence (an empty stream counts none); its applied events are those up to its
    acknowledged floor, never more than its total. The rebuild is done when every stream's
    consumer is idle and has passed its target (or had nothing to replay)."""
    applied = total = 0
    done = True
    for s in streams:
        count = max(0, s.target_seq - s.first_seq + 1) if s.target_seq > 0 else 0
        total += count
        applied += min(count, max(0, s.applied_seq - s.first_seq + 1)) if s.applied_seq else 0
        done &= s.idle and (count == 0 or s.applied_seq >= s.target_seq)
    return RebuildProgress(applied_events=applied, total_events=total, done=done)
