"""Figures of the co-design issue (seeds 000, 004): run `python bench/bench_codesign.py [--quick]`.

1. mnist_resnet, mnist_mobilenet_v2 on xc7z020: off-chip bytes and latency, Img2Col vs auto.
2. ResNet-18/50, MobileNetV2 at 224 (hardware only): dataflow per layer, traffic saved, size vs FP32
   for a mixed 4/8 plan (OQA-only ILP at size ratio 0.5) with 50 % / 75 % unstructured pruning.
3. PR on mixed plans (four ImageNet networks + shipped models): fixed / PR / ping-pong, swaps;
   the ILP's plan against the PR-aware ILP's (per-switch penalty).
4. mnist_resnet: ILP vs BO (TPE) vs random at equal trial counts and at the ILP's CPU seconds;
   4b: the smallest whole-model-in-BRAM configuration BO finds with validation loss <= 0.5 %
   (scored on the validation split; top-1 reported on MNIST test, PTQ).
5. mnist_cnn: every layer pruned 50 % / 75 % (unstructured) at W8 and W4, PTQ vs QAT that keeps
   the pruned zeros (`ohq.train.qat(masks=...)`).
6. mnist_resnet, mnist_mobilenet_v2: the whole model in BRAM at uniform bits x sparsity, BRAM18K,
   size, latency and top-1 loss, PTQ and QAT. `--only=5,6` runs only those sections,
   `--models=mnist_resnet` only that model in section 6, `--hw-only` its hardware figures only,
   `--configs=5:0.35` other (bits:sparsity) points, PTQ only.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from ohq.graph import layer_graph
from ohq.hw.dataflow import WeightStore
from ohq.hw.onchip import dataflow_report
from ohq.hw.pr import pr_plan, reconfig_ms
from ohq.hw.table import allocation_table
from ohq.hw.target import FpgaModel
from ohq.models import create_model, load_model
from ohq.quant.prune import layer_masks
from ohq.search import omega, paper_objective, solve
from ohq.search.pr_ilp import solve_pr

DEV = "xc7z020"
IMAGENET = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large")


def graph_of(name):
    if name.startswith(("mnist", "digits")):
        loaded = load_model(name)
        return loaded.model, layer_graph(loaded.model, loaded.input_shape)
    model = create_model(name)
    return model, layer_graph(model, (1, 3, 224, 224))


def oqa_plan(model, graph, pr=False):
    """OQA-only (beta = 0) Eq. 11 at size ratio 0.5, optionally with the per-switch penalty."""
    table, costs = allocation_table(model, graph, FpgaModel(DEV), (4, 8))
    cycles = [costs[n][8].cycles["total"] for n in graph.names]
    energy = [costs[n][8].energy_mj for n in graph.names]
    value = paper_objective(omega(np.zeros(len(cycles)), cycles, energy, 0.0, 0.5), (4, 8))
    budget = {"size_mib": table.size_from_ratio(0.5)}
    if pr:
        from ohq.hw import get_device

        return solve_pr(table, value, budget, reconfig_ms(get_device(DEV))).bits
    return solve(table, value, budget).bits


def stores_for(model, graph, bits, sparsity):
    masks = layer_masks(model, dict.fromkeys(graph.names, sparsity)) if sparsity else {}
    out = {}
    for lay in graph.layers:
        if lay.name in masks:
            fmt, nbits = masks[lay.name].storage(bits[lay.name])
            out[lay.name] = WeightStore(nbits, masks[lay.name].density, 1.0, fmt)
    return out


def figure_dataflow(names):
    print("\n1/2. Off-chip bytes and latency, INT8, Img2Col only vs auto dataflow (xc7z020)")
    print(f"   {'model':20s} {'Img2Col MB':>10s} {'auto MB':>8s} {'saved':>6s} {'Img2Col ms':>10s} {'auto ms':>8s}  layers img2col/row/frame")
    for name in names:
        _, graph = graph_of(name)
        base, auto = dataflow_report(graph, DEV, 8, mode="img2col"), dataflow_report(graph, DEV, 8)
        b, a = base.totals, auto.totals
        by = a["by_dataflow"]
        print(f"   {name:20s} {b['dram_bytes'] / 1e6:10.3f} {a['dram_bytes'] / 1e6:8.3f} "
              f"{1 - a['dram_bytes'] / b['dram_bytes']:6.1%} {b['latency_ms']:10.2f} {a['latency_ms']:8.2f}  "
              f"{by['img2col']}/{by['row']}/{by['frame']}")
        if name in ("resnet18", "mobilenet_v2"):
            picks = [f"{lay.name}:{c.dataflow[0]}" for lay, c in zip(graph.layers, auto.layers, strict=True)]
            print("      " + " ".join(picks))


def figure_size(names):
    print("\n2b. Model size vs FP32 (weights + 32-bit biases), mixed 4/8 OQA plan, sparse storage")
    for name in names:
        model, graph = graph_of(name)
        bits = oqa_plan(model, graph)
        n_w = {lay.name: dict(model.named_modules())[lay.name].weight.numel() for lay in graph.layers}
        fp32 = sum(n_w.values()) * 32
        row = [f"{name:20s}"]
        for s in (0.0, 0.5, 0.75):
            st = stores_for(model, graph, bits, s)
            total = sum(st[n].bits if n in st else n_w[n] * bits[n] for n in graph.names)
            row.append(f"sparsity {s:.2f}: {fp32 / total:5.2f}x")
        print("   " + "   ".join(row))


def figure_pr(names):
    print("\n3. PR on mixed 4/8 plans (xc7z020): latency ms fixed / PR / ping-pong, reconfigurations")
    for name in names:
        model, graph = graph_of(name)
        for label, pr in (("ILP", False), ("PR-ILP", True)):
            p = pr_plan(graph, oqa_plan(model, graph, pr), DEV)
            print(f"   {name:20s} {label:7s} fixed {p.latency_static_ms:8.2f}  PR {p.latency_pr_ms:8.2f}  "
                  f"ping-pong {p.latency_pingpong_ms:8.2f}  swaps {p.reconfigurations:3d}  groups {len(p.groups)}")


def _timed(fn, *args):
    """(result, wall s, CPU s of this process): CPU seconds compare fairly on a loaded machine."""
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def _search_setup(test_n: int, **request):
    from ohq.pipeline import Request, prepare
    from ohq.search.bo_alloc import _accuracy

    prep = prepare(Request("mnist_resnet", data="mnist", calib=128, samples=16, **request))
    prep.test = type(prep.test)(prep.test.x[:test_n], prep.test.y[:test_n], prep.test.name, "test", 10)
    return prep, _accuracy(prep.model, prep.test)


def _search_row(prep, fp32, label, bits, sp, wall, cpu, fit=False):
    """Top-1 on the test subset (the only place the test split is read), size, latency, BRAM."""
    from ohq.codesign import CodesignOptions, _fit_report, _size_mib, stores
    from ohq.quant import quantize
    from ohq.quant.prune import prune_model
    from ohq.search.bo_alloc import _accuracy

    pruned = {k: v for k, v in sp.items() if v > 0}
    model = prune_model(prep.model, pruned, calib=prep.calib)[0] if pruned else prep.model
    acc = _accuracy(quantize(model, prep.plan(bits), prep.calib), prep.test)
    size = _size_mib(prep, stores(prep, bits, sp, "unstructured"))
    t = _fit_report(prep, bits, sp, CodesignOptions(fit_bram=fit)).totals
    load = os.getloadavg()[0]
    print(f"   {label:28s} top-1 {acc:.2%} (loss {fp32 - acc:+.2%})  size {size:.4f} MiB  "
          f"latency {t['latency_ms']:.3f} ms  energy {t['energy_mj']:.3f} mJ  BRAM18K {t['bram18k_used']} "
          f"(left {t['bram18k_left']})  search {wall:.1f} s wall / {cpu:.1f} s CPU (load {load:.1f})  "
          f"mean sparsity {np.mean(list(sp.values())) if sp else 0:.2f}", flush=True)


def figure_search(trials: int, val: int, test_n: int):
    """ILP vs BO vs random at one size budget: equal trial counts, then BO/random given the ILP's
    CPU seconds (sensitivity + solve) at their own measured CPU seconds per trial."""
    from ohq.codesign import CodesignOptions
    from ohq.search.bo_alloc import allocate_bo

    print(f"\n4. mnist_resnet: ILP vs BO vs random ({trials} trials, {val} validation images per trial, "
          f"top-1 on the first {test_n} MNIST test images)")
    prep, fp32 = _search_setup(test_n, size_ratio=0.5)
    budgets = prep.budgets()
    print(f"   FP32 top-1 {fp32:.2%}; size budget {budgets['size_mib']:.4f} MiB")
    (alloc, _), ilp_w, ilp_c = _timed(lambda: prep.allocate(prep.sensitivity("mqe"), budgets))
    _search_row(prep, fp32, "ILP (MQE sensitivity)", alloc.bits, {}, ilp_w, ilp_c)
    per_trial = {}
    for search in ("bo", "random"):
        opts = CodesignOptions(search=search, trials=trials, val=val, sparsity=0.0, lam=0.0)
        a, w, c = _timed(allocate_bo, prep, budgets, opts)
        per_trial[search] = c / trials
        _search_row(prep, fp32, f"{search} ({trials} trials)", a.bits, a.extra["sparsity"], w, c)
    for search in ("bo", "random"):
        equal = max(1, int(ilp_c / per_trial[search]))
        opts = CodesignOptions(search=search, trials=equal, val=val, sparsity=0.0, lam=0.0, study=f"eq-{search}")
        a, w, c = _timed(allocate_bo, prep, budgets, opts)
        _search_row(prep, fp32, f"{search} at ILP CPU time ({equal} tr.)", a.bits, a.extra["sparsity"], w, c)


def figure_search_fit(trials: int, val: int, test_n: int):
    """The whole model in BRAM: BO's smallest size at <= 0.5 % validation loss, bits 3-8."""
    from ohq.codesign import CodesignOptions, _fit_report
    from ohq.search.bo_alloc import allocate_bo

    print(f"\n4b. mnist_resnet: BO fit-BRAM, bits 3-8, {trials} trials, {val} validation images per trial, "
          f"top-1 on the first {test_n} MNIST test images")
    wide, fp32 = _search_setup(test_n, bits=(3, 4, 5, 6, 8), size_ratio=None, size_mib=1.0)
    full, fp32_full = _search_setup(10000, bits=(3, 4, 5, 6, 8), size_ratio=None, size_mib=1.0)
    print(f"   FP32 top-1 {fp32:.2%} ({fp32_full:.2%} on 10,000 test images, as section 6)")
    for sparsity in (0.0, 0.5):
        opts = CodesignOptions(search="bo", trials=trials, val=val, sparsity=sparsity, fit_bram=True,
                               max_loss=0.005)
        a, w, c = _timed(allocate_bo, wide, {}, opts)
        print(f"   val top-1 {a.extra['bo']['val_top1']:.2%} (FP32 {a.extra['bo']['val_top1_fp32']:.2%})")
        _search_row(wide, fp32, f"BO fit-BRAM s<={sparsity}", a.bits, a.extra["sparsity"], w, c, fit=True)
        _search_row(full, fp32_full, "  same plan, 10,000 test", a.bits, a.extra["sparsity"], w, c, fit=True)
        ddr = _fit_report(wide, a.bits, a.extra["sparsity"], CodesignOptions()).totals
        print(f"   same plan, weights from DDR: {ddr['latency_ms']:.3f} ms, {ddr['energy_mj']:.4f} mJ; plan "
              + " ".join(f"{n}:{a.bits[n]}/{a.extra['sparsity'][n]:.1f}" for n in wide.graph.names), flush=True)


