"""The accuracy–size and accuracy–latency fronts of a budget sweep (`ohq.sweep`), side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ohq.report.plots import pareto_front, png_bytes, save_png

STYLE = {"uniform": ("s", "tab:red"), "ohq size": ("o", "tab:blue"), "ohq latency": ("^", "tab:green")}


def fronts_figure(points: Sequence[dict[str, Any]], fp32_top1: float | None = None) -> Figure:
    """Two panels, top-1 against size and against latency; each family's points and its front."""
    fig = Figure(figsize=(11.0, 4.4))
    for ax, metric, unit in zip(fig.subplots(1, 2), ("size_mib", "latency_ms"), ("MiB", "ms"), strict=True):
        ax.set_xlabel(f"{metric.split('_')[0]} ({unit})")
        ax.set_ylabel("top-1 (%)")
        ax.set_title(f"accuracy vs {metric.split('_')[0]}")
        for family, (marker, colour) in STYLE.items():
            pts = [p for p in points if p["family"] == family and p["top1"] is not None]
            if not pts:
                continue
            ax.scatter([p[metric] for p in pts], [100 * p["top1"] for p in pts], marker=marker,
                       color=colour, label=family, zorder=3)
            front = pareto_front([{"size_mib": p[metric], **{k: v for k, v in p.items() if k != "size_mib"}}
                                  for p in pts])
            if family != "uniform" and len(front) > 1:
                ax.plot([p["size_mib"] for p in front], [100 * p["top1"] for p in front], "-",
                        color=colour, linewidth=1, zorder=2)
        if fp32_top1 is not None:
            ax.axhline(100 * fp32_top1, color="gray", linestyle=":", label="FP32")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def fronts_png(points: Sequence[dict[str, Any]], fp32_top1: float | None = None) -> bytes:
    return png_bytes(fronts_figure(points, fp32_top1))


def plot_fronts(points: Sequence[dict[str, Any]], path: str | Path, fp32_top1: float | None = None) -> Path:
    return save_png(fronts_figure(points, fp32_top1), path)
