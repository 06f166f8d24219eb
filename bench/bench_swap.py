"""Does qmqe's swapped layer reproduce the plan it predicts? (issue 14)

For every layer i and case (b bits, scheme): the logits of qmqe's suffix re-run with layer i
swapped to W_b A_b inside the cached W8A8 graph, against the logits of the real plan
`quantize(model, Plan(QuantSpec(8, 8), {i: QuantSpec(b, b, scheme)}), calib)`, on the first
`--test` test images (calibration: 256 seeded train images, as bench_damage.py). Prints, per
model and case, the largest |logit difference| over all layers and images, the number of images
whose top-1 differs, and the layer with the largest top-1 drop under each.

Run: PYTHONPATH=src python bench/bench_swap.py [--models a,b] [--test 1000] [--cases 2/uniform]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from ohq.data import load_dataset
from ohq.quant import Plan, QuantSpec, quantize
from ohq.sensitivity import get_method

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_damage import CASES, MODELS, load  # noqa: E402


@torch.no_grad()
def compare(name: str, n_test: int, cases, method: str = "qmqe") -> list[dict]:
    model, data = load(name)
    train, test = load_dataset(data, "train"), load_dataset(data, "test")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    calib, x, y = train.x[order[:256]], test.x[:n_test], test.y[:n_test]
    rows = []
    for b, scheme in cases:
        est = get_method(method, candidate_bits=(b,), scheme=scheme, calib=calib).fit(model, x[:2])
        ref = quantize(model, Plan(QuantSpec(8, 8)), calib)(x)
        swapped = {i: torch.zeros_like(ref) for i in range(len(est.layer_names_))}
        for s, _, i, _, out in est._sweep(x):
            swapped[i][s] = out
        worst, flips, drops = 0.0, 0, []
        for i, layer in enumerate(est.layer_names_):
            plan = quantize(model, Plan(QuantSpec(8, 8), {layer: QuantSpec(b, b, scheme)}), calib)(x)
            worst = max(worst, float((plan - swapped[i]).abs().max()))
            flips += int((plan.argmax(1) != swapped[i].argmax(1)).sum())
            ok = (ref.argmax(1) == y).double().mean()
            drops.append((layer, float(ok - (plan.argmax(1) == y).double().mean()),
                          float(ok - (swapped[i].argmax(1) == y).double().mean())))
        rows.append({"case": f"{b}/{scheme}", "layers": len(drops), "max_abs": worst, "flips": flips,
                     "images": len(x), "drops": drops})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--cases", default=",".join(f"{b}/{s}" for b, s in CASES))
    parser.add_argument("--drops", action="store_true", help="print every layer's drop under plan and swap")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = [(int(c.split("/")[0]), c.split("/")[1]) for c in args.cases.split(",")]
    print("| model | case | layers | max abs logit diff (swap vs plan) | top-1 differs (images × layers) | s |")
    print("|---|---|---|---|---|---|")
    for name in args.models.split(","):
        start = time.perf_counter()
        for row in compare(name, args.test, cases):
            print(f"| {name} | {row['case']} | {row['layers']} | {row['max_abs']:.3g} | {row['flips']} "
                  f"of {row['images'] * row['layers']} | {time.perf_counter() - start:.0f} |", flush=True)
            if args.drops:
                for layer, plan, swap in row["drops"]:
                    print(f"|   | {layer} | | plan drop {100 * plan:.2f} % | swap drop {100 * swap:.2f} % | |")


if __name__ == "__main__":
    main()
