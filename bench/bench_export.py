"""Agreement of the exported models with ohq on the MNIST test set (prints a table, or --json).

onnx-qdq in onnxruntime vs ohq's integer engine on all 10,000 test images; qonnx in qonnx's
reference executor vs the fake-quant model on the first --qonnx-samples images (it is slow).
Run: python bench/bench_export.py [--models mnist_cnn,mnist_resnet] [--qonnx-samples 500]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ohq.data import load_dataset
from ohq.errors import OhqError
from ohq.export.check import agreement, ort_logits, qonnx_logits
from ohq.export.onnx_qdq import to_qdq
from ohq.export.qonnx import to_qonnx
from ohq.models import load_model
from ohq.models.shipped import SHIPPED, weights_dir
from ohq.quant import Plan, QuantSpec, quantize

PLANS = {"W8A8": Plan(QuantSpec(8, 8)), "W4A4 (first/last 8)": Plan(QuantSpec(4, 4), first_last_bits=8),
         "W4A8": Plan(QuantSpec(4, 8), first_last_bits=8)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mnist_cnn,mnist_resnet,mnist_mobilenet_v2")
    ap.add_argument("--qonnx-samples", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    calib = train.x[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:256]]
    rows = []
    for name in args.models.split(","):
        if not (weights_dir() / f"{name}.pt").exists():
            print(f"# {name}: no shipped weights yet, skipped")
            continue
        net = load_model(name).model.eval()
        shape = SHIPPED[name].input_shape
        for label, plan in PLANS.items():
            q = quantize(net, plan, calib)
            t0 = time.perf_counter()
            with torch.no_grad():
                ref_int = torch.cat([q.to_integer()(test.x[i:i + 1000]) for i in range(0, len(test), 1000)])
            got = ort_logits(to_qdq(q, shape), test.x)
            rows.append({"model": name, "plan": label, "format": "onnx-qdq", "reference": "integer engine",
                         **agreement(q, ref_int, got), "seconds": round(time.perf_counter() - t0, 1)})
            n = args.qonnx_samples
            t0 = time.perf_counter()
            try:
                got = qonnx_logits(to_qonnx(q, (n,) + tuple(shape[1:])), test.x[:n])
            except OhqError as exc:
                print(f"# qonnx {name} {label}: {exc}")
                continue
            with torch.no_grad():
                ref = q(test.x[:n])
            rows.append({"model": name, "plan": label, "format": "qonnx", "reference": "fake-quant",
                         **agreement(q, ref, got), "seconds": round(time.perf_counter() - t0, 1)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'model':20} {'plan':20} {'format':9} {'samples':>7} {'argmax %':>9} {'max Δ (LSB)':>12} "
          f"{'≤1 LSB %':>9}")
    for r in rows:
        print(f"{r['model']:20} {r['plan']:20} {r['format']:9} {r['samples']:7d} "
              f"{100 * r['argmax_agreement']:9.2f} {r['max_abs_diff_units']:12.2f} {100 * r['within_1_unit']:9.2f}")


if __name__ == "__main__":
    main()
