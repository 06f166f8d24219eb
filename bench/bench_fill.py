"""Why the default objective leaves part of the size budget unused (issue 14), with a figure.

For each size ratio r: solve the default ILP (min Σ damage(i, b), qmqe damage), then solve it
again with the extra constraint size ≥ `--fill` × budget (the "filled" optimum). Print, for
both, the size used, the predicted damage Σ damage(i, b) and the top-1; and the leftover room
against the smallest single upgrade still open. The figure (`--plot`) shows each layer's
upgrade cost from its chosen bits to the next candidate (MiB) against the predicted damage
that upgrade removes, with the leftover room as a vertical line.

Run: PYTHONPATH=src python bench/bench_fill.py [--model mnist_resnet] [--bits 48] [--ratios 0.5,0.75]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from scipy.optimize import Bounds, LinearConstraint, milp

from ohq.compare import _mixed
from ohq.data.datasets import LabeledData
from ohq.pipeline import Request, prepare


def best(damage: np.ndarray, size: np.ndarray, limit: float, floor: float = 0.0) -> np.ndarray:
    """Columns (one bit-width per layer) minimising Σ damage with floor ≤ size ≤ limit (HiGHS)."""
    n, k = damage.shape
    one_hot = np.kron(np.eye(n), np.ones(k))
    cons = [LinearConstraint(one_hot, 1, 1), LinearConstraint(size.ravel()[None], floor, limit)]
    res = milp(damage.ravel(), constraints=cons, integrality=np.ones(n * k), bounds=Bounds(0, 1))
    if res.x is None:
        raise SystemExit(f"no allocation with {floor:.4g} ≤ size ≤ {limit:.4g} MiB")
    return np.round(res.x).reshape(n, k).argmax(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist_resnet")
    parser.add_argument("--bits", default="48")
    parser.add_argument("--ratios", default="0.5,0.75")
    parser.add_argument("--fill", type=float, default=0.99)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    bits = tuple(int(c) for c in args.bits)
    ratios = [float(r) for r in args.ratios.split(",")]
    prep = prepare(Request(args.model, data="mnist", bits=bits, size_ratio=ratios[0]))
    t = prep.test
    prep.test = LabeledData(t.x[:args.test], t.y[:args.test], t.name, t.split, t.num_classes)
    method = prep.sensitivity("qmqe")
    damage = method.damage(bits, "uniform")
    size, names = prep.table.costs["size_mib"], prep.table.names
    rows = np.arange(len(names))
    fig = Figure(figsize=(5.0 * len(ratios), 4.2))
    for k, (r, ax) in enumerate(zip(ratios, np.atleast_1d(fig.subplots(1, len(ratios))), strict=True)):
        limit = prep.budgets(r)["size_mib"]
        alloc, _ = prep.allocate(method, {"size_mib": limit})
        chosen = np.array([bits.index(alloc.bits[n]) for n in names])
        filled = best(damage, size, limit, args.fill * limit)
        print(f"\n### {args.model}, bits {{{','.join(map(str, bits))}}}, r = {r:g}, budget {limit:.5f} MiB\n")
        print("| allocation | size / budget | Σ predicted damage (KL) | top-1 % | layers at each bit |")
        print("|---|---|---|---|---|")
        for label, cols in (("default ILP", chosen), (f"ILP with size ≥ {args.fill:g} × budget", filled)):
            used = size[rows, cols].sum()
            acc = _mixed(prep, label, {n: bits[c] for n, c in zip(names, cols, strict=True)}, "real").top1
            counts = ", ".join(f"{b}: {int((cols == j).sum())}" for j, b in enumerate(bits))
            print(f"| {label} | {used / limit:.3f} | {damage[rows, cols].sum():.4f} | {100 * acc:.2f} | {counts} |")
        room = limit - size[rows, chosen].sum()
        up = chosen + 1 < len(bits)
        step = np.where(up, size[rows, np.minimum(chosen + 1, len(bits) - 1)] - size[rows, chosen], np.inf)
        gain = np.where(up, damage[rows, chosen] - damage[rows, np.minimum(chosen + 1, len(bits) - 1)], 0.0)
        print(f"\nleftover room {room:.5f} MiB ({room / limit:.1%} of the budget); smallest open upgrade "
              f"{step.min():.5f} MiB ({names[int(step.argmin())]}); upgrades that fit: {int((step <= room).sum())}")
        ax.scatter(step[up], gain[up], s=16, label="open upgrade (next candidate)")
        done = chosen > 0
        prev = np.where(done, size[rows, chosen] - size[rows, np.maximum(chosen - 1, 0)], np.nan)
        lost = np.where(done, damage[rows, np.maximum(chosen - 1, 0)] - damage[rows, chosen], np.nan)
        ax.scatter(prev[done], lost[done], s=16, marker="x", label="upgrade taken (from the candidate below)")
        ax.axvline(room, color="grey", ls="--", lw=0.8, label="leftover room")
        ax.set_xscale("log"), ax.set_yscale("symlog", linthresh=1e-4)
        ax.set_xlabel("upgrade cost (MiB)"), ax.set_ylabel("predicted damage removed (KL)")
        ax.set_title(f"r = {r:g}: {room / limit:.1%} of the budget left", fontsize=9)
        if k == 0:
            ax.legend(fontsize=7)
    if args.plot:
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    main()
