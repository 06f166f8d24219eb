"""Mixed-model accuracy at equal size: every sensitivity method in the same ILP vs baselines.

For each model, candidate bit set and size ratio r (limit S_low + r·(S_high − S_low)): the
default (qmqe damage, min-sensitivity), each other sensitivity method's damage in the same ILP,
the old default (mqe, paper Eq. 11), HAWQ-V3 (Hessian, activations at 8 bits) and qmqe's damage
under HAWQ-V3's activation policy (the like-for-like row: 8-bit activations cost no weight size
but do cost latency and activation memory), largest layers
first, and 5 seeded random allocations that fill the budget (mean ± std). Real MNIST: 32 train
samples for sensitivity, 256 for calibration, top-1 on the first `--test` test images.

Run: PYTHONPATH=src python bench/bench_allocation.py [--models a,b] [--ratios 0.25,0.5,0.75] [--test 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ohq.compare import _mixed
from ohq.data.datasets import LabeledData
from ohq.pipeline import Request, prepare
from ohq.search import largest_first, random_allocation

BIT_SETS = ((2, 3, 4, 8), (4, 8))
ILP = (  # label, sensitivity method, objective, parameters, activation bits (None: the layer's own)
    ("default: qmqe damage (rescaled Jensen–Shannon, sjs)", "qmqe", "min-sensitivity", {}, None),
    ("qmqe damage, Jensen–Shannon (js, the default until 2026-12-02 evening)", "qmqe", "min-sensitivity", {"score": "js"}, None),
    ("qmqe damage, KL score (MQE's)", "qmqe", "min-sensitivity", {"score": "kl"}, None),
    ("qmqe damage, every candidate re-run (measure=all)", "qmqe", "min-sensitivity", {"measure": "all"}, None),
    ("mqe damage", "mqe", "min-sensitivity", {}, None),
    ("layerwise damage", "layerwise", "min-sensitivity", {}, None),
    ("hessian damage", "hessian", "min-sensitivity", {}, None),
    ("mqe + paper Eq. 11 (old default)", "mqe", "paper", {}, None),
    # HAWQ-V3's policy with ohq's damage: weights at b bits, every activation at 8 (measured so)
    ("qmqe damage, W*A8 (HAWQ-V3's activation policy)", "qmqe", "min-sensitivity", {"activations": False}, 8),
)


def key(method: str, params: dict) -> tuple:
    return (method, *sorted(params.items()))


def run(model: str, bits: tuple[int, ...], ratios, n_test: int, samples: int = 32, rows=ILP,
        baselines: bool = True) -> None:
    prep = prepare(Request(model, data="mnist", bits=bits, size_ratio=ratios[0], samples=samples))
    t = prep.test
    prep.test = LabeledData(t.x[:n_test], t.y[:n_test], t.name, t.split, t.num_classes)
    fitted: dict[tuple, object] = {}
    for _, m, _, p, _ in rows + ((("", "hessian", "", {}, None),) if baselines else ()):  # one fit each
        if key(m, p) not in fitted:
            fitted[key(m, p)] = prep.sensitivity(m, **p)
    print(f"\n### {model}, bits {{{','.join(map(str, bits))}}} ({samples} sensitivity samples; top-1 % on {n_test} test images; "
          "size used / budget)\n")
    print("| allocation | " + " | ".join(f"r = {r:g}" for r in ratios) + " |")
    print("|---|" + "---|" * len(ratios))
    cells: dict[str, list[str]] = {}
    for r in ratios:
        budgets = prep.budgets(r)
        limit = budgets["size_mib"]

        def cell(row, limit=limit) -> str:
            return f"{100 * row.top1:.2f} ({row.size_mib / limit:.3f})"

        for label, method, objective, params, a_bits in rows:
            alloc, _ = prep.allocate(fitted[key(method, params)], budgets, objective=objective)
            cells.setdefault(label, []).append(cell(_mixed(prep, label, alloc.bits, "real", a_bits=a_bits)))
        if not baselines:
            continue
        hawq, _ = prep.allocate(fitted[("hessian",)], budgets, objective="min-sensitivity", gamma=0.0)
        cells.setdefault("HAWQ-V3 (hessian, W*A8)", []).append(cell(_mixed(prep, "", hawq.bits, "real", a_bits=8)))
        cells.setdefault("largest layers first", []).append(cell(_mixed(prep, "", largest_first(prep.table, limit), "real")))
        rand = [_mixed(prep, "", random_allocation(prep.table, limit, seed), "real") for seed in range(5)]
        acc = [100 * x.top1 for x in rand]
        fill = np.mean([x.size_mib / limit for x in rand])
        cells.setdefault("random, 5 seeds (mean ± std, min–max)", []).append(
            f"{np.mean(acc):.2f} ± {np.std(acc):.2f}, {min(acc):.1f}–{max(acc):.1f} ({fill:.3f})")
    for label, row in cells.items():
        print(f"| {label} | " + " | ".join(row) + " |", flush=True)
    print("\nsensitivity seconds: " + ", ".join(f"{' '.join(map(str, k))} {e.seconds_:.1f}"
                                               for k, e in sorted(fitted.items(), key=str)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mnist_resnet,mnist_mobilenet_v2")
    parser.add_argument("--ratios", default="0.25,0.5,0.75")
    parser.add_argument("--bits", default="2348,48", help="candidate sets, digits per set")
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=32, help="sensitivity samples (every method)")
    parser.add_argument("--rows", help="only the ILP rows whose label contains one of these ';'-separated strings")
    parser.add_argument("--no-baselines", action="store_true", help="skip HAWQ-V3, largest-first and random")
    args = parser.parse_args()
    rows = ILP if not args.rows else tuple(r for r in ILP if any(k in r[0] for k in args.rows.split(";")))
    torch.set_num_threads(1)
    ratios = tuple(float(r) for r in args.ratios.split(","))
    for model in args.models.split(","):
        for bits in (tuple(int(c) for c in s) for s in args.bits.split(",")):
            start = time.perf_counter()
            run(model, bits, ratios, args.test, args.samples, rows, not args.no_baselines)
            print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
