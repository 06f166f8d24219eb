"""The run's figures as PNG (the paper's Fig. 5/6 and an accuracy–size–latency Pareto plot).

    plot_sensitivity(result, path)        per-layer MQE sensitivity (bars) and masked top-1 (line)
    plot_cycles_vs_params(result, path)   cycles at the chosen bits and at 8 bit (bars), params (line)
    plot_energy_vs_params(result, path)   the same for energy (mJ)
    plot_pareto(points, path)             top-1 vs size (MiB), latency as marker colour and size
    plot_scores(path, names, scores, ...) one method's per-layer scores (`ohq analyze --plot`)
    plot_damage(path, predicted, measured) predicted vs measured top-1 drop per (layer, bits)
    plot_hw_costs(report, path)           `ohq hw --plot`: cycles and energy vs parameters per layer

This is ohq's one plotting module: every figure of a run, a command or a benchmark is built here.

Figures are built with `matplotlib.figure.Figure` and rendered by the Agg canvas, never through
pyplot: nothing opens a window, nothing is registered globally, so nothing leaks or needs
closing, and the caller's matplotlib backend is left alone.

>>> plot_pareto([{"label": "FP32", "top1": 0.99, "size_mib": 1.2, "latency_ms": None}],
...             "pareto.png")   # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ohq.errors import OhqError
from ohq.io import write_atomic
from ohq.report.table import candidate_bits

DPI = 120
POINT_KEYS = frozenset({"label", "top1", "size_mib", "latency_ms"})
BAR_CHOSEN, BAR_REF, LINE = "#1f77b4", "#ff7f0e", "#2ca02c"
BIT_COLORS = ("#d62728", "#ff7f0e", "#1f77b4", "#9467bd", "#8c564b", "#17becf")


# --- saving ------------------------------------------------------------------------------------

def png_bytes(fig: Figure) -> bytes:
    """Render `fig` to PNG bytes at DPI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write `fig` as PNG to `path` atomically and return the path."""
    data = png_bytes(fig)
    return write_atomic(path, lambda p: p.write_bytes(data))


def plot_sensitivity(result, path: str | Path) -> Path:
    return save_png(sensitivity_figure(result), path)


def plot_scores(path: str | Path, names: Sequence[str], scores: Sequence[float],
                masked_top1: Sequence[float] | None = None, title: str = "") -> Path:
    """One method's per-layer scores in blue, the masked model's top-1 (if given) in orange."""
    fig, ax = _layer_axes(len(names), title)
    idx = list(range(len(names)))
    ax.bar(idx, scores, color=BAR_CHOSEN, label="sensitivity")
    ax.set_xlabel("layer")
    ax.set_ylabel("sensitivity ω", color=BAR_CHOSEN)
    ax.set_xticks(idx, names, rotation=90, fontsize=7)
    if masked_top1 is not None:
        ax2 = ax.twinx()
        ax2.plot(idx, [100 * a for a in masked_top1], color=BAR_REF, marker="o", ms=3)
        ax2.set_ylabel("masked top-1 (%)", color=BAR_REF)
    return save_png(fig, path)


def plot_hw_costs(report, path: str | Path) -> Path:
    """`ohq hw --plot`: cycles and energy against parameters per layer of a HardwareReport."""
    fig = Figure(figsize=(13, 4))
    idx = list(range(len(report.layers)))
    params = [c.params for c in report.layers]
    for ax, key, label in zip(fig.subplots(1, 2), ("cycles", "energy"), ("clock cycles", "energy (mJ)"), strict=True):
        ax.bar(idx, params, color=LINE, alpha=0.5, label="parameters")
        ax.set_xlabel("layer index")
        ax.set_ylabel("parameters")
        values = [c.cycles["total"] if key == "cycles" else c.energy_mj for c in report.layers]
        ax.twinx().plot(idx, values, color=BAR_REF, marker="o", markersize=3, label=label)
        ax.set_title(f"{report.model}: {label} vs parameters ({report.probe}, {report.device})")
    fig.tight_layout()
    try:
        return save_png(fig, path)
    except (OSError, ValueError) as exc:
        raise OhqError(f"cannot write plot {path}: {exc}") from None


def plot_cycles_vs_params(result, path: str | Path) -> Path:
    return save_png(cost_figure(result, "cycles"), path)


def plot_energy_vs_params(result, path: str | Path) -> Path:
    return save_png(cost_figure(result, "energy"), path)


def plot_pareto(points: Sequence[dict[str, Any]], path: str | Path) -> Path:
    return save_png(pareto_figure(points), path)


# --- figures -----------------------------------------------------------------------------------

def _layer_axes(n: int, title: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=(max(6.0, min(3.0 + 0.45 * n, 16.0)), 4.2))
    ax = fig.add_subplot()
    ax.set_title(title, pad=24)
    return fig, ax


def _legend_above(ax, handles) -> None:
    """Legend in one row between the title and the axes, so it never hides a bar or a point."""
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles),
              fontsize=8, frameon=False)


def _layer_ticks(ax, names: list[str]) -> None:
    idx = np.arange(len(names))
    ax.set_xticks(idx)
    if len(names) <= 40:
        ax.set_xticklabels([f"{i}: {n}" for i, n in enumerate(names)], rotation=60, ha="right",
                           fontsize=7)
    else:
        ax.set_xticklabels([str(i) for i in idx], fontsize=6)
    ax.set_xlabel("layer index")
    ax.set_xlim(-0.6, len(names) - 0.4)


def _log_if_positive(ax, values, axis: str = "y") -> None:
    """Log scale when every value is positive and they span more than a decade."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if arr.size and np.all(arr > 0) and arr.max() / arr.min() > 10:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def sensitivity_figure(result) -> Figure:
    """Fig. 5 (left): sensitivity per layer as bars, coloured by the chosen bits; masked top-1."""
    rows = result.layers
    names = [r.name for r in rows]
    fig, ax = _layer_axes(len(rows), f"{result.model_name}: layer sensitivity")
    bits = candidate_bits(result)
    colors = {b: BIT_COLORS[i % len(BIT_COLORS)] for i, b in enumerate(bits)}
    idx = np.arange(len(rows))
    ax.bar(idx, [r.sensitivity for r in rows], color=[colors.get(r.key, "gray") for r in rows])
    ax.set_ylabel("sensitivity")
    handles: list[Any] = [Patch(color=colors[b], label=f"sensitivity, {_name(b)} chosen") for b in bits
                          if any(r.key == b for r in rows)]
    masked = [r.masked_top1 for r in rows]
    if any(m is not None for m in masked):
        ax2 = ax.twinx()
        y = [np.nan if m is None else 100 * m for m in masked]
        (line,) = ax2.plot(idx, y, "o-", color=LINE, label="masked top-1")
        ax2.set_ylabel("masked top-1 (%)")
        handles.append(line)
    _legend_above(ax, handles)
    _layer_ticks(ax, names)
    fig.tight_layout()
    return fig


