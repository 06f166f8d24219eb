"""The allocation cost table: size, latency, energy and BRAM of every layer at every candidate
(a bit-width of one scheme, or a scheme config: `FixedPoint(4)`, `SP2(4)`, …).

The ILP reads one `CostTable` (search/ilp.py); this module is its only builder, so the size
formula (`ohq.quant.size.weights_mib`) and the BRAM count live in one place each.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from ohq.graph import LayerGraph
from ohq.hw.report import cost_table
from ohq.hw.target import Target
from ohq.quant.size import MIB, layer_counts, weights_mib
from ohq.search.ilp import CostTable

BRAM18K_BITS = 18432  # one 18 Kb block RAM (7-series / UltraScale)


def weight_bram18k(size_mib: np.ndarray) -> np.ndarray:
    """18 Kb BRAM blocks that hold each layer's weights on chip (the mixed-dataflow paper's all-on-chip budget)."""
    return np.ceil(size_mib * MIB * 8 / BRAM18K_BITS)


def allocation_table(
    model: nn.Module, graph: LayerGraph, target: Target, candidates: tuple, *,
    scheme: str = "uniform", a_bits: int | None = None,
) -> tuple[CostTable, dict[str, dict]]:
    """The ILP's cost table and the probe's per-layer `LayerCost`s behind it, `{layer: {key: cost}}`
    with the table's column keys (`CostTable.keys`).

    candidates: bit-widths of `scheme` (activations at `a_bits`, None: at each candidate's weight
    bits, W/A */*), or scheme configs, each costed by the probe in its own scheme and bits.
    """
    costs = cost_table(graph, target.device, candidates, scheme, target.probe, a_bits=a_bits, **target.options)
    counts = layer_counts(model, graph)
    names = graph.names
    table = CostTable(names, tuple(candidates), {})
    size = np.array([[weights_mib(*counts[n], b) for b in table.bits] for n in names])

    def metric(attr: str) -> np.ndarray:
        return np.array([[getattr(costs[n][c], attr) for c in table.candidates] for n in names], float)

    table.costs.update({"size_mib": size, "latency_ms": metric("latency_ms"), "energy_mj": metric("energy_mj"),
                        "bram18k": weight_bram18k(size)})
    keyed = {n: {k: costs[n][c] for k, c in zip(table.keys, table.candidates, strict=True)} for n in names}
    return table, keyed
