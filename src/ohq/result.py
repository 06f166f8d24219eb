"""What a pipeline run produced: one `LayerRow` per layer and the `PipelineResult` around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass
class LayerRow:
    """Everything the pipeline learned about one layer (one row of layers.csv)."""

    name: str
    kind: str
    params: int
    macs: int
    sensitivity: float
    omega: float
    bits: int
    scheme: str
    size_mib_by_bits: dict[int, float]
    cycles_by_bits: dict[int, dict[str, int]]
    latency_ms_by_bits: dict[int, float]
    energy_mj_by_bits: dict[int, float]
    bram18k_by_bits: dict[int, int]
    masked_top1: float | None = None
    column: Any = None  # the key of the chosen candidate in the *_by_bits dicts (None: `bits`)

    @property
    def key(self) -> Any:
        """The chosen candidate's key in the per-candidate dicts: its bits, or 'sp2:4' where the
        candidates mix schemes at equal bits."""
        return self.bits if self.column is None else self.column

    @property
    def cycles(self) -> dict[str, int]:
        return self.cycles_by_bits[self.key]

    @property
    def energy_mj(self) -> float:
        return self.energy_mj_by_bits[self.key]


@dataclass
class PipelineResult:
    request: Any  # ohq.pipeline.Request
    model_name: str
    input_shape: tuple[int, ...]
    data_source: str  # "mnist (real)" or "distilled"
    eval_data: str | None
    layers: list[LayerRow]
    budgets: dict[str, float]
    solve_ms: float
    plan: Any  # ohq.quant.Plan
    qmodel: Any  # ohq.quant.QuantModel
    calib: torch.Tensor
    top1: dict[str, float | None]  # fp32, int8, mixed
    totals: dict[str, dict[str, float]]  # int8 / mixed → size_mib, latency_ms, energy_mj
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    extra: dict[str, Any] = field(default_factory=dict)


def layer_rows(allocator, scheme: str, masked=None) -> list[LayerRow]:
    """One row per layer from a fitted `BitAllocator` (and MQE's masked top-1 where measured);
    each row's scheme is its chosen candidate's (`scheme` where the allocation has no configs)."""
    table, costs = allocator.table_, allocator.costs_
    keys = table.keys
    scores = np.asarray(allocator.sensitivity_.scores_, dtype=float)
    configs = getattr(allocator, "configs_", {})
    rows = []
    for i, layer in enumerate(allocator.graph_.layers):
        per, config = costs[layer.name], configs.get(layer.name)
        column = None if config is None or keys == table.bits else keys[table.column(config)]
        rows.append(LayerRow(
            layer.name, layer.kind, layer.params, layer.macs, float(scores[i]), float(allocator.omegas_[i]),
            allocator.bits_[layer.name], scheme if config is None else config.scheme,
            {k: float(table.costs["size_mib"][i, j]) for j, k in enumerate(keys)},
            {k: dict(per[k].cycles) for k in keys},
            {k: per[k].latency_ms for k in keys},
            {k: per[k].energy_mj for k in keys},
            {k: int(table.costs["bram18k"][i, j]) for j, k in enumerate(keys)},
            None if masked is None else float(masked[i]), column,
        ))
    return rows
