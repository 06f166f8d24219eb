"""qmqe's cost vs its accuracy: every candidate re-run (`measure="all"`) vs one (`"lowest"`), issue 14.

  rank        per model: `forward_equiv_` and fit seconds of both forms ({2,3,4,8}, uniform, 32
              train samples, 256 calibrate), Spearman / Kendall of each against the truth of
              bench_damage.py (its `--cache` file: the test top-1 drop of the real plan with one
              layer at WbAb inside W8A8), and how closely the derived 3- and 4-bit columns follow
              the exact ones (Spearman over layers; median |log10(derived / exact)|).
  allocation  top-1 of the min-sensitivity ILP's mixed plan at equal size with each form's damage,
              bits {2,3,4,8}, r = 0.25 / 0.5 / 0.75 (the calls bench_allocation.py makes), with
              (size used / budget) and the layers per bit-width; `--forms`, `--scores` (qmqe's
              per-sample score: kl, js, rkl, top1) choose the rows.

Run: PYTHONPATH=src python bench/bench_measure.py --cache truth.json [--section rank|allocation|all]
     [--models digits_cnn,mnist_cnn,nobn_cnn,mnist_resnet] [--alloc-models mnist_resnet,nobn_cnn]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_damage import correlations, load, split_half  # noqa: E402

from ohq.data import load_dataset  # noqa: E402
from ohq.sensitivity import get_method  # noqa: E402

BITS = (2, 3, 4, 8)
FORMS = ("all", "lowest")


def load_avg() -> str:
    return "load " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def section_rank(models: list[str], cache: dict, n_test: int) -> None:
    print(f"\n## Rank agreement, {{2,3,4,8}} uniform, N = 32 ({load_avg()})\n")
    print("| model (L) | form | forward_equiv_ | fit s | ρ / τ 2 bits | ρ / τ 3 bits | "
          "vs exact: ρ 3 b / 4 b | vs exact: median abs log10 3 b / 4 b |")
    print("|---|---|---|---|---|---|---|---|")
    for name in models:
        model, data = load(name)
        train = load_dataset(data, "train")
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
        x32, calib = train.x[order[:32]], train.x[order[:256]]
        real = cache.get(f"{name}/{n_test}", {})
        fits = {f: get_method("qmqe", candidate_bits=BITS, calib=calib, measure=f).fit(model, x32) for f in FORMS}
        exact = fits["all"].damage(BITS)
        for form, est in fits.items():
            d = est.damage(BITS)
            cells = []
            for b in (2, 3):
                key = f"{b}/uniform"
                cells.append("{:+.2f} / {:+.2f}".format(*correlations(d[:, BITS.index(b)], real[key]))
                             if key in real else "—")
            agree = [correlations(d[:, BITS.index(b)], exact[:, BITS.index(b)])[0] for b in (3, 4)]
            logs = [float(np.median(np.abs(np.log10(np.maximum(d[:, BITS.index(b)], 1e-12)
                                                    / np.maximum(exact[:, BITS.index(b)], 1e-12)))))
                    for b in (3, 4)]
            print(f"| {name} ({len(est.layer_names_)}) | {form} | {est.forward_equiv_:.1f} | {est.seconds_:.1f} | "
                  f"{cells[0]} | {cells[1]} | {agree[0]:+.2f} / {agree[1]:+.2f} | {logs[0]:.2f} / {logs[1]:.2f} |",
                  flush=True)
        halves = [split_half(real, f"{b}/uniform") for b in (2, 3)]
        print(f"| {name} | truth even vs odd | | | {halves[0]:+.2f} | {halves[1]:+.2f} | | |", flush=True)


def section_allocation(models: list[str], ratios, n_test: int, samples: int, forms=FORMS,
                       scores=("kl",)) -> None:
    from ohq.compare import _mixed
    from ohq.data.datasets import LabeledData
    from ohq.pipeline import Request, prepare

    print(f"\n## Mixed plan at equal size, {{2,3,4,8}}, {samples} samples, top-1 % on {n_test} test images "
          f"({load_avg()})\n")
    print("| model | form | " + " | ".join(f"r = {r:g}" for r in ratios) + " | sensitivity s | forward_equiv_ |")
    print("|---|---|" + "---|" * (len(ratios) + 2))
    for name in models:
        model, _ = load(name)
        prep = prepare(Request(model, data="mnist", bits=BITS, size_ratio=ratios[0], samples=samples))
        t = prep.test
        prep.test = LabeledData(t.x[:n_test], t.y[:n_test], t.name, t.split, t.num_classes)
        for form, score in ((f, s) for f in forms for s in scores):
            est = prep.sensitivity("qmqe", measure=form, score=score)
            cells = []
            for r in ratios:
                budgets = prep.budgets(r)
                alloc, _ = prep.allocate(est, budgets)
                row = _mixed(prep, form, alloc.bits, "real")
                use = Counter(alloc.bits.values())
                mix = " ".join(f"{b}:{use[b]}" for b in sorted(use))
                cells.append(f"{100 * row.top1:.2f} ({row.size_mib / budgets['size_mib']:.3f}; {mix})")
            print(f"| {name} | {form}, {score} | " + " | ".join(cells) +
                  f" | {est.seconds_:.1f} | {est.forward_equiv_:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", default="all", choices=("rank", "allocation", "all"))
    parser.add_argument("--models", default="digits_cnn,mnist_cnn,nobn_cnn,mnist_resnet")
    parser.add_argument("--alloc-models", default="mnist_resnet,nobn_cnn")
    parser.add_argument("--ratios", default="0.25,0.5,0.75")
    parser.add_argument("--cache", type=Path, help="bench_damage.py's truth file (rank section)")
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--forms", default=",".join(FORMS), help="allocation: qmqe measure forms")
    parser.add_argument("--scores", default="kl", help="allocation: qmqe per-sample scores, e.g. kl,js")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.section in ("rank", "all"):
        cache = json.loads(args.cache.read_text()) if args.cache and args.cache.exists() else {}
        section_rank(args.models.split(","), cache, args.test)
    if args.section in ("allocation", "all"):
        ratios = tuple(float(r) for r in args.ratios.split(","))
        section_allocation(args.alloc_models.split(","), ratios, args.test, args.samples,
                           tuple(args.forms.split(",")), tuple(args.scores.split(",")))


if __name__ == "__main__":
    main()
