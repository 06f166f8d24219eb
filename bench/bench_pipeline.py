"""Figures of the pipeline issue: run `python bench/bench_pipeline.py [--quick]`.

1. Table 1 and Table 3 style tables (`ohq compare`) for mnist_resnet and mnist_mobilenet_v2.
2. Hardware columns at 224x224 on xc7z020 for ResNet-18/50, MobileNetV2, MobileNetV3-Large:
   size, latency and energy at W8A8, W4A8 and at the OQA allocation for size ratio 0.5
   (these ImageNet models are untrained here, so only their hardware figures mean anything).
3. ILP solve time for ResNet-50 with bits {2,3,4,5,6,8} and size + latency + energy budgets at once.
4. Wall time of every pipeline stage (the demo request).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ohq.compare import compare
from ohq.graph import layer_graph
from ohq.hw.table import allocation_table
from ohq.hw.target import FpgaModel
from ohq.models import create_model
from ohq.pipeline import Request, run_pipeline
from ohq.quant import QuantSpec, quantize_weight
from ohq.search import omega, paper_objective, sensitivity_penalty, solve

ZOO = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large")


def pct(v):
    return "   —  " if v is None else f"{100 * v:6.2f}"


def tables(model: str) -> None:
    result = compare(Request(model, data="mnist", size_ratio=0.5))
    print(f"\nTable 1 — {model}, mnist, xc7z020, size ratio 0.5")
    print(f"{'method':34s} {'W/A':6s} {'data':28s} {'MiB':>8s} {'ms':>8s} {'top-1':>7s}")
    for r in result.table1:
        lat = "—" if r.latency_ms is None else f"{r.latency_ms:.3f}"
        print(f"{r.method:34s} {r.wa:6s} {r.data:28s} {r.size_mib:8.4f} {lat:>8s} {pct(r.top1)}")
    print(f"\nTable 3 — {model} ablation")
    print(f"{'r':>5s} {'method':18s} {'MiB':>8s} {'ms':>8s} {'top-1':>7s}")
    for r in result.table3:
        print(f"{r.ratio:5.2f} {r.method:18s} {r.size_mib:8.4f} {r.latency_ms:8.3f} {pct(r.top1)}")
    print("sensitivity seconds:", {k: round(v, 1) for k, v in result.seconds.items()})


def hardware_columns() -> None:
    print("\nHardware columns, 1x3x224x224 on xc7z020 (OQA: β = 0, size ratio 0.5, W/A */*)")
    print(f"{'model':20s} {'plan':6s} {'MiB':>8s} {'ms':>8s} {'mJ':>8s}")
    for name in ZOO:
        model = create_model(name).eval()
        graph = layer_graph(model, (1, 3, 224, 224))
        table, costs = allocation_table(model, graph, FpgaModel("xc7z020"), (4, 8))
        cycles = [costs[n][8].cycles["total"] for n in graph.names]
        energy = [costs[n][8].energy_mj for n in graph.names]
        om = omega(np.zeros(len(graph.names)), cycles, energy, beta=0.0)
        alloc = solve(table, paper_objective(om, (4, 8)), {"size_mib": table.size_from_ratio(0.5)})
        for label, bits in (("W8A8", dict.fromkeys(graph.names, 8)), ("W4A4", dict.fromkeys(graph.names, 4)),
                            ("OQA", alloc.bits)):
            print(f"{name:20s} {label:6s} {table.total('size_mib', bits):8.3f} "
                  f"{table.total('latency_ms', bits):8.2f} {table.total('energy_mj', bits):8.2f}")


def ilp_resnet50() -> None:
    bits = (2, 3, 4, 5, 6, 8)
    model = create_model("resnet50").eval()
    graph = layer_graph(model, (1, 3, 224, 224))
    start = time.perf_counter()
    table, _ = allocation_table(model, graph, FpgaModel("xc7z020"), bits)
    hw_ms = (time.perf_counter() - start) * 1e3
    mods = dict(model.named_modules())
    err = np.array([[float((w - quantize_weight(w, QuantSpec(b, None))).pow(2).sum() / w.pow(2).sum())
                     for b in bits] for w in (mods[n].weight.detach() for n in graph.names)])
    value = -sensitivity_penalty(np.ones(len(graph.names)), err, np.full(len(graph.names), 0.5))
    budgets = {"size_mib": table.uniform_total("size_mib", 5), "latency_ms": table.uniform_total("latency_ms", 6),
               "energy_mj": table.uniform_total("energy_mj", 6)}
    alloc = solve(table, value, budgets)
    hist = {b: list(alloc.bits.values()).count(b) for b in bits}
    print(f"\nILP, ResNet-50 ({len(graph.names)} layers) x bits {bits}, size+latency+energy budgets: "
          f"solved in {alloc.solve_ms:.1f} ms (cost table {hw_ms:.0f} ms); bits histogram {hist}")


def stage_times() -> None:
    start = time.perf_counter()
    result = run_pipeline(Request("mnist_resnet", data="mnist", device="xc7z020", size_ratio=0.5))
    total = time.perf_counter() - start
    print(f"\nPipeline stages (demo request, mnist_resnet): total {total:.1f} s")
    for k, v in result.seconds.items():
        print(f"  {k:12s} {v:7.2f} s")
    print(f"  top-1 fp32 {pct(result.top1['fp32'])}  int8 {pct(result.top1['int8'])}  mixed {pct(result.top1['mixed'])}")


if __name__ == "__main__":
    stage_times()
    ilp_resnet50()
    hardware_columns()
    if "--quick" not in sys.argv:
        for m in ("mnist_resnet", "mnist_mobilenet_v2"):
            tables(m)
