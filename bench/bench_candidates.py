"""Scheme per layer: candidates {uniform, pot, sp2} × {4, 8} vs uniform only {4, 8}, in one ILP.

mnist_resnet on real MNIST for xc7z020 (the fpga-model probe), min-sensitivity objective with
qmqe damage (fitted once per scheme among the candidates), under latency budgets: each row gives
top-1 on the first `--test` test images, the modelled latency and size of the chosen plan, and
how many layers took each candidate. PoT stops at 5 bits, so pot:8 is no candidate.

Run: PYTHONPATH=src python bench/bench_candidates.py [--budgets 3.0,3.03,3.08] [--test 10000]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import torch

from ohq.data.datasets import LabeledData
from ohq.pipeline import Request, prepare

SETS = (("uniform only", "uniform:4,uniform:8"), ("uniform+pot+sp2", "uniform:4,uniform:8,pot:4,sp2:4,sp2:8"))


def run(model: str, device: str, label: str, candidates: str, budgets, n_test: int) -> None:
    start = time.perf_counter()
    prep = prepare(Request(model, data="mnist", device=device, latency_ms=budgets[0], candidates=candidates))
    t = prep.test
    prep.test = LabeledData(t.x[:n_test], t.y[:n_test], t.name, t.split, t.num_classes)
    method = prep.sensitivity(prep.req.sensitivity)
    alloc = prep.allocator
    for budget in budgets:
        prep.allocate(method, {"latency_ms": budget})
        top1 = prep.top1(prep.quantize(alloc.plan_))
        totals = prep.totals(alloc.configs_)
        use = Counter(c.label for c in alloc.configs_.values())
        print(f"| {label} | {budget:.3f} | {100 * top1:.2f} | {totals['latency_ms']:.4f} | "
              f"{totals['size_mib']:.4f} | " + ", ".join(f"{k}×{v}" for k, v in sorted(use.items())) + " |",
              flush=True)
    print(f"({label}: {time.perf_counter() - start:.0f} s, sensitivity {method.seconds_:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist_resnet")
    parser.add_argument("--device", default="xc7z020")
    parser.add_argument("--budgets", default="3.0,3.03,3.08")
    parser.add_argument("--test", type=int, default=10000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    budgets = tuple(float(b) for b in args.budgets.split(","))
    print(f"### {args.model} on {args.device}, top-1 % on {args.test} MNIST test images\n")
    print("| candidates | latency budget ms | top-1 % | latency ms | size MiB | layers per candidate |")
    print("|---|---|---|---|---|---|")
    for label, candidates in SETS:
        run(args.model, args.device, label, candidates, budgets, args.test)


if __name__ == "__main__":
    main()