def reference_bits(result) -> Any:
    """The candidate the chosen costs are compared with: 8 bits (fixed point) when it is one, else
    the widest (the last)."""
    bits = candidate_bits(result)
    return next((b for b in (8, "uniform:8") if b in bits), bits[-1])


def _name(key: Any) -> str:
    """'W8' for a bit-width key, the label ('sp2:4') otherwise."""
    return f"W{key}" if isinstance(key, int) else str(key)


def cost_figure(result, metric: str) -> Figure:
    """Fig. 5/6 (middle, right): cycles or energy per layer at the chosen bits and the reference
    bits (bars), parameters per layer (line, second axis)."""
    if metric not in ("cycles", "energy"):
        raise OhqError(f"unknown cost metric {metric!r}; use cycles or energy")
    rows = result.layers
    ref = reference_bits(result)
    if metric == "cycles":
        value = lambda r, b: r.cycles_by_bits[b]["total"]  # noqa: E731
        label = "cycles"
    else:
        value = lambda r, b: r.energy_mj_by_bits[b]  # noqa: E731
        label = "energy (mJ)"
    chosen = [value(r, r.key) for r in rows]
    at_ref = [value(r, ref) for r in rows]
    fig, ax = _layer_axes(len(rows), f"{result.model_name}: {label.split(' ')[0]} vs parameters")
    idx = np.arange(len(rows))
    w = 0.4
    b1 = ax.bar(idx - w / 2, chosen, w, color=BAR_CHOSEN, label=f"{label}, chosen bits")
    b2 = ax.bar(idx + w / 2, at_ref, w, color=BAR_REF, label=f"{label}, {_name(ref)}")
    ax.set_ylabel(label)
    _log_if_positive(ax, chosen + at_ref)
    ax2 = ax.twinx()
    (line,) = ax2.plot(idx, [r.params for r in rows], "o-", color=LINE, label="parameters")
    ax2.set_ylabel("parameters")
    _log_if_positive(ax2, [r.params for r in rows])
    _legend_above(ax, [b1, b2, line])
    _layer_ticks(ax, [r.name for r in rows])
    fig.tight_layout()
    return fig


