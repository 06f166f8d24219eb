"""Is a top-1 gap between two mixed plans more than the test split's noise? Paired, per image.

Two allocations of one model at equal size are scored on the same test images; what separates
them is the images one gets right and the other wrong (b and c). McNemar's exact test asks
whether b : c is further from 1 : 1 than chance: p = P(Binomial(b + c, 1/2) ≤ min(b, c)) × 2.
Compares the default (qmqe, min-sensitivity) with each reference `bench_allocation.py` reports.

Run: PYTHONPATH=src python bench/bench_paired.py --model mnist_resnet --bits 48 --ratio 0.25
"""

from __future__ import annotations

import argparse

import torch
from scipy.stats import binomtest

from ohq.compare import _mixed_plan
from ohq.pipeline import Request, prepare
from ohq.search import largest_first


def correct(prep, plan) -> torch.Tensor:
    """Per test image: does the plan's integer model get it right."""
    net = prep.quantize(plan).fastest()
    x, y = prep.test.x, prep.test.y
    with torch.no_grad():
        pred = torch.cat([net(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return pred == y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mnist_resnet")
    ap.add_argument("--bits", default="48", help="candidate bit-widths, one digit each")
    ap.add_argument("--ratio", type=float, default=0.25)
    ap.add_argument("--samples", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(1)
    bits = tuple(int(c) for c in args.bits)
    prep = prepare(Request(args.model, data="mnist", bits=bits, size_ratio=args.ratio, samples=args.samples))
    budgets = prep.budgets(args.ratio)
    hessian = prep.sensitivity("hessian")
    plans = {"default: qmqe damage": prep.allocate(prep.sensitivity("qmqe"), budgets)[0].bits}
    plans["qmqe damage, js score (former default)"] = prep.allocate(prep.sensitivity("qmqe", score="js"), budgets)[0].bits
    for method in ("mqe", "layerwise"):
        plans[f"{method} damage"] = prep.allocate(prep.sensitivity(method), budgets)[0].bits
    plans["hessian damage"] = prep.allocate(hessian, budgets)[0].bits
    plans["largest layers first"] = largest_first(prep.table, budgets["size_mib"])
    hawq = prep.allocate(hessian, budgets, gamma=0.0)[0].bits
    scored = {label: correct(prep, prep.plan(b)) for label, b in plans.items()}
    scored["HAWQ-V3 (hessian, W*A8)"] = correct(prep, _mixed_plan(prep, hawq, 8))
    ref = scored.pop("default: qmqe damage")
    n = len(ref)
    print(f"\n{args.model}, bits {{{','.join(map(str, bits))}}}, r = {args.ratio}, {n} test images: default top-1 {100 * ref.float().mean():.2f} %\n")
    print("| reference | top-1 % | default right, it wrong | it right, default wrong | McNemar exact p |")
    print("|---|---|---|---|---|")
    for label, other in scored.items():
        b, c = int((ref & ~other).sum()), int((other & ~ref).sum())
        p = binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
        print(f"| {label} | {100 * other.float().mean():.2f} | {b} | {c} | {p:.3f} |")


if __name__ == "__main__":
    main()
