"""A whole model under per-layer dataflow, and the whole model in BRAM (the mixed-dataflow paper).

`dataflow_report` picks every layer's dataflow (`ohq.hw.dataflow.pick`) under a plan, optional
sparse weight stores, and a BRAM18K budget. With `resident=True` (`--fit-bram`) every layer's
weights occupy their own BRAM18K blocks for the whole inference and the layers' buffers share
what is left; weights then never cross DDR.

>>> from ohq.graph import layer_graph
>>> from ohq.models import create_model
>>> g = layer_graph(create_model("small_cnn"), (1, 1, 28, 28))
>>> r = dataflow_report(g, "xc7z020", 8, mode="auto")
>>> r.totals["dram_bytes"] < dataflow_report(g, "xc7z020", 8, mode="img2col").totals["dram_bytes"]
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ohq.errors import OhqError
from ohq.graph import LayerGraph
from ohq.hw.dataflow import DATAFLOWS, FlowCost, WeightStore, blocks, bram_budget, pick
from ohq.hw.device import Device, get_device
from ohq.hw.plan import resolve_plan


class FitBramError(OhqError):
    """The weights (and the largest layer's buffers) do not fit the BRAM budget."""


@dataclass
class DataflowReport:
    """Per-layer chosen dataflow and cost, every candidate's cost, and the totals."""

    model: str
    device: str
    mode: str
    objective: str
    budget: int  # BRAM18K available
    resident: bool
    layers: list[FlowCost]
    options: list[dict[str, FlowCost | None]]
    weight_bram18k: int = 0  # resident weights (0 unless resident)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def buffer_bram18k(self) -> int:
        return max((c.bram18k for c in self.layers), default=0)

    @property
    def totals(self) -> dict[str, float | int]:
        used = self.weight_bram18k + self.buffer_bram18k
        return {
            "dram_bytes": sum(c.dram_bytes for c in self.layers),
            "weight_dram_bytes": int(sum(c.offchip["weights"] for c in self.layers)),
            "latency_ms": sum(c.latency_ms for c in self.layers),
            "energy_mj": sum(c.energy_mj for c in self.layers),
            "bram18k_used": used,
            "bram18k_left": self.budget - used,
            "by_dataflow": {f: sum(c.dataflow == f for c in self.layers) for f in DATAFLOWS},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "device": self.device, "mode": self.mode, "objective": self.objective,
            "budget_bram18k": self.budget, "resident": self.resident,
            "weight_bram18k": self.weight_bram18k, "buffer_bram18k": self.buffer_bram18k,
            "layers": [
                c.to_dict() | {"options": {f: (o.dram_bytes if o else None) for f, o in opts.items()}}
                for c, opts in zip(self.layers, self.options, strict=True)
            ],
            "total": self.totals,
        }


def resident_weight_bram18k(stores: dict[str, WeightStore]) -> int:
    """BRAM18K that hold every layer's weights at once, each layer in its own blocks."""
    return sum(blocks(s.bits / 8) for s in stores.values())


def dataflow_report(
    graph: LayerGraph,
    device: str | Device,
    plan_or_bits: Any = 8,
    *,
    scheme: str = "uniform",
    a_bits: int | None = None,
    mode: str = "auto",
    objective: str = "traffic",
    stores: dict[str, WeightStore] | None = None,
    bram18k: int | None = None,
    resident: bool = False,
    model_name: str = "",
) -> DataflowReport:
    """Pick and cost every layer's dataflow; FitBramError when the budget cannot hold the model."""
    dev = get_device(device)
    assignments = resolve_plan(graph, plan_or_bits, scheme, a_bits)
    budget = bram_budget(dev, bram18k)
    stores = dict(stores or {})
    for layer in graph.layers:
        if layer.name not in stores:
            from ohq.hw.dataflow import dense_store

            stores[layer.name] = dense_store(layer, assignments[layer.name][0])
    weights = resident_weight_bram18k(stores) if resident else 0
    if resident and weights >= budget:
        raise FitBramError(
            f"the weights alone need {weights} BRAM18K, the budget is {budget} BRAM18K"
        )
    chosen, options = [], []
    for layer in graph.layers:
        w, a, sch = assignments[layer.name]
        cost, opts = pick(layer, w, a, sch, dev, mode, stores[layer.name], budget - weights, resident, objective)
        if cost is None:
            need = min((o.bram18k for o in opts.values() if o is not None), default=None)
            what = f"its smallest dataflow needs {need}" if need is not None else "no dataflow fits at all"
            raise FitBramError(
                f"layer {layer.name!r}: {budget - weights} BRAM18K left for buffers"
                f"{' after the resident weights' if resident else ''}; {what}"
            )
        chosen.append(cost)
        options.append(opts)
    return DataflowReport(model_name, dev.part, mode, objective, budget, resident, chosen, options, weights)


def smallest_resident(
    graph: LayerGraph, device: str | Device, stores: dict[str, WeightStore], **kw
) -> int | None:
    """BRAM18K the whole-model-in-BRAM design needs with these stores (None: no budget fits).

    Searches the budget upwards from the weights' own blocks (buffers shrink with the budget only
    down to one line/stripe, so the smallest feasible budget is found by bisection).
    """
    dev = get_device(device)
    low = resident_weight_bram18k(stores) + 1
    high = max(low, dev.bram18k * 64)

    def fits(budget: int) -> bool:
        try:
            dataflow_report(graph, dev, kw.get("plan", 8), stores=stores, bram18k=budget, resident=True,
                            scheme=kw.get("scheme", "uniform"), a_bits=kw.get("a_bits"))
        except FitBramError:
            return False
        return True

    if not fits(high):
        return None
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if fits(mid) else (mid + 1, high)
    return low
