"""Figures of the chip in RTL (docs/hardware.md § The chip in RTL).

    python bench/bench_rtl.py [--device xc7z020] [--models digits_cnn,mnist_cnn] [--synth]

1. bit-exactness: a network with stride/padding, grouped, pointwise, depthwise and linear layers,
   per (scheme, w_bits, a_bits), RTL vs the integer engine (values that differ);
2. the rtl probe on each shipped model at INT8: time to probe, simulator cycles/s, and the
   per-step relative error of the analytical model (fpga-model) against the RTL counters;
3. (--synth) yosys synth_xilinx of the 8-lane tree per configuration vs the old formulas.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from ohq.graph import layer_graph
from ohq.hw import estimate, get_device, get_probe
from ohq.hw.accelerator import dsp_pack, lut_mult_luts, shift_add_luts, shift_luts
from ohq.hw.cost import STEPS
from ohq.hw.rtl import RtlConfig
from ohq.hw.rtl.engine import RtlEngine
from ohq.models import load_model
from ohq.quant import Plan, QuantSpec, quantize

SMALL = dict(lanes=8, fmax=160, kmax=256, pmax=64, latency=8)
CASES = [("uniform", 8, 8), ("uniform", 4, 4), ("pot", 4, 8), ("sp2", 4, 4), ("sp2", 8, 8)]


def bitexact() -> None:
    net = nn.Sequential(nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.ReLU(),
                        nn.Conv2d(6, 6, 3, padding=1, groups=3), nn.ReLU(), nn.Conv2d(6, 5, 1), nn.ReLU(),
                        nn.Conv2d(5, 5, 3, padding=1, groups=5), nn.ReLU(), nn.Flatten(),
                        nn.Linear(80, 7), nn.ReLU(), nn.Linear(7, 3))
    torch.manual_seed(0)
    x = torch.randn(4, 3, 8, 8)
    print("| scheme | W/A | layers | outputs differing | cycles/s |\n|---|---|---|---|---|")
    for s, w, a in CASES:
        qm = quantize(net, Plan(QuantSpec(w, a, s)), x)
        eng = RtlEngine(qm, config=lambda ql, s=s, w=w: RtlConfig(scheme=s, w_bits=w, a_bits=ql.inp.bits, **SMALL))
        y = eng(x)
        ref = qm.to_integer()(x)
        cyc = sum(v["total"] for v in eng.layer_cycles.values())
        print(f"| {s} | {w}/{a} | {len(qm.layers)} | {int((y != ref).sum())} of {y.numel()} | "
              f"{cyc / eng.sim_seconds:,.0f} |")


def referee(device: str, models: list[str]) -> None:
    dev = get_device(device)
    print("\n| model | layers | probe s | RTL Mcycles | " + " | ".join(f"{k} err" for k in STEPS) + " | total err |")
    print("|---|---|---|---|" + "---|" * (len(STEPS) + 1))
    for name in models:
        loaded = load_model(name)
        graph = layer_graph(loaded.model, loaded.input_shape)
        t0 = time.perf_counter()
        probe = get_probe("rtl")
        rtl = estimate(graph, dev, 8, probe)
        secs = time.perf_counter() - t0
        ana = estimate(graph, dev, 8)
        sums = {k: [sum(lc.cycles[k] for lc in r.layers) for r in (rtl, ana)] for k in list(STEPS) + ["total"]}
        errs = [f"{100 * (a - r) / r:+.0f} %" for r, a in sums.values()]
        print(f"| {name} | {len(graph.layers)} | {secs:.1f} | {sums['total'][0] / 1e6:.3f} | " + " | ".join(errs) + " |")
        print(f"  sim {probe.sim_seconds:.2f} s, {sums['total'][0] / max(probe.sim_seconds, 1e-9):,.0f} cycles/s; "
              f"sampled layers: {probe.sampled}")


def synth() -> None:
    from ohq.hw.rtl.synth import synthesize

    print("\n| scheme | W/A | lanes | products | yosys DSP | formula DSP | yosys LUT | formula LUT (products) |")
    print("|---|---|---|---|---|---|---|---|")
    for s, w, a in [("uniform", 8, 8), ("uniform", 4, 4), ("pot", 4, 8), ("sp2", 4, 8)]:
        r = synthesize(RtlConfig(lanes=8, scheme=s, w_bits=w, a_bits=a))
        prods = 2 * r["lanes"]
        if s == "uniform":
            f_dsp = prods // dsp_pack(max(w, a)) if max(w, a) > 4 else 0
            f_lut = 0 if max(w, a) > 4 else prods * lut_mult_luts(w, a)
        else:
            f_dsp = 0
            f_lut = prods * (shift_luts(w, a) if s == "pot" else shift_add_luts(w, a))
        print(f"| {s} | {w}/{a} | {r['lanes']} | {prods} | {r['dsp']} | {f_dsp} | {r['lut']} | {f_lut} |")
    print(f"source: {r['source']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="xc7z020")
    ap.add_argument("--models", default="digits_cnn,mnist_cnn,mnist_resnet,mnist_mobilenet_v2")
    ap.add_argument("--synth", action="store_true")
    ap.add_argument("--skip-bitexact", action="store_true")
    args = ap.parse_args()
    if not args.skip_bitexact:
        bitexact()
    referee(args.device, args.models.split(","))
    if args.synth:
        synth()


if __name__ == "__main__":
    main()
