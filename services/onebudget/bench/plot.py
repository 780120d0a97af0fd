"""Growth curves as a PNG for docs/benchmarks.md (issue 17: "Write the growth curves (table and a
plotted PNG)"), drawn by matplotlib without a display (its Agg backend)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def growth_png(
    path: Path,
    *,
    title: str,
    x_label: str,
    panels: Sequence[tuple[str, Mapping[str, Sequence[tuple[float, float]]], float | None]],
) -> Path:
    """Write one PNG with a panel per (y axis label, {series name: [(x, y)...]}, target line or
    None) side by side, sharing the x axis's meaning; returns `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for axis, (y_label, series, target) in zip(axes[0], panels, strict=True):
        for name, points in series.items():
            xs = [x for x, _ in points]
            ys = [y for _, y in points]
            axis.plot(xs, ys, marker="o", label=name)
        if target is not None:
            axis.axhline(target, color="grey", linestyle="--", label=f"target {target:,.0f}")
        axis.set_xlabel(x_label)
        axis.set_ylabel(y_label)
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend()
        axis.ticklabel_format(axis="x", style="plain")
        axis.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
