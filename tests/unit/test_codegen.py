"""The committed generated code equals what `scripts/gen-protos` makes from protos/ now."""

from __future__ import annotations

from pathlib import Path

from onebudget.shared.apidoc import API_DOC, descriptor_set, render
from onebudget.shared.codegen import OUTPUT_ROOT, generate


def test_generated_code_is_not_stale(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    assert fresh, "no proto produced any code"
    for path in fresh:
        relative = path.relative_to(tmp_path)
        committed = OUTPUT_ROOT / relative
        assert committed.exists(), f"{relative} is missing: run scripts/gen-protos"
        assert committed.read_bytes() == path.read_bytes(), (
            f"{relative} is stale: run scripts/gen-protos"
        )


def test_no_generated_file_without_its_proto(tmp_path: Path) -> None:
    fresh = {p.relative_to(tmp_path) for p in generate(tmp_path)}
    committed = {p.relative_to(OUTPUT_ROOT) for p in OUTPUT_ROOT.rglob("*_pb2*.py*")}
    assert committed == fresh


def test_api_reference_is_not_stale() -> None:
    assert API_DOC.exists(), "docs/api.md is missing: run scripts/gen-protos"
    assert API_DOC.read_text() == render(descriptor_set()), (
        "docs/api.md is stale: run scripts/gen-protos"
    )