def _prepared(name: str, test_n: int):
    from ohq.pipeline import Request, prepare

    prep = prepare(Request(name, data="mnist", size_ratio=0.5, calib=128, samples=16))
    prep.test = type(prep.test)(prep.test.x[:test_n], prep.test.y[:test_n], prep.test.name, "test", 10)
    return prep


def _train_split(prep, n: int):
    from ohq.data import load_dataset

    train = load_dataset("mnist", "train", prep.normalize)
    return type(train)(train.x[:n], train.y[:n], train.name, "train", 10)


def _ptq_and_qat(prep, bits, sparsity, train, epochs, qat_too=True):
    """(PTQ top-1, QAT top-1 or None) of `bits` with every layer pruned at `sparsity`; checks that
    QAT kept every pruned weight at zero."""
    from ohq.quant import quantize
    from ohq.quant.prune import apply_masks
    from ohq.search.bo_alloc import _accuracy
    from ohq.train import qat

    plan = prep.plan(bits)
    masks = {n: m.mask for n, m in layer_masks(prep.model, dict.fromkeys(bits, sparsity)).items()} if sparsity else {}
    ptq = _accuracy(quantize(apply_masks(prep.model, masks, prep.calib), plan, prep.calib), prep.test)
    if not qat_too:
        return ptq, None
    qm = qat(prep.model, plan, train, epochs=epochs, lr=1e-3, calib=prep.calib, masks=masks)
    for n, m in masks.items():
        assert bool((qm.layers[n].codes[~m] == 0).all()), f"{n}: a pruned weight moved"
    return ptq, _accuracy(qm, prep.test)


