"""The model against the paper: INT8 latency of the four networks on xc7z020 (the OHQ paper Table 1).

The measured figures live in `hw/reference.json` with their source; `bench/bench_hw.py` prints
the table and `tests/hw/test_hw_fidelity.py` holds the model to the tolerance there (±15 %).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ohq.graph import LayerGraph, layer_graph
from ohq.hw.report import estimate


@lru_cache(maxsize=1)
def reference() -> dict:
    """The paper's measured latencies, their source, the device, the input and the tolerance."""
    return json.loads(resources.files("ohq.hw").joinpath("reference.json").read_text())


@dataclass(frozen=True)
class FidelityRow:
    model: str
    paper_ms: float
    model_ms: float

    @property
    def error(self) -> float:
        return self.model_ms / self.paper_ms - 1


def zoo_graph(name: str) -> LayerGraph:
    from ohq.models import create_model

    return layer_graph(create_model(name), tuple(reference()["input"]))


def fidelity_table(graphs: dict[str, LayerGraph] | None = None) -> list[FidelityRow]:
    """Modelled vs measured INT8 latency for each reference network."""
    ref = reference()
    rows = []
    for name, paper_ms in ref["int8_latency_ms"].items():
        graph = (graphs or {}).get(name) or zoo_graph(name)
        ms = estimate(graph, ref["device"], 8).total["latency_ms"]
        rows.append(FidelityRow(name, paper_ms, ms))
    return rows


@dataclass(frozen=True)
class SvpeComparison:
    """n-BQ-NN's claim (2.9x) as the model reads it: array against array at an equal DSP budget."""

    device: str
    mac_ms: float  # W16A16 on the fixed-point DSP array (`ohq hw --scheme uniform --bits 16`)
    svpe_ms: float  # W3A16 pot on the shift array (`ohq hw --scheme pot --bits 3 --a-bits 16`)
    vpe_ms: float  # W16A16 on n-BQ-NN's VPE: k² multipliers + k adders on DSPs per k x k convolver

    @property
    def speedup(self) -> float:
        """The one SVPE answer: the 16-bit DSP MAC array's latency over the SVPE's."""
        return self.mac_ms / self.svpe_ms

    @property
    def speedup_vs_vpe(self) -> float:
        return self.vpe_ms / self.svpe_ms


SVPE_PLAN = (3, 16, "pot")  # n-BQ-NN: PoT weights, 16-bit activations (every 16-bit multiply a shift)


def svpe_comparison(device: str = "zcu102", model: str = "alexnet") -> SvpeComparison:
    """Both arrays get the device's `pe_dsp` DSPs; the SVPE's shifts are on LUTs (3 products per
    accumulating DSP, LUTs permitting), the 16-bit array does one MAC per DSP48."""
    from ohq.hw.accelerator import vpe_macs_per_cycle
    from ohq.hw.cost import layer_cost
    from ohq.hw.device import get_device
    from ohq.quant.resource import Resource

    dev = get_device(device)
    graph = zoo_graph(model)
    mac = estimate(graph, dev, 16).total["latency_ms"]
    svpe = estimate(graph, dev, SVPE_PLAN).total["latency_ms"]
    vpe = sum(layer_cost(x, 16, 16, "uniform", Resource.DSP, dev, vpe_macs_per_cycle(16, dev)).latency_ms
              for x in graph.layers)
    return SvpeComparison(dev.part, mac, svpe, vpe)
