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

    judged = _verdict(
        [
            cell("unary", 64, 9_000, 10),  # not the target's row: left out
            cell("unary", 256, 3_500, 120),  # fast enough, but p99 over 100 ms
            cell("bulk", 4, 16_000, 900),
        ],
        cores=2,
    )
    assert len(judged) == 2
    assert "**NOT met**" in judged[0]
    assert "600 µs" in judged[0]
    assert "allows at most 667 µs" in judged[0]
    assert "**met**" in judged[1]
