"""The hardware API the search and pipeline call: `estimate` for one plan, `cost_table` for the ILP.

>>> r = estimate(layer_graph(create_model("resnet18"), (1, 3, 224, 224)), "xc7z020", 8)  # doctest: +SKIP
>>> round(r.total["latency_ms"])  # doctest: +SKIP
82
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from torch import nn

from ohq.errors import OhqError
from ohq.graph import LayerGraph, layer_graph
from ohq.hw.cost import LayerCost
from ohq.hw.device import Device, get_device
from ohq.hw.plan import resolve_plan
from ohq.hw.probes import Probe, get_probe


@dataclass
class HwReport:
    """Per-layer costs of one plan on one device from one probe, and their totals."""

    model: str
    device: str
    probe: str
    layers: list[LayerCost]

    @property
    def total(self) -> dict[str, float | int]:
        return {
            "cycles": sum(c.cycles["total"] for c in self.layers),
            "latency_ms": sum(c.latency_ms for c in self.layers),
            "energy_mj": sum(c.energy_mj for c in self.layers),
            "bram18k_peak": max((c.bram18k for c in self.layers), default=0),
            "dsp_peak": max((c.dsp for c in self.layers), default=0),
            "lut_peak": max((c.lut for c in self.layers), default=0),
        }

    def to_dict(self) -> dict[str, Any]:
        """The document `ohq hw --json` prints."""
        return {
            "model": self.model, "device": self.device, "probe": self.probe,
            "layers": [c.to_dict() for c in self.layers], "total": self.total,
        }


def _graph(model_or_graph: nn.Module | LayerGraph, input_shape) -> LayerGraph:
    if isinstance(model_or_graph, LayerGraph):
        return model_or_graph
    if isinstance(model_or_graph, nn.Module):
        shape = input_shape or getattr(model_or_graph, "input_shape", None)
        if shape is None:
            raise OhqError("estimate() needs input_shape for a model (or pass a LayerGraph)")
        return layer_graph(model_or_graph, tuple(shape))
    raise OhqError(f"expected an nn.Module or a LayerGraph, got {type(model_or_graph).__name__}")


def _probe(probe: str | Probe, opts: dict) -> Probe:
    return get_probe(probe, **opts) if isinstance(probe, str) else probe


def estimate(
    model_or_graph: nn.Module | LayerGraph,
    device: str | Device,
    plan_or_bits: Any = 8,
    probe: str | Probe = "fpga-model",
    *,
    scheme: str = "uniform",
    a_bits: int | None = None,
    input_shape: tuple[int, ...] | None = None,
    model_name: str = "",
    **probe_opts,
) -> HwReport:
    """Cost every layer of a model under a plan (bits, dict, or `ohq.quant.Plan`) on a device.

    `a_bits=None` gives activations the weights' bit-width wherever the plan does not say.
    """
    dev = get_device(device)
    graph = _graph(model_or_graph, input_shape)
    assignments = resolve_plan(graph, plan_or_bits, scheme, a_bits)
    p = _probe(probe, probe_opts)
    name = model_name or (type(model_or_graph).__name__ if isinstance(model_or_graph, nn.Module) else "")
    return HwReport(name, dev.part, p.name, p.measure(graph, assignments, dev))


def cost_table(
    graph: LayerGraph,
    device: str | Device,
    candidate_bits: Iterable[Any] = (4, 8),
    scheme: str = "uniform",
    probe: str | Probe = "fpga-model",
    *,
    a_bits: int | None = None,
    **probe_opts,
) -> dict[str, dict[int, LayerCost]]:
    """{layer: {candidate: LayerCost}}: every layer at every candidate, for the ILP. A candidate
    is a bit-width of `scheme` (activations at `a_bits`) or a scheme config (its own scheme/bits)."""
    dev = get_device(device)
    p = _probe(probe, probe_opts)
    table: dict[str, dict[int, LayerCost]] = {name: {} for name in graph.names}
    for bits in candidate_bits:
        assignments = resolve_plan(graph, bits, scheme, a_bits)
        for cost in p.measure(graph, assignments, dev):
            table[cost.name][bits] = cost
    return table
