"""What the paper's four INT8 latencies leave open: the parameter sets that fit them, and the spread
of INT4/INT8 and mixed/INT8 across those sets (docs/hardware.md § Uncertainty).

Each network is reduced to structural features once (`ohq.hw.calibrate.features`, the device's own
engine), so a parameter set costs one array evaluation. `GRID` spans the five non-compute
constants; a set *fits* when all four modelled INT8 latencies are within `tol` of the paper's.
Fixing the constants the RTL determines (the Img2Col gather rate and the post-process word) to
their RTL fit leaves the DMA rate, the set-up and the per-layer invocation free. The latency
functions take the transfer `form` (`ohq.hw.cost.TRANSFERS`; the paper's `img2col` by default).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ohq.graph import LayerGraph
from ohq.hw.calibrate import Features, features, predict
from ohq.hw.cost import STEPS
from ohq.hw.device import Device
from ohq.hw.fidelity import reference, zoo_graph
from ohq.hw.referee import Row

GRID = {
    "dma_efficiency": (0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0),
    "dma_setup_cycles": (100, 200, 400),
    "img2col_elems_per_cycle": (4, 5, 6, 8, 12, 16, 32, 1e9),
    "postprocess_word_bits": (8, 16, 32, 64),
    "layer_overhead_cycles": tuple(range(5000, 30001, 2500)),
}
RATIO_NETS = ("resnet18", "mobilenet_v2")


def half_params_at_4(graph: LayerGraph) -> dict[str, int]:
    """4 bits for the largest layers until half the weights are 4-bit, 8 bits elsewhere."""
    plan, acc = {}, 0
    for layer in sorted(graph.layers, key=lambda x: -x.params):
        plan[layer.name] = 4 if acc < graph.total_params / 2 else 8
        acc += layer.params if plan[layer.name] == 4 else 0
    return plan


def _rows(graph: LayerGraph, name: str, bits_of) -> list[Row]:
    zero = dict.fromkeys((*STEPS, "total"), 0)
    return [Row(name, lay, 1, bits_of(lay.name), zero) for lay in graph.layers]


@dataclass
class PaperFeatures:
    """INT8 features of the paper's networks, and INT4 / half-at-4 features of `RATIO_NETS`."""

    int8: dict[str, Features]
    int4: dict[str, Features]
    mixed: dict[str, Features]


def paper_features(device: Device) -> PaperFeatures:
    ref = reference()
    graphs = {n: zoo_graph(n) for n in ref["int8_latency_ms"]}
    int8 = {n: features(_rows(g, n, lambda _: 8), device) for n, g in graphs.items()}
    int4 = {n: features(_rows(graphs[n], n, lambda _: 4), device) for n in RATIO_NETS}
    mixed = {}
    for n in RATIO_NETS:
        plan = half_params_at_4(graphs[n])
        mixed[n] = features(_rows(graphs[n], n, plan.__getitem__), device)
    return PaperFeatures(int8, int4, mixed)


def latency_ms(f: Features, device: Device, p: dict, form: str = "img2col") -> float:
    """Batch-1 latency of the network `f` describes under parameter set `p` and transfer `form`."""
    pred = predict(f, device, p, form)
    return float(sum(pred[s].sum() for s in STEPS) / device.clock_hz * 1e3)


def int8_errors(pf: PaperFeatures, device: Device, p: dict, form: str = "img2col") -> dict[str, float]:
    """Modelled / paper INT8 latency - 1 per network."""
    ref = reference()["int8_latency_ms"]
    return {n: latency_ms(f, device, p, form) / ref[n] - 1 for n, f in pf.int8.items()}


def fitting_sets(pf: PaperFeatures, device: Device, tol: float = 0.07, fixed: dict | None = None,
                 grid: dict | None = None, form: str = "img2col") -> tuple[list[dict], int]:
    """(the grid's parameter sets within `tol` on all four INT8 latencies, sets tried)."""
    grid = {**(grid or GRID), **{k: (v,) for k, v in (fixed or {}).items()}}
    keys = list(grid)
    combos = list(itertools.product(*grid.values()))
    keep = []
    for values in combos:
        p = dict(zip(keys, values, strict=True))
        if max(abs(e) for e in int8_errors(pf, device, p, form).values()) <= tol:
            keep.append(p)
    return keep, len(combos)


def ratio_ranges(pf: PaperFeatures, device: Device, sets: list[dict],
                 form: str = "img2col") -> dict[str, dict[str, tuple]]:
    """{network: {"int4": (min, max), "mixed": (min, max)}} of latency / INT8 latency across `sets`."""
    out = {}
    for n in RATIO_NETS:
        r4, rm = [], []
        for p in sets:
            base = latency_ms(pf.int8[n], device, p, form)
            r4.append(latency_ms(pf.int4[n], device, p, form) / base)
            rm.append(latency_ms(pf.mixed[n], device, p, form) / base)
        out[n] = {"int4": (float(np.min(r4)), float(np.max(r4))) if sets else (np.nan, np.nan),
                  "mixed": (float(np.min(rm)), float(np.max(rm))) if sets else (np.nan, np.nan)}
    return out


def fit_overhead(pf: PaperFeatures, device: Device, p: dict, grid=range(0, 40001, 250)) -> int:
    """The per-layer invocation that minimises the worst INT8 error, the rest of `p` fixed."""
    return min(grid, key=lambda v: max(abs(e) for e in int8_errors(pf, device, {**p, "layer_overhead_cycles": v}).values()))


FINE = {
    "dma_efficiency": tuple(round(0.5 + 0.05 * i, 2) for i in range(11)),
    "dma_setup_cycles": (100, 150, 200, 300, 400),
    "img2col_elems_per_cycle": (4, 6, 8, 12, 16, 24, 32),
    "postprocess_word_bits": (8, 16, 32, 64),
    "layer_overhead_cycles": tuple(range(0, 30001, 1000)),
}


def best_set(pf: PaperFeatures, device: Device, fixed: dict | None = None, grid: dict | None = None,
             form: str = "img2col") -> tuple[dict, float]:
    """(the parameter set with the smallest worst INT8 error, that error), `fixed` held."""
    grid = {**(grid or FINE), **{k: (v,) for k, v in (fixed or {}).items()}}
    keys = list(grid)
    best, worst = None, np.inf
    for values in itertools.product(*grid.values()):
        p = dict(zip(keys, values, strict=True))
        e = max(abs(v) for v in int8_errors(pf, device, p, form).values())
        if e < worst:
            best, worst = p, e
    return best, float(worst)
