"""`scripts/bench transport`'s NATS rows (ADR 24) are produced: a smoke run with a handful of
publishes (no timing is judged here; the lead runs the bench itself on a quiet machine)."""

from __future__ import annotations

import re

from onebudget.bench.transport import nats_rows

ROW = r"\| JetStream publish \+ ack, {} \(5\) \| \d+\.\d{{3}} \| \d+\.\d{{3}} \|"


async def test_the_publish_rows_plain_and_tls_are_produced() -> None:
    rows = await nats_rows(publishes=5)
    assert len(rows) == 2
    assert re.fullmatch(ROW.format("plain TCP"), rows[0]), rows
    assert re.fullmatch(ROW.format("TLS"), rows[1]), rows
