"""Figures of the chip in RTL (docs/hardware.md § The chip in RTL).

    python bench/bench_rtl.py [--device xc7z020] [--models digits_cnn,mnist_cnn] [--synth]

1. bit-exactness: a network with stride/padding, grouped, pointwise, depthwise and linear layers,
   per (scheme, w_bits, a_bits), RTL vs the integer engine (values that differ);
2. the rtl probe on each shipped model at INT8: time to probe, simulator cycles/s, and the
   per-step relative error of the analytical model (fpga-model) against the RTL counters;
3. (--synth) yosys synth_xilinx of the 8-lane tree per configuration vs the old formulas;
   (--synth-engine) the whole 8-lane engine (ENGINE) vs the old formulas, and its JSON row for
   src/ohq/hw/rtl/resources.json; (--device-data) the latest engine and tree rows of it written
   into the device's data file (`synthesis` block) and its `synthesized` constants re-derived;
4. (--referee) the referee: distinct layers of the shipped models and sampled layers of
   ResNet-18/50, MobileNetV2/V3-Large at 224 through the RTL at INT8 and INT4 (192 lanes); the
   non-compute constants fitted on TRAIN and the per-step error on the held-out networks; the
   bit-width check; the INT8 re-check against the paper with the one parameter set; the spread of
   INT4/INT8 and mixed/INT8 across the parameter sets that fit.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

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
    """The rtl probe on each shipped model at W4A4 and W8A8 (what `ohq quantize --probe rtl` asks):
    probe time, simulator speed, and the fpga-model's per-step error against the RTL, in the
    img2col form (the default, PS invocation included) and the band form (no invocation)."""
    dev = get_device(device)
    no_ps = replace(dev, layer_overhead_cycles=0)  # the band rows: no PS invocation, as the RTL
    print("\n| model | layers | probe s (4 and 8 bit) | sim s | cycles/s | bits, form | " +
          " | ".join(f"{k} err" for k in STEPS) + " | total err |")
    print("|---|---|---|---|---|---|" + "---|" * (len(STEPS) + 1))
    for name in models:
        loaded = load_model(name)
        graph = layer_graph(loaded.model, loaded.input_shape)
        probe = get_probe("rtl")
        t0 = time.perf_counter()
        rtl = {b: estimate(graph, dev, b, probe) for b in (4, 8)}
        secs = time.perf_counter() - t0
        cyc = sum(r.total["cycles"] for r in rtl.values())
        for b in (8, 4):
            for form, d in (("img2col", dev), ("band", no_ps)):
                ana = estimate(graph, d, b, transfer=form)
                sums = {k: [sum(lc.cycles[k] for lc in r.layers) for r in (rtl[b], ana)] for k in [*STEPS, "total"]}
                errs = [f"{100 * (a - r) / r:+.1f} %" for r, a in sums.values()]
                print(f"| {name} | {len(graph.layers)} | {secs:.1f} | {probe.sim_seconds:.1f} | "
                      f"{cyc / max(probe.sim_seconds, 1e-9):,.0f} | W{b}A{b} {form} | " + " | ".join(errs) + " |")
        if probe.sampled:
            print(f"  sampled layers: {probe.sampled}")


# the layer-engine run's buffers (resources.json, ohq_core); 8 post-process lanes = one word of
# 8-bit codes, what every job of this W8A8 build runs
ENGINE = dict(lanes=8, scheme="uniform", w_bits=8, a_bits=8, fmax=2048, kmax=256, pmax=256, vec_lanes=8)


def formula_bram18(cfg: RtlConfig) -> int:
    """The old count: one copy of each layer-engine buffer (Algorithm 2's view), in RAMB18s."""
    from ohq.hw.accelerator import BRAM18_BYTES

    feature = cfg.fmax * cfg.a_container // 8
    weight = 2 * 2 * cfg.kmax * cfg.w_container // 8        # 2 banks x 2 channels
    output = 2 * cfg.pmax * 4                               # 2 channels of 32-bit accumulators
    return sum(-(-b // BRAM18_BYTES) for b in (feature, weight, output))


def synth_trees() -> None:
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


def _commit() -> str:
    import subprocess

    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


def synth_products(device: str) -> None:
    """yosys of the 8-lane tree at every PRODUCT_GRID configuration of the device's family, appended
    to resources.json (`--device-data` then writes them into the device data as its table)."""
    from ohq.hw.rtl.synth import (
        FAMILY,
        PRODUCT_GRID,
        PRODUCT_LANES,
        record,
        recorded,
        script,
        source,
        synthesize,
    )
    from ohq.hw.rtl.tools import run_tool, yosys

    fam = FAMILY[get_device(device).family]
    tool = run_tool([yosys(), "-V"], "yosys -V").strip()
    done = {r["source"]: r for r in recorded("ohq_tree") if r["family"] == fam}
    note = f"commit {_commit()} sources; the per-product grid (ohq.hw.rtl.synth.PRODUCT_GRID)"
    rows = []
    print(f"\n| {fam} | yosys LUT | per product | formula | FF | DSP |\n|---|---|---|---|---|---|")
    for s, w, a in (*PRODUCT_GRID, ("uniform", 8, 8)):  # W8A8: the DSP tree shell_lut subtracts
        cfg = RtlConfig(lanes=PRODUCT_LANES, scheme=s, w_bits=w, a_bits=a)
        src = source(tool, script(cfg, fam))
        r = done.get(src) or synthesize(cfg, fam)  # a row made with today's script is not re-run
        formula = 0 if w > 4 and s == "uniform" else {"uniform": lut_mult_luts, "pot": shift_luts, "sp2": shift_add_luts}[s](w, a)
        print(f"| {s} W{w}A{a} | {r['lut']} | {r['lut'] / (2 * PRODUCT_LANES):.1f} | {formula} | {r['ff']} | {r['dsp']} |",
              flush=True)
        if src not in done:
            rows.append({**r, "note": note})
    record(rows)


def synth_engine(device: str) -> None:
    from ohq.errors import OhqError
    from ohq.hw.rtl.synth import FAMILY, check_fits, record, synthesize

    dev = get_device(device)
    cfg = RtlConfig(**ENGINE)
    r = synthesize(cfg, FAMILY[dev.family], whole=True)
    f_dsp = 2 * cfg.lanes // dsp_pack(8, dev.dsp_type)
    print(f"\nwhole engine {ENGINE}: yosys {r['cpu_s']:.0f} CPU s ({r['wall_s']:.0f} s wall)")
    print("| | LUT | FF | DSP48 | RAMB18 | LUTRAM |\n|---|---|---|---|---|---|")
    print(f"| yosys ohq_engine | {r['lut']:,} | {r['ff']:,} | {r['dsp']} | {r['ramb18']} | {r['lutram']} |")
    print(f"| formulas ({device}) | {dev.shell_lut:,} (shell_lut) | - | {f_dsp} (tree) | "
          f"{formula_bram18(cfg)} (one copy per buffer) | - |")
    print(f"source: {r['source']}")
    record([{**r, "note": f"commit {_commit()} sources; the whole engine (bench/bench_rtl.py --synth-engine)"}])
    try:
        check_fits(r, dev)
        print(f"fits {device}")
    except OhqError as e:
        print(e)


TRAIN = ("digits_cnn", "mnist_cnn", "mnist_resnet", "mnist_mobilenet_v2", "resnet18", "mobilenet_v2")
HELD_OUT = ("resnet50", "mobilenet_v3_large")


def _err_row(label: str, errs: dict) -> str:
    return f"| {label} | " + " | ".join(f"{100 * errs[k]:+.1f} %" for k in (*STEPS, "total")) + " |"


FORMS = ("img2col", "band")  # the paper's IP (the default) and the RTL's band structure (ohq.hw.dma)


def referee_heldout(device: str) -> tuple[dict, list[dict]]:
    """Fit on TRAIN, per-step error on HELD_OUT (and on TRAIN), both transfer forms, shipped
    constants vs fitted; (the band form's fit, the band sets within 5 % of the RTL on every step)."""
    import itertools

    import numpy as np

    from ohq.hw import calibrate as cal
    from ohq.hw.dma import dma_rate
    from ohq.hw.referee import LANES, collect

    dev = get_device(device)
    t0 = time.perf_counter()
    rows = collect((*TRAIN, *HELD_OUT), dev, (8, 4))
    f = cal.features(rows, dev, LANES)
    train = np.isin(f.network, TRAIN)
    shipped = cal.shipped_params(dev)
    fitted = {form: cal.fit(f, dev, train, form) for form in FORMS}
    print(f"\nreferee: {len(rows)} rows (distinct layer geometries x bits), {time.perf_counter() - t0:.0f} s; "
          f"fit on {', '.join(TRAIN)}")
    print("shipped: " + ", ".join(f"{k} = {v:g}" for k, v in shipped.items()))
    for form, p in fitted.items():
        keys = [k for k in p if form == "img2col" or k != "img2col_elems_per_cycle"]
        print(f"{form} fit: " + ", ".join(f"{k} = {p[k]:g}" for k in keys) +
              (f" (DMA rate {dma_rate(dev, p['dma_efficiency']):.2f} B/cycle: one AXI word per cycle)" if form == "band" else ""))
    print("\n| network (bits), form, constants | " + " | ".join(STEPS) + " | total |\n|---|" + "---|" * (len(STEPS) + 1))
    for net in (*HELD_OUT, "TRAIN"):
        for bits in (8, 4):
            mask = (train if net == "TRAIN" else f.network == net) & (f.bits == bits)
            for form in FORMS:
                for label, p in (("shipped", shipped), ("RTL fit", fitted[form])):
                    errs = cal.step_errors(f, cal.predict(f, dev, p, form), mask)
                    print(_err_row(f"{net} ({bits}b), {form}, {label}", errs))
    print("\nper training network, band form, RTL fit:")
    for net in TRAIN:
        for bits in (8, 4):
            mask = (f.network == net) & (f.bits == bits)
            print(_err_row(f"{net} ({bits}b), band, RTL fit", cal.step_errors(f, cal.predict(f, dev, fitted["band"], "band"), mask)))
    print("\nbit-width: INT4 / INT8 cycles per step, summed over all rows (RTL; model img2col, band; fitted)")
    preds = {form: cal.predict(f, dev, fitted[form], form) for form in FORMS}
    for k in STEPS:
        ratio = lambda v: np.sum(f.count * v * (f.bits == 4)) / np.sum(f.count * v * (f.bits == 8))  # noqa: E731
        print(f"   {k:12s} RTL {ratio(f.rtl[k]):.3f}  img2col {ratio(preds['img2col'][k]):.3f}  band {ratio(preds['band'][k]):.3f}")
    every = np.ones(len(rows), bool)
    near = []
    for eff, setup, pp in itertools.product(cal.GRID["dma_efficiency"], cal.GRID["dma_setup_cycles"],
                                            cal.GRID["postprocess_word_bits"]):
        p = {**shipped, "dma_efficiency": eff, "dma_setup_cycles": setup, "postprocess_word_bits": pp}
        errs = cal.step_errors(f, cal.predict(f, dev, p, "band"), every)
        if all(abs(errs[s]) <= 0.05 for s in cal.NONCOMPUTE):
            near.append(p)
    n = np.prod([len(cal.GRID[k]) for k in ("dma_efficiency", "dma_setup_cycles", "postprocess_word_bits")])
    rates = sorted({round(dma_rate(dev, p["dma_efficiency"]), 2) for p in near})
    print(f"\nband sets within ±5 % of the RTL on transfer, write-back and post-process (all rows): {len(near)} of {n}; "
          f"DMA rate {rates[0]}-{rates[-1]} B/cycle, set-up {min(p['dma_setup_cycles'] for p in near)}-"
          f"{max(p['dma_setup_cycles'] for p in near)}, post-process word {sorted({p['postprocess_word_bits'] for p in near})}")
    return fitted["band"], near


def paper_and_spread(device: str, band_fit: dict, near: list[dict]) -> None:
    """INT8 vs the paper with one parameter set per form, and the spread of the ratios.

    Img2Col (the default): the post-process word from the RTL fit, the DMA rate and set-up the
    RTL's DRAM model runs with (the device's), the gather and the per-layer invocation fitted to
    the paper's four INT8 latencies. Band: the RTL fit, the invocation fitted to the paper (and,
    to see whether any set rescues it, the DMA rate and set-up too).
    """
    from ohq.hw import uncertainty as unc
    from ohq.hw.calibrate import shipped_params

    dev = get_device(device)
    pf = unc.paper_features(dev)
    shipped = {**shipped_params(dev), "layer_overhead_cycles": dev.layer_overhead_cycles}
    pp = {"postprocess_word_bits": band_fit["postprocess_word_bits"]}
    dram = {"dma_efficiency": dev.dma_efficiency, "dma_setup_cycles": dev.dma_setup_cycles}
    one, worst = unc.best_set(pf, dev, {**pp, **dram})
    gather = {"img2col_elems_per_cycle": dev.img2col_elems_per_cycle}
    wide = {**unc.FINE, "dma_efficiency": tuple(round(0.3 + 0.05 * i, 2) for i in range(15)),
            "layer_overhead_cycles": tuple(range(0, 100001, 1000))}  # the band form needs more invocation
    band_one, band_worst = unc.best_set(pf, dev, {**band_fit, **gather}, wide, form="band")
    band_any, any_worst = unc.best_set(pf, dev, {**pp, **gather}, wide, form="band")
    print("\n| form, constants | " + " | ".join(pf.int8) + " | worst |\n|---|" + "---|" * (len(pf.int8) + 1))
    for label, p, form in (("img2col, shipped", shipped, "img2col"),
                           ("img2col, one set (RTL post-process + DRAM, paper gather + invocation)", one, "img2col"),
                           ("band, RTL fit + paper invocation", band_one, "band"),
                           ("band, best DMA rate, set-up and invocation for the paper", band_any, "band")):
        e = unc.int8_errors(pf, dev, p, form)
        print(f"| {label} | " + " | ".join(f"{100 * v:+.1f} %" for v in e.values()) +
              f" | {100 * max(abs(v) for v in e.values()):.1f} % |")
    print(f"img2col one set (worst {100 * worst:.1f} %): " + ", ".join(f"{k} = {v:g}" for k, v in one.items()))
    print(f"band: RTL fit + invocation {band_one['layer_overhead_cycles']} (worst {100 * band_worst:.1f} %); "
          f"best any (worst {100 * any_worst:.1f} %): " + ", ".join(f"{k} = {band_any[k]:g}" for k in
                                                              ("dma_efficiency", "dma_setup_cycles", "layer_overhead_cycles")))
    print("\n| form, parameter sets | sets | " + " | ".join(f"{n} INT4/INT8 | {n} mixed/INT8" for n in unc.RATIO_NETS) + " |")
    print("|---|---|" + "---|---|" * len(unc.RATIO_NETS))

    def row(label, sets, n, form):
        rr = unc.ratio_ranges(pf, dev, sets, form)
        cells = " | ".join(f"{rr[x]['int4'][0]:.2f}-{rr[x]['int4'][1]:.2f} | {rr[x]['mixed'][0]:.2f}-{rr[x]['mixed'][1]:.2f}"
                           for x in unc.RATIO_NETS)
        print(f"| {label} | {len(sets)} of {n} | {cells} |")

    for label, fixed in (("paper only", None), ("post-process from RTL", pp), ("post-process + DRAM from RTL", {**pp, **dram})):
        sets, n = unc.fitting_sets(pf, dev, 0.07, fixed)
        row(f"img2col, fit the paper ±7 %, {label}", sets, n, "img2col")
    for inv in (0, band_one["layer_overhead_cycles"]):
        row(f"band, within ±5 % of the RTL, invocation {inv}", [{**p, "layer_overhead_cycles": inv} for p in near],
            len(near), "band")
    for label, p, form in (("img2col shipped", shipped, "img2col"), ("img2col one set", one, "img2col"),
                           ("band RTL fit + paper invocation", band_one, "band")):
        rr = unc.ratio_ranges(pf, dev, [p], form)
        print(f"   {label}: " + ", ".join(f"{x} INT4/INT8 {rr[x]['int4'][0]:.3f}, mixed/INT8 {rr[x]['mixed'][0]:.3f}"
                                        for x in unc.RATIO_NETS))


def product_table(fam: str, tool: str) -> dict:
    """The latest recorded tree of each PRODUCT_GRID configuration, made with today's script."""
    from ohq.hw.rtl.synth import PRODUCT_GRID, PRODUCT_LANES, recorded, script, source
    from ohq.hw.synthesized import product_key

    lut = {}
    for s, w, a in PRODUCT_GRID:
        cfg = RtlConfig(lanes=PRODUCT_LANES, scheme=s, w_bits=w, a_bits=a)
        src = source(tool, script(cfg, fam))
        row = [r for r in recorded("ohq_tree") if r["family"] == fam and r["source"] == src][-1]
        lut[product_key(s, w, cfg.a_container)] = row["lut"]
    example = script(RtlConfig(lanes=PRODUCT_LANES, scheme="uniform", w_bits=4, a_bits=4), fam)
    return {"lanes": PRODUCT_LANES, "command": example.strip().replace("\n", "; ") +
            " (per row: chparam MODE/WB/AB/M1/M2 of the row, -nodsp for uniform W<=4 only)", "lut": lut}


def device_data(device: str) -> None:
    """Store the latest recorded whole-engine and 8-lane W8A8 tree runs of the device's family in
    its data file and re-derive the constants they source (ohq.hw.synthesized)."""
    from pathlib import Path

    import ohq.hw
    from ohq.hw.rtl.synth import FAMILY, recorded
    from ohq.hw.synthesized import derive

    dev = get_device(device)
    fam = FAMILY[dev.family]
    # the ENGINE configuration's lanes: other lane counts (16) measure the shell's per-lane cost
    eng = [r for r in recorded("ohq_engine") if r["family"] == fam and r["lanes"] == ENGINE["lanes"]][-1]
    tree = [r for r in recorded("ohq_tree") if r["family"] == fam and r["lanes"] == eng["lanes"]
            and (r["scheme"], r["w_bits"], r["a_bits"]) == ("uniform", 8, 8)][-1]
    tool, _, _ = eng["source"].partition("; ")
    block = {"tool": tool}
    for name, r in (("engine", eng), ("tree", tree)):
        block[name] = {k: r[k] for k in ("unit", "lanes", "lut", "ff", "dsp", "ramb18")}
        block[name]["command"] = r["source"].partition("; ")[2]
    block["products"] = product_table(fam, tool)
    path = Path(ohq.hw.__file__).parent / "devices" / f"{dev.part}.json"
    doc = json.loads(path.read_text())
    doc["synthesis"] = block
    for k, v in derive(replace(dev, synthesis=block)).items():
        doc["constants"][k] = {
            "value": v, "unit": "LUT6", "kind": "synthesized",
            "source": f"yosys synth_xilinx -family {fam} (this file's synthesis block): the "
                      f"{eng['lanes']}-lane ohq_engine's {eng['lut']:,} LUT less its ohq_tree's "
                      f"{tree['lut']:,}: DMA, Img2Col, buffer logic, post-processing unit, control"}
        print(f"{dev.part}: {k} = {v:,}")
    path.write_text(json.dumps(doc, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="xc7z020")
    ap.add_argument("--models", default="digits_cnn,mnist_cnn,mnist_resnet,mnist_mobilenet_v2")
    ap.add_argument("--synth", action="store_true")
    ap.add_argument("--synth-products", action="store_true", help="the tree per PRODUCT_GRID row (~10 CPU-min)")
    ap.add_argument("--synth-engine", action="store_true", help="the whole engine (~10 CPU-min)")
    ap.add_argument("--device-data", action="store_true", help="write the yosys rows into the device data")
    ap.add_argument("--skip-bitexact", action="store_true")
    ap.add_argument("--skip-probe", action="store_true")
    ap.add_argument("--referee", action="store_true")
    args = ap.parse_args()
    if not args.skip_bitexact:
        bitexact()
    if not args.skip_probe:
        referee(args.device, args.models.split(","))
    if args.synth:
        synth_trees()
    if args.synth_products:
        synth_products(args.device)
    if args.synth_engine:
        synth_engine(args.device)
    if args.device_data:
        device_data(args.device)
    if args.referee:
        paper_and_spread(args.device, *referee_heldout(args.device))


if __name__ == "__main__":
    main()
