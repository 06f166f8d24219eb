"""Quantization bench: PTQ top-1 of every shipped model, and integer-engine vs FP32 throughput.

    python bench/bench_quant.py              # accuracy table + throughput
    python bench/bench_quant.py --speed-only # throughput of mnist_resnet at batch 256 only

Accuracy: FP32, W8A8, W4A8, W4A4 (fixed-point), and pot/sp2/rowmix at W4A8, on the full test
split, calibrated on 512 train samples. Shipped models without trained weights are skipped (and
named). Throughput: FP32 PyTorch and the integer engine (calibrated on 256 train samples) on the
same test batch, interleaved in one run, median of the repeats; the ratio is integer / FP32
throughput (FP32 time / integer time), so ≥ 0.5 means at least half the FP32 speed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from ohq.data import load_dataset
from ohq.models import build_shipped, list_shipped
from ohq.models.shipped import SHIPPED, weights_dir
from ohq.quant import Plan, QuantSpec, quantize

CONFIGS = [("W8A8", 8, 8, "uniform"), ("W4A8", 4, 8, "uniform"), ("W4A4", 4, 4, "uniform"),
           ("pot W4A8", 4, 8, "pot"), ("sp2 W4A8", 4, 8, "sp2"), ("rowmix W4A8", 4, 8, "rowmix")]


def top1(fn, x, y, batch=500) -> float:
    with torch.no_grad():
        logits = torch.cat([fn(x[i:i + batch]) for i in range(0, len(x), batch)])
    return float((logits.argmax(1) == y).float().mean())


def accuracy_table() -> None:
    header = ["model", "FP32"] + [c[0] for c in CONFIGS] + ["bit-exact"]
    print(" | ".join(header))
    for name in list_shipped():
        if not (weights_dir() / f"{name}.pt").exists():
            print(f"{name}: skipped (no trained weights yet)")
            continue
        model = build_shipped(name)
        data = SHIPPED[name].data
        test, train = load_dataset(data, "test"), load_dataset(data, "train")
        calib = train.x[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:512]]
        row, exact = [name, f"{100 * top1(model, test.x, test.y):.2f}"], True
        for _, wb, ab, scheme in CONFIGS:
            qm = quantize(model, Plan(QuantSpec(wb, ab, scheme)), calib)
            row.append(f"{100 * top1(qm, test.x, test.y):.2f}")
            with torch.no_grad():
                xs = test.x[:256]
                exact &= bool(torch.equal(qm(xs), qm.to_integer()(xs)))
        print(" | ".join(row + [str(exact)]), flush=True)


def throughput(batch: int = 256, repeats: int = 9) -> None:
    """FP32 `model(x)` and the integer engine on the same batch, interleaved, median of `repeats`."""
    name = "mnist_resnet"
    trained = (weights_dir() / f"{name}.pt").exists()
    model = build_shipped(name, trained=trained)
    calib = load_dataset(SHIPPED[name].data, "train").x[:256]
    x = load_dataset(SHIPPED[name].data, "test").x[:batch]
    qmodel = quantize(model, Plan(QuantSpec(8, 8)), calib)
    engine = qmodel.to_integer()
    times = {"fp32": [], "integer": []}
    with torch.inference_mode():
        exact = torch.equal(engine(x), qmodel(x))  # also the warm-up of the engine
        model(x)
        for _ in range(repeats):
            for key, fn in (("fp32", model), ("integer", engine)):
                start = time.perf_counter()
                fn(x)
                times[key].append(time.perf_counter() - start)
    fp, it = statistics.median(times["fp32"]), statistics.median(times["integer"])
    print(f"{name} ({'trained' if trained else 'untrained weights'}) W8A8, batch {batch}, "
          f"{torch.get_num_threads()} threads, median of {repeats} interleaved runs: "
          f"FP32 {1e3 * fp:.1f} ms ({batch / fp:.0f} img/s), integer engine {1e3 * it:.1f} ms "
          f"({batch / it:.0f} img/s), ratio integer/FP32 {fp / it:.2f}, bit-exact {exact}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.speed_only:
        accuracy_table()
    throughput()


if __name__ == "__main__":
    main(sys.argv[1:])
