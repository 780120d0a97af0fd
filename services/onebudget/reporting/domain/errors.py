"""The reporting service's error reasons: stable constants, never renamed (clients branch on
them)."""

from __future__ import annotations

from onebudget.shared.errors import FailedPrecondition, NotFound, Unavailable

COMMISSIONER_NOT_FOUND = "COMMISSIONER_NOT_FOUND"
ALLOCATION_NOT_FOUND = "ALLOCATION_NOT_FOUND"
COUNCIL_NOT_FOUND = "COUNCIL_NOT_FOUND"
STREAM_PRUNED = "STREAM_PRUNED"
READ_MODEL_REBUILDING = "READ_MODEL_REBUILDING"


def commissioner_not_found(ods: str) -> NotFound:
    return NotFound(
        reason=COMMISSIONER_NOT_FOUND,
        message=f"no allocation of commissioner {ods} has been reported",
        metadata={"commissioner_ods_code": ods},
    )


def allocation_not_found(ods: str, year: int) -> NotFound:
    return NotFound(
        reason=ALLOCATION_NOT_FOUND,
        message=f"commissioner {ods} has no allocation reported for {year}",
        metadata={"commissioner_ods_code": ods, "financial_year": str(year)},
    )


def council_not_found(gss: str, year: int) -> NotFound:
    return NotFound(
        reason=COUNCIL_NOT_FOUND,
        message=f"council {gss} has no personal-budget pot reported for {year}",
        metadata={"council_gss_code": gss, "financial_year": str(year)},
    )


def stream_pruned(first_sequences: dict[str, int]) -> FailedPrecondition:
    """RebuildReadModel replays every stream from its first event; a stream whose first
    messages are gone (aged out by the stream retention, shared/retention.py, or purged) would
    give a read model that silently misses them, so the rebuild is refused and says which."""
    names = sorted(first_sequences)
    return FailedPrecondition(
        reason=STREAM_PRUNED,
        message=(
            "the read model cannot be rebuilt: stream "
            + ", ".join(f"{n} starts at message {first_sequences[n]}" for n in names)
            + " (earlier events were removed by the stream retention); the read model is kept"
        ),
        metadata={f"first_sequence_{n}": str(first_sequences[n]) for n in names},
    )


def read_model_rebuilding(applied_events: int, total_events: int, percent: int) -> Unavailable:
    """A report asked while RebuildReadModel replays the streams: its figures would be partial,
    so none is given (UNAVAILABLE, retry after a second; metadata: the replay's progress)."""
    return Unavailable(
        reason=READ_MODEL_REBUILDING,
        message=(
            f"the reports are being rebuilt: {applied_events:,} of {total_events:,} events"
            f" replayed ({percent}%); ask again when the rebuild is done"
        ),
        metadata={
            "applied_events": str(applied_events),
            "total_events": str(total_events),
            "percent": str(percent),
        },
    )
