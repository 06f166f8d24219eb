"""Fig. 5 (left) of the OHQ paper: per-layer sensitivity (bars) and the masked model's top-1 (line);
and predicted vs measured top-1 drop per layer and bit-width (`plot_damage`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def plot_sensitivity(
    path: str | Path,
    names: Sequence[str],
    scores: Sequence[float],
    masked_top1: Sequence[float] | None = None,
    title: str = "",
) -> Path:
    """Write a PNG: sensitivity per layer in blue, masked top-1 (if given) in orange on a twin axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    idx = list(range(len(names)))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(names) + 2), 4.0))
    ax.bar(idx, scores, color="tab:blue", label="sensitivity")
    ax.set_xlabel("layer")
    ax.set_ylabel("sensitivity ω", color="tab:blue")
    ax.set_xticks(idx, names, rotation=90, fontsize=7)
    if masked_top1 is not None:
        ax2 = ax.twinx()
        ax2.plot(idx, [100 * a for a in masked_top1], color="tab:orange", marker="o", ms=3)
        ax2.set_ylabel("masked top-1 (%)", color="tab:orange")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def damage_figure(
    predicted: Sequence[float],
    measured: Sequence[float],
    labels: Sequence[str] = (),
    title: str = "",
):
    """A matplotlib Figure (no pyplot): predicted vs measured top-1 drop (%), one point per
    (layer, bits) case, with the y = x line; `labels` (e.g. "2 bits") colour the points by group."""
    from matplotlib.figure import Figure

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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    damage_figure(predicted, measured, labels, title).savefig(path, dpi=120)
    return path


def damage_check_figure(check: dict, model_name: str = ""):
    """The run report's figure from `ohq.sensitivity.damage.damage_check`'s dict."""
    bits, pred, real = check["bits"], check["predicted"], check["measured"]
    rho = ", ".join(f"{b} bits ρ {check['spearman'][str(b)]:+.2f}" for b in bits
                    if check["spearman"].get(str(b)) is not None)
    labels = [f"{b} bits" for _ in pred for b in bits]
    flat = [v for row in pred for v in row], [v for row in real for v in row]
    title = f"{model_name}: each layer alone at b bits, {check['n_test']} test images" + (f"\n{rho}" if rho else "")
    return damage_figure(*flat, labels, title)
