"""docs/benchmarks.md keeps one section per benchmark; a re-run replaces only its own."""

from __future__ import annotations

from onebudget.bench.__main__ import HEADER, replace_section


def test_new_section_is_appended_and_rerun_replaces_it() -> None:
    doc = replace_section(HEADER, "ledger", "first run")
    doc = replace_section(doc, "payments", "payments run")
    doc = replace_section(doc, "ledger", "second run")
    assert doc.count("## ledger") == 1
    assert "second run" in doc
    assert "first run" not in doc
    assert "payments run" in doc
    assert doc.index("## ledger") < doc.index("## payments")


def test_payment_targets_are_judged_on_rate_and_p99() -> None:
    """Issue 17: unary at 256 in flight >= 0.5x the bare call of the same run with p99 <= 150
    ms; bulk x1000 >= 10,000 payments/s."""
    from onebudget.bench.payments import _verdict

    def cell(mode: str, in_flight: int, per_s: int, p99_ms: float) -> dict[str, object]:
        return dict(
            mode=mode,
            in_flight=in_flight,
            paid=per_s * 10,
            seconds=10,
            p99_ms=p99_ms,
            cpu_us_per_payment=300,
            client_cpu_us_per_payment=100,
            pg_cpu_us_per_payment=200,
        )

    bare = cell("bare", 256, 3_000, 90)
    judged = _verdict(
        [
            cell("unary", 64, 9_000, 10),  # not the target's row: left out
            cell("unary", 256, 1_600, 160),  # fast enough (0.53x), but p99 over 150 ms
            cell("bulk", 4, 10_500, 900),
        ],
        bare,
        cores=2,
    )
    assert len(judged) == 3
    assert "3,000/s" in judged[0]  # the baseline, printed first
    assert "0.5x the bare call (1,500/s)" in judged[1]
    assert "**NOT met**" in judged[1]
    assert "600 µs" in judged[1]
    assert "allows at most 1,333 µs" in judged[1]
    assert "at least 10,000 payments/s" in judged[2]
    assert "**met**" in judged[2]
    # Under half the bare call's rate, with p99 fine: not met; at half or more: met.
    slow = _verdict([cell("unary", 256, 1_499, 100)], bare, cores=2)
    assert "**NOT met**" in slow[1]
    fast = _verdict([cell("unary", 256, 1_500, 150)], bare, cores=2)
    assert "**met**" in fast[1]
    # Bulk under 10,000/s: not met.
    assert "**NOT met**" in _verdict([cell("bulk", 4, 9_999, 10)], bare, cores=2)[1]


def test_growth_target_compares_the_medians_empty_and_grown() -> None:
    from onebudget.bench.ledger import Cell
    from onebudget.bench.scale_ledger import Growth, _render, _sizes

    def runs(*per_s: int) -> list[Cell]:
        return [Cell("hot", "optimistic", 128, n * 3, 3.0, 1.0, 5.0) for n in per_s]

    verifies: list[tuple[int, float, list[str]]] = [
        (100_000, 1.0, []),
        (1_000_000, 10.5, []),
        (10_000_000, 110.0, []),
    ]
    within = _render(
        10_000_000,
        3.0,
        Growth(
            [
                (0, runs(12_000, 11_000, 2_000)),
                (1_000_000, runs(1, 1, 1)),  # a step between: on the curve, not judged
                (10_000_000, runs(10_500, 10_200, 30_000)),
            ],
            verifies,
            600.0,
        ),
    )
    # Medians 11,000 and 10,500: 4.5% apart. The outliers (2,000; 30,000) do not decide it.
    assert "differ by 4.5%, met." in within
    assert "| 1,000,000 | 1, 1, 1 | 1 |" in within  # each step's row, in order
    assert "| 10,000,000 | 110.00 | 90,909 | nothing |" in within
    assert "90,909 against 100,000 transfers/s, met." in within
    beyond = _render(
        10_000_000,
        3.0,
        Growth(
            [(0, runs(12_000, 12_000, 12_000)), (10_000_000, runs(10_000, 10_000, 10_000))],
            [(100_000, 1.0, []), (10_000_000, 200.0, ["x"])],
            600.0,
        ),
    )
    assert "differ by 16.7%, NOT met." in beyond
    assert "50,000 against 100,000 transfers/s, NOT met." in beyond
    assert _sizes(10_000_000) == [100_000, 1_000_000, 10_000_000]
    assert _sizes(50) == [5, 50]


def test_ledger_rows_give_cpu_per_transfer_and_the_load() -> None:
    """On a shared machine the rate alone says little (issue 17): each row of the ledger bench
    gives the CPU per transfer of the client and of PostgreSQL and the load average, or '-'
    where the server's processes cannot be read (a server on another host)."""
    from onebudget.bench.ledger import Cell
    from onebudget.bench.ledger import _render as render_ledger

    cells = [
        Cell(w, m, 128, 30_000, 3.0, 10.0, 20.0, 101.4, 117.6, 4.25)
        for w, m in (("hot", "optimistic"), ("hot", "locked"))
    ]
    cells.append(Cell("hot", "off", 128, 300, 3.0, 10.0, 20.0))
    text = render_ledger(cells, [])
    assert "| hot | optimistic | 128 | 10,000 | 10.00 | 20.00 | 101 / 118 | 4.25 |" in text
    assert "| hot | off | 128 | 100 | 10.00 | 20.00 | - / - | - |" in text