def check_points(points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate Pareto points; return those with a top-1 (points whose top1 is None are skipped)."""
    if not points:
        raise OhqError("no Pareto points given")
    kept = []
    for p in points:
        if not isinstance(p, dict):
            raise OhqError(f"a Pareto point must be a dict, got {type(p).__name__}")
        missing, unknown = POINT_KEYS - p.keys(), p.keys() - POINT_KEYS
        if missing or unknown:
            raise OhqError(f"Pareto point {p!r}: missing keys {sorted(missing)}, "
                           f"unknown keys {sorted(unknown)}; use {sorted(POINT_KEYS)}")
        if p["top1"] is None:
            continue
        top1, size = float(p["top1"]), float(p["size_mib"])
        if not 0.0 <= top1 <= 1.0:
            raise OhqError(f"Pareto point {p['label']!r}: top1 must be a fraction in [0, 1], got {top1}")
        if not size > 0 or not math.isfinite(size):
            raise OhqError(f"Pareto point {p['label']!r}: size_mib must be positive, got {size}")
        kept.append(p)
    return kept


def pareto_front(points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Points that no other point beats on both size (smaller) and top-1 (higher), by size."""
    front = []
    for p in sorted(points, key=lambda q: (q["size_mib"], -q["top1"])):
        if not front or p["top1"] > front[-1]["top1"]:
            front.append(p)
    return front


def pareto_figure(points: Sequence[dict[str, Any]]) -> Figure:
    """Top-1 vs model size, latency as marker colour and size; the Pareto front dashed."""
    kept = check_points(points)
    fig = Figure(figsize=(7.0, 4.8))
    ax = fig.add_subplot()
    ax.set_title("accuracy vs size (colour and marker size: latency)")
    ax.set_xlabel("weight size (MiB)")
    ax.set_ylabel("top-1 (%)")
    if not kept:
        ax.text(0.5, 0.5, "no point has a measured top-1", ha="center", va="center",
                transform=ax.transAxes)
        return fig
    timed = [p for p in kept if p["latency_ms"] is not None]
    untimed = [p for p in kept if p["latency_ms"] is None]
    if timed:
        lat = np.array([float(p["latency_ms"]) for p in timed])
        span = lat.max() - lat.min()
        sizes = 60 + 240 * ((lat - lat.min()) / span if span > 0 else np.zeros_like(lat))
        sc = ax.scatter([p["size_mib"] for p in timed], [100 * p["top1"] for p in timed],
                        c=lat, s=sizes, cmap="viridis", edgecolors="black", zorder=3)
        fig.colorbar(sc, ax=ax, label="latency (ms)")
    if untimed:
        ax.scatter([p["size_mib"] for p in untimed], [100 * p["top1"] for p in untimed],
                   s=60, facecolors="none", edgecolors="gray", zorder=3, label="latency not measured")
        ax.legend(loc="lower right", fontsize=8)
    front = pareto_front(kept)
    if len(front) > 1:
        ax.plot([p["size_mib"] for p in front], [100 * p["top1"] for p in front], "--",
                color="gray", linewidth=1, zorder=2)
    for p in kept:
        ax.annotate(str(p["label"]), (p["size_mib"], 100 * p["top1"]), textcoords="offset points",
                    xytext=(6, 6), fontsize=8)
    _log_if_positive(ax, [p["size_mib"] for p in kept], axis="x")
    ax.grid(True, alpha=0.3)
    ax.margins(x=0.12, y=0.12)
    fig.tight_layout()
    return fig


def result_points(result) -> list[dict[str, Any]]:
    """The FP32, W8A8 (when 8 bits is a candidate) and mixed OHQ points of one pipeline result.

    FP32 size is every parameter at 32 bit; its latency was not measured, so it is None."""
    a_bits = 8 if result.request.a_bits is None else result.request.a_bits  # None: at weight bits
    fp32_mib = sum(r.params for r in result.layers) * 4 / float(1 << 20)
    points = [{"label": "FP32", "top1": result.top1.get("fp32"), "size_mib": fp32_mib,
               "latency_ms": None}]
    if result.totals.get("int8"):
        points.append({"label": f"W8A{a_bits}", "top1": result.top1.get("int8"),
                       "size_mib": result.totals["int8"]["size_mib"],
                       "latency_ms": result.totals["int8"]["latency_ms"]})
    points.append({"label": "mixed OHQ", "top1": result.top1.get("mixed"),
                   "size_mib": result.totals["mixed"]["size_mib"],
                   "latency_ms": result.totals["mixed"]["latency_ms"]})
    return points


# --- sensitivity damage ------------------------------------------------------------------------

def damage_figure(
    predicted: Sequence[float],
    measured: Sequence[float],
    labels: Sequence[str] = (),
    title: str = "",
):
    """A matplotlib Figure (no pyplot): predicted vs measured top-1 drop (%), one point per
    (layer, bits) case, with the y = x line; `labels` (e.g. "2 bits") colour the points by group."""
    pred, real = [100 * float(v) for v in predicted], [100 * float(v) for v in measured]
    groups = list(labels) if labels else [""] * len(pred)
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.subplots()
    for group in dict.fromkeys(groups):
        pts = [(p, r) for p, r, g in zip(pred, real, groups, strict=True) if g == group]
        ax.scatter([p for p, _ in pts], [r for _, r in pts], s=14, label=group or None)
    top = max([*pred, *real, 1e-3])
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("predicted top-1 drop (%)")
    ax.set_ylabel("measured top-1 drop (%)")
    if labels:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_damage(
    path: str | Path,
    predicted: Sequence[float],
    measured: Sequence[float],
    labels: Sequence[str] = (),
    title: str = "",
) -> Path:
    """Write `damage_figure(predicted, measured, labels, title)` as a PNG."""
    return save_png(damage_figure(predicted, measured, labels, title), path)


def damage_check_figure(check: dict, model_name: str = ""):
    """The run report's figure from `ohq.sensitivity.damage.damage_check`'s dict."""
    bits, pred, real = check["bits"], check["predicted"], check["measured"]
    rho = ", ".join(f"{b} bits ρ {check['spearman'][str(b)]:+.2f}" for b in bits
                    if check["spearman"].get(str(b)) is not None)
    labels = [f"{b} bits" for _ in pred for b in bits]
    flat = [v for row in pred for v in row], [v for row in real for v in row]
    title = f"{model_name}: each layer alone at b bits, {check['n_test']} test images" + (f"\n{rho}" if rho else "")
    return damage_figure(*flat, labels, title)
