"""Figures of the hardware model (issue "Hardware awareness"): run `python bench/bench_hw.py`.

1. INT8 latency on xc7z020 against the OHQ paper (Table 1), one parameter set.
2. INT4 / INT8 and mixed 4/8 / INT8 latency ratios (mixed: the largest layers, half the weights,
   at 4 bits, as a size-constrained ILP tends to choose).
3. PoT on the SVPE vs the 16-bit MAC array at an equal DSP budget, AlexNet W3A16 on zcu102 (n-BQ-NN: 2.9x).
4. Balanced SP2 share rho per device; layer-wise PR cost of the mixed ResNet-18 plan.
5. How long the model takes: ResNet-50, every layer at six bit-widths.
"""

from __future__ import annotations

import time

from ohq.graph import LayerGraph
from ohq.hw import balanced_sp2_share, cost_table, estimate, get_device, list_devices, pr_schedule
from ohq.hw.fidelity import fidelity_table, reference, svpe_comparison, zoo_graph
from ohq.hw.uncertainty import half_params_at_4


def cycle_aware_plan(graph: LayerGraph, size_mib: float) -> dict:
    """4 bits for the layers that save most cycles per MiB until the weights fit `size_mib`
    (a greedy stand-in for the OQA-aware ILP; all layers at 4 bits if even that is too big)."""
    table = cost_table(graph, "xc7z020", (4, 8))
    plan = dict.fromkeys(graph.names, 8)
    size = graph.total_params / 2**20  # INT8 MiB
    gain = {n: (table[n][8].cycles["total"] - table[n][4].cycles["total"]) / max(graph[n].params, 1)
            for n in graph.names}
    for name in sorted(graph.names, key=lambda n: -gain[n]):
        if size <= size_mib:
            break
        plan[name] = 4
        size -= graph[name].params / 2 / 2**20
    return plan


def main() -> None:
    ref = reference()
    graphs = {name: zoo_graph(name) for name in ref["int8_latency_ms"]}
    print(f"1. INT8 batch-1 latency on {ref['device']} (paper: {ref['source']})")
    print(f"   {'model':20s} {'paper ms':>9s} {'model ms':>9s} {'error':>7s}")
    for row in fidelity_table(graphs):
        print(f"   {row.model:20s} {row.paper_ms:9.1f} {row.model_ms:9.1f} {row.error:+7.1%}")

    print("\n2. Latency ratios vs INT8 on xc7z020 (paper: mixed 4/8 rows of Table 1)")
    print(f"   {'model':20s} {'INT4/INT8':>9s} {'half@4/INT8':>11s} {'at paper size':>13s} "
          f"{'paper mixed/INT8':>16s}")
    for name, graph in graphs.items():
        int8 = estimate(graph, "xc7z020", 8).total["latency_ms"]
        int4 = estimate(graph, "xc7z020", 4).total["latency_ms"]
        mixed = estimate(graph, "xc7z020", half_params_at_4(graph)).total["latency_ms"]
        sized = estimate(graph, "xc7z020", cycle_aware_plan(graph, ref["mixed_size_mib"][name]))
        paper = ref["mixed_latency_ms"][name] / ref["int8_latency_ms"][name]
        print(f"   {name:20s} {int4 / int8:9.2f} {mixed / int8:11.2f} "
              f"{sized.total['latency_ms'] / int8:13.2f} {paper:16.2f}")
    print("   half@4: largest layers at 4 bits up to half the weights; at paper size: cycle-aware "
          "greedy 4/8 plan within the paper's mixed model size (Table 1)")

    c = svpe_comparison("zcu102", "alexnet")
    print("\n3. AlexNet on zcu102, equal DSP budget: W16A16 on the DSP MAC array vs W3A16 PoT on the SVPE")
    print(f"   MAC array {c.mac_ms:.2f} ms, SVPE {c.svpe_ms:.2f} ms: {c.speedup:.2f}x faster "
          f"(n-BQ-NN measured 2.9x); = ohq hw -m alexnet --device zcu102 --scheme uniform --bits 16 / "
          f"--scheme pot --bits 3 --a-bits 16")
    print(f"   against n-BQ-NN's VPE (k^2 + k DSPs per k^2 MACs): {c.vpe_ms:.2f} ms, {c.speedup_vs_vpe:.2f}x")

    print("\n4. Balanced SP2 row share rho = P_LUT / (P_LUT + P_DSP), W4A8")
    for part in list_devices():
        print(f"   {part:22s} rho = {balanced_sp2_share(part):.3f}")
    r18 = estimate(graphs["resnet18"], "xc7z020", half_params_at_4(graphs["resnet18"]))
    s = pr_schedule(r18.layers, get_device("xc7z020"))
    print(f"   layer-wise PR, ResNet-18 half@4 on xc7z020: {len(s.groups)} modules, "
          f"{s.reconfig_ms:.2f} ms per reconfiguration; static {s.latency_static_ms:.1f} ms, "
          f"one region {s.latency_pr_ms:.1f} ms, ping-pong {s.latency_pingpong_ms:.1f} ms")

    r50 = graphs["resnet50"]
    start = time.perf_counter()
    repeats = 5
    for _ in range(repeats):
        cost_table(r50, "xc7z020", (2, 3, 4, 5, 6, 8))
    per = (time.perf_counter() - start) / repeats
    print(f"\n5. Model time: ResNet-50, {len(r50.layers)} layers x 6 bit-widths: {per * 1e3:.1f} ms "
          f"({per / (6 * len(r50.layers)) * 1e6:.0f} us per layer and bit-width)")


if __name__ == "__main__":
    main()