def figure_prune_qat(name: str, train_n: int, epochs: float, test_n: int):
    from ohq.search.bo_alloc import _accuracy

    prep = _prepared(name, test_n)
    train = _train_split(prep, train_n)
    fp32 = _accuracy(prep.model, prep.test)
    print(f"\n5. {name}: every layer pruned (unstructured), PTQ vs QAT ({epochs} epoch(s) on the first "
          f"{train_n} train images, Adam lr 1e-3); top-1 on the first {test_n} MNIST test images, FP32 {fp32:.2%}")
    for b in (8, 4):
        for s in (0.5, 0.75):
            t0 = time.perf_counter()
            ptq, q = _ptq_and_qat(prep, dict.fromkeys(prep.graph.names, b), s, train, epochs)
            print(f"   W{b}A8 sparsity {s:.2f}: PTQ {ptq:.2%} (loss {fp32 - ptq:+.2%})  QAT {q:.2%} "
                  f"(loss {fp32 - q:+.2%})  {time.perf_counter() - t0:.0f} s", flush=True)


def figure_fit_bram(name: str, train_n: int, epochs: float, test_n: int, configs, qat_max: int = 3,
                    hw_only: bool = False):
    """The whole model in BRAM on xc7z020: uniform bits x sparsity, BRAM18K and top-1 loss, PTQ,
    then QAT for the smallest configurations PTQ leaves above 0.5 % loss."""
    from ohq.codesign import CodesignOptions, _fit_report, _size_mib, stores
    from ohq.hw.onchip import FitBramError
    from ohq.search.bo_alloc import _accuracy

    prep = _prepared(name, test_n)
    train = _train_split(prep, train_n)
    fp32 = float("nan") if hw_only else _accuracy(prep.model, prep.test)
    print(f"\n6. {name}: whole model in BRAM (xc7z020, activations at the weight bits), top-1 on the first {test_n} MNIST test images "
          f"(FP32 {fp32:.2%}); QAT {epochs} epoch(s) on the first {train_n} train images", flush=True)
    rows = []
    for b, s in configs:
        bits = dict.fromkeys(prep.graph.names, b)
        sp = dict.fromkeys(prep.graph.names, s)
        try:
            rep = _fit_report(prep, bits, sp, CodesignOptions(fit_bram=True))
        except FitBramError as exc:
            print(f"   W{b} s{s:.2f}: does not fit ({exc})")
            continue
        size = _size_mib(prep, stores(prep, bits, sp, "unstructured"))
        ddr = _fit_report(prep, bits, sp, CodesignOptions()).totals  # same plan, weights from DDR
        t = rep.totals
        print(f"   W{b} s{s:.2f}: BRAM18K {t['bram18k_used']} (left {t['bram18k_left']})  size {size:.4f} MiB  "
              f"resident: DDR {t['dram_bytes'] / 1e3:.1f} KB, {t['latency_ms']:.3f} ms, {t['energy_mj']:.4f} mJ; "
              f"weights from DDR: {ddr['dram_bytes'] / 1e3:.1f} KB, {ddr['latency_ms']:.3f} ms, "
              f"{ddr['energy_mj']:.4f} mJ", flush=True)
        if hw_only:
            continue
        ptq, _ = _ptq_and_qat(prep, bits, s, train, epochs, qat_too=False)
        rows.append((b, s, size, t, ptq))
        print(f"   W{b} s{s:.2f}: PTQ {ptq:.2%} (loss {fp32 - ptq:+.2%})", flush=True)
    over = sorted((r for r in rows if fp32 - r[4] > 0.005), key=lambda r: r[2])[:qat_max]
    for b, s, size, t, ptq in over:
        t0 = time.perf_counter()
        _, q = _ptq_and_qat(prep, dict.fromkeys(prep.graph.names, b), s, train, epochs)
        print(f"   W{b} s{s:.2f} + QAT: {q:.2%} (loss {fp32 - q:+.2%}; PTQ {ptq:.2%})  BRAM18K "
              f"{t['bram18k_used']}  size {size:.4f} MiB  {time.perf_counter() - t0:.0f} s", flush=True)


