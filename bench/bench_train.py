"""QAT bench: PTQ vs QAT (ste, lsq, nbq), progressive vs one-shot, DDP 1 vs 2 processes.

    python bench/bench_train.py all --train-limit 10000 --epochs 1
    python bench/bench_train.py mobilenet --train-limit 10000 --epochs 2
    python bench/bench_train.py methods | progressive | ddp | bn | mixed
    python bench/bench_train.py methods --models mnist_resnet --train-limit 2000 --epochs 1

Every run: shipped MNIST weights, the first `--train-limit` MNIST training images, seed 0, Adam
with a cosine schedule (lr and warm-up: the QAT defaults of ohq.train.loop unless --lr/--warmup), batch 128; top-1 on the full official 10,000 test
images with the integer engine (bit-identical to the fake-quant model). PTQ is the same plan
calibrated on the same 256 training images the QAT run starts from. One JSON line per result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ohq.data import load_dataset
from ohq.models import build_shipped
from ohq.quant import Plan, QuantSpec, quantize
from ohq.train import qat, top1
from ohq.train.api import calibration
from ohq.train.loop import LR, WARMUP


def _data(limit: int):
    train = load_dataset("mnist", "train")
    train = type(train)(train.x[:limit], train.y[:limit], "mnist", "train", 10)
    return train, load_dataset("mnist", "test")


def _acc(qm, test) -> float:
    return round(top1(qm.to_integer(), test), 4)


def _emit(doc: dict) -> None:
    print(json.dumps(doc), flush=True)


def ptq_vs_qat(model: str, plan: Plan, label: str, methods: list[str], args, progressive=None,
               bn_steps: int = 0, **extra) -> None:
    train, test = _data(args.train_limit)
    net = build_shipped(model)
    ptq = _acc(quantize(net, plan, calibration(train)), test)
    for method in methods:
        start = time.perf_counter()
        qm = qat(net, plan, train, epochs=args.epochs, method=method, lr=args.lr, progressive=progressive,
                 bn_steps=bn_steps, warmup=args.warmup)
        _emit({"model": model, "plan": label, "method": method, "progressive": progressive, "ptq": ptq,
               "bn_steps": bn_steps, "lr": args.lr, "warmup": args.warmup, **extra,
               "qat": _acc(qm, test), "epochs": args.epochs, "train_limit": args.train_limit,
               "seconds": round(time.perf_counter() - start, 1)})


def mobilenet(args) -> None:
    steps = args.bn_steps if args.bn_steps >= 0 else int(args.epochs * (args.train_limit // 128))  # -1: all
    ptq_vs_qat("mnist_mobilenet_v2", Plan.uniform(4, 4), "W4A4", args.methods.split(","), args, bn_steps=steps)


def methods(args) -> None:
    for model in args.models.split(","):
        for bits in (2, 3):
            for scheme in ("uniform", "pot"):
                label = f"{scheme} W{bits}A4, first/last 8"
                plan = Plan(QuantSpec(bits, 4, scheme), first_last_bits=8)
                # nbq only changes PoT layers: on fixed-point ones it is ste
                ptq_vs_qat(model, plan, label, ["ste", "lsq"] + (["nbq"] if scheme == "pot" else []), args)


def progressive(args) -> None:
    for model in args.models.split(","):
        plan = Plan(QuantSpec(3, 3), first_last_bits=8)
        ptq_vs_qat(model, plan, "W3A3, first/last 8", ["ste", "lsq"], args)
        ptq_vs_qat(model, plan, "W3A3, first/last 8", ["ste", "lsq"], args, progressive=[8, 6, 4])


def bn(args) -> None:
    """BatchNorm folded up front (bn_steps 0) vs trained on batch statistics for the first
    `bn_steps` steps, then frozen and folded; equal steps otherwise."""
    per_epoch = args.train_limit // 128
    for model in args.models.split(","):
        plan = Plan(QuantSpec(3, 4), first_last_bits=8)
        for steps in (0, max(1, per_epoch // 4), int(args.epochs * per_epoch)):
            ptq_vs_qat(model, plan, "uniform W3A4, first/last 8", ["ste", "lsq"], args, bn_steps=steps)


def mixed(args) -> None:
    """The ILP's {2,3,4,8} plan at the weight size of all-W4 (activations 4 bits) vs uniform W4A4,
    both QAT-fine-tuned alike; sizes and modelled latency (xc7z020) from the pipeline."""
    from ohq.pipeline import Request, run_pipeline

    for model in args.models.split(","):
        runs = {}
        for label, bits, size in (("uniform W4A4", (4, 8), None), ("ILP {2,3,4,8}, A4", (2, 3, 4, 8), "w4")):
            budget = {"size_ratio": 0.0} if size is None else {"size_mib": runs["uniform W4A4"]["size_mib"]}
            res = run_pipeline(Request(model, data="mnist", bits=bits, a_bits=4, masked_top1=False, **budget))
            totals = res.totals["mixed"]
            runs[label] = {"size_mib": totals["size_mib"], "latency_ms": totals["latency_ms"],
                           "bits": {r.name: r.bits for r in res.layers}}
            ptq_vs_qat(model, res.plan, label, args.methods.split(","), args, **runs[label])


def ddp(args) -> None:
    """The same `ohq train --qat` under torchrun with 1 and 2 processes (gloo, 1 thread each)."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, 2):
            out = Path(tmp) / f"w{n}.pt"
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(n),
                   "-m", "ohq", "train", "--model", "mnist_cnn", "--data", "mnist", "--qat", "--bits", "4/4",
                   "--epochs", str(args.epochs), "--train-limit", str(args.train_limit), "--out", str(out),
                   "--json"]
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            wall = time.perf_counter() - start
            if proc.returncode:
                raise SystemExit(proc.stderr[-2000:])
            doc = json.loads(proc.stdout)
            results[n] = {"top1_qat": doc["top1_qat"], "train_seconds": doc["seconds"], "wall_seconds": round(wall, 1)}
    _emit({"ddp": results, "model": "mnist_cnn", "plan": "W4A4", "epochs": args.epochs,
           "train_limit": args.train_limit,
           "accuracy_difference": round(abs(results[1]["top1_qat"] - results[2]["top1_qat"]), 4),
           "train_time_ratio_2_over_1": round(results[2]["train_seconds"] / results[1]["train_seconds"], 3)})


SECTIONS = {"mobilenet": mobilenet, "methods": methods, "progressive": progressive, "ddp": ddp, "bn": bn,
            "mixed": mixed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", choices=[*SECTIONS, "all"])
    parser.add_argument("--train-limit", type=int, default=10000)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--warmup", type=float, default=WARMUP, help="share of the steps with a linear lr warm-up")
    parser.add_argument("--bn-steps", type=int, default=0, help="for mobilenet: BN batch-statistics steps (-1: all)")
    parser.add_argument("--methods", default="ste,lsq", help="for mobilenet and mixed: comma-separated")
    parser.add_argument("--models", default="mnist_cnn", help="for methods/progressive/bn/mixed: comma-separated")
    args = parser.parse_args()
    for name, run in SECTIONS.items():
        if args.section in (name, "all"):
            run(args)


if __name__ == "__main__":
    main()
