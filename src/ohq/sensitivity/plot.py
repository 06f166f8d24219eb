"""Fig. 5 (left) of the OHQ paper: per-layer sensitivity (bars) and the masked model's top-1 (line)."""

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
