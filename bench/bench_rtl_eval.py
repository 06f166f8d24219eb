"""Whole shipped networks on the simulated chip vs the integer engine (docs/hardware.md § RTL engine).

    python bench/bench_rtl_eval.py [--limit 100] [--models digits_cnn,mnist_cnn,...] [--bits 8]

Runs `ohq eval --model M --engine rtl --limit N --json` for each shipped model: every conv/linear
on the layer engine and every graph op (residual add, ReLU, lookup tables, pooling, rescales) on
the post-processing unit, on the first N test images. Prints one Markdown row per model: images
with logits identical to the integer engine, top-1 on the chip, cycles per image by step, and the
simulator's speed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from ohq.models.shipped import SHIPPED


def run(model: str, limit: int, bits: int, scheme: str) -> dict:
    data = SHIPPED[model].data
    cmd = [sys.executable, "-m", "ohq", "eval", "-m", model, "-d", data, "--engine", "rtl",
           "--limit", str(limit), "--bits", str(bits), "--scheme", scheme, "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    doc = json.loads(proc.stdout)
    doc["wall_s"] = time.perf_counter() - t0
    return doc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--models", default=",".join(sorted(SHIPPED)))
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--scheme", default="uniform")
    args = ap.parse_args()
    print(f"W{args.bits} {args.scheme}, A8, {args.limit} test images per model\n")
    print("| model | identical logits | top-1 chip | top-1 integer (same images) | steps on chip | "
          "cycles/image (compute / transfer / write-back / post) | sim cycles/s | wall s |")
    print("|---|---|---|---|---|---|---|---|")
    for model in args.models.split(","):
        d = run(model, args.limit, args.bits, args.scheme)
        c = d["rtl_cycles_per_image"]
        print(f"| {model} | {d['identical_logits']}/{d['images']} | {d['top1_rtl']:.3f} | "
              f"{d['top1_integer_subset']:.3f} | {d['rtl_steps_on_chip']} | {c['total']:,} "
              f"({c['compute']:,} / {c['transfer']:,} / {c['writeback']:,} / {c['postprocess']:,}) | "
              f"{d['rtl_cycles_per_second']:,.0f} | {d['wall_s']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
