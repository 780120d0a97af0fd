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
