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
