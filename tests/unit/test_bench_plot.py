"""The growth PNG (bench/plot.py) is a real image with the panels asked for."""

from __future__ import annotations

from pathlib import Path

from onebudget.bench.plot import growth_png


def test_growth_png_writes_a_png(tmp_path: Path) -> None:
    path = growth_png(
        tmp_path / "growth.png",
        title="ledger growth",
        x_label="transfers in the ledger",
        panels=[
            ("hot transfers/s", {"hot account": [(0, 6000.0), (10_000_000, 5600.0)]}, 10_000.0),
            ("verify transfers/s", {"verify": [(100_000, 60000.0), (10_000_000, 52000.0)]}, None),
        ],
    )
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # IHDR: width and height, big-endian, after the signature and chunk header (16 bytes).
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 420)  # two panels of 6 x 4.2 inches at 100 dpi
