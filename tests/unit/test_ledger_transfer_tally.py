"""Ledger transfers are counted once their transaction commits (shared/metrics.py): a block that
ends normally counts what the ledger wrote inside it, one that fails counts nothing, and a
caller that counts for itself (the release batcher) turns the tally off inside."""

from __future__ import annotations

import pytest

from onebudget.shared.metrics import (
    REGISTRY,
    counting_ledger_transfers,
    note_ledger_transfers,
)


def _counted(source: str) -> float:
    labels = {"service": "tally-test", "source": source}
    return REGISTRY.get_sample_value("onebudget_ledger_transfers_total", labels) or 0.0


def _fail_inside() -> None:
    with counting_ledger_transfers("tally-test", "rpc"):
        note_ledger_transfers(5)
        raise RuntimeError("rolled back")


def test_committed_counts_failed_does_not() -> None:
    before = _counted("rpc")
    with counting_ledger_transfers("tally-test", "rpc"):
        note_ledger_transfers(2)
        note_ledger_transfers(1)
    assert _counted("rpc") == before + 3
    with pytest.raises(RuntimeError, match="rolled back"):
        _fail_inside()
    assert _counted("rpc") == before + 3


def test_nested_off_and_outside_count_nothing() -> None:
    before = _counted("event")
    note_ledger_transfers(7)  # nobody counts here
    with counting_ledger_transfers("tally-test", "event"):
        with counting_ledger_transfers("tally-test", None):
            note_ledger_transfers(4)  # the inner owner counts for itself
        note_ledger_transfers(1)
    assert _counted("event") == before + 1