# 25 % pruning at 5 bits: the one pruned point whose bitmask storage (0.75 x 5 + 1 bits) is under 5-bit dense
FIT_CONFIGS = ((8, 0.0), (6, 0.0), (5, 0.0), (4, 0.0), (8, 0.5), (6, 0.5), (5, 0.5), (4, 0.5), (5, 0.25))


def main() -> None:
    quick = "--quick" in sys.argv
    only = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")]  # e.g. --only=5,6
    sections = set(only[0].split(",")) if only else {"1", "2", "3", "4", "4b", "5", "6"}
    if "--no-search" in sys.argv:
        sections -= {"4", "4b", "5", "6"}
    if sections & {"1", "2"}:
        figure_dataflow(("mnist_resnet", "mnist_mobilenet_v2", "resnet18", "resnet50", "mobilenet_v2"))
        figure_size(("resnet18", "resnet50", "mobilenet_v2"))
    if "3" in sections:
        figure_pr(("mnist_resnet", "mnist_mobilenet_v2") + (IMAGENET[:1] if quick else IMAGENET))
    if "4" in sections:
        figure_search(6 if quick else 16, 300 if quick else 500, 1000 if quick else 2000)  # as in docs/codesign.md
    if "4b" in sections:
        figure_search_fit(6 if quick else 40, 300 if quick else 2000, 1000 if quick else 2000)
    if "5" in sections:
        figure_prune_qat("mnist_cnn", 2000 if quick else 10000, 1.0, 1000 if quick else 10000)
    if "6" in sections:
        # mobilenet (slow on CPU): QAT of the smallest failing configuration only; --models=a,b picks
        models = [a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--models=")]
        extra = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--configs=")]  # e.g. 5:0.35,4:0.25
        configs = tuple((int(c.split(":")[0]), float(c.split(":")[1])) for c in extra[0].split(",")) if extra else None
        for name, train_n, test_n, qat_max in (("mnist_resnet", 4096, 10000, 3), ("mnist_mobilenet_v2", 2048, 2000, 1)):
            if models and name not in models[0]:
                continue
            grid = configs or (FIT_CONFIGS[::4] if quick else FIT_CONFIGS)
            figure_fit_bram(name, 1024 if quick else train_n, 1.0, 500 if quick else test_n, grid,
                            0 if configs else qat_max, "--hw-only" in sys.argv)

if __name__ == "__main__":
    main()
