"""The allocation cost table: size, latency, energy and BRAM of every layer at every candidate.

The ILP reads one `CostTable` (search/ilp.py); this module is its only builder, so the size
formula (`ohq.quant.size.weights_mib`) and the BRAM count live in one place each.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from ohq.graph import LayerGraph
from ohq.hw.cost import LayerCost
from ohq.hw.report import cost_table
from ohq.hw.target import Target
from ohq.quant.size import MIB, layer_counts, weights_mib
from ohq.search.ilp import CostTable

BRAM18K_BITS = 18432  # one 18 Kb block RAM (7-series / UltraScale)


def weight_bram18k(size_mib: np.ndarray) -> np.ndarray:
    """18 Kb BRAM blocks that hold each layer's weights on chip (the mixed-dataflow paper's all-on-chip budget)."""
    return np.ceil(size_mib * MIB * 8 / BRAM18K_BITS)


def allocation_table(
    model: nn.Module, graph: LayerGraph, target: Target, bits: tuple[int, ...], *,
    scheme: str = "uniform", a_bits: int | None = None,
) -> tuple[CostTable, dict[str, dict[int, LayerCost]]]:
    """The ILP's cost table and the probe's per-layer `LayerCost`s behind it.

    `a_bits=None`: activations at each candidate's weight bits (W/A */*).
    """
    costs = cost_table(graph, target.device, bits, scheme, target.probe, a_bits=a_bits, **target.options)
    counts = layer_counts(model, graph)
    names = graph.names
    size = np.array([[weights_mib(*counts[n], b) for b in bits] for n in names])

    def metric(attr: str) -> np.ndarray:
        return np.array([[getattr(costs[n][b], attr) for b in bits] for n in names], float)

    table = CostTable(
        names, tuple(bits),
        {"size_mib": size, "latency_ms": metric("latency_ms"), "energy_mj": metric("energy_mj"),
         "bram18k": weight_bram18k(size)},
    )
    return table, costs
