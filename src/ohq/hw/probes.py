"""The probe registry (STYLE 1, 6): one interface, per layer and per bit-width/scheme.

A probe has a `name` and `measure(graph, assignments, device) -> list[LayerCost]` where
`assignments` maps each layer name to `(w_bits, a_bits, scheme)`.

- `fpga-model`: the accelerator model of `ohq.hw.cost` on a device profile;
- `cpu`: the layer run on this host as a quantized op and timed (`ohq.hw.cpu_probe`);
- `file`: per-layer figures measured on a real board (`ohq.hw.file_probe`);
- `rtl`: the Verilog accelerator simulated with Verilator (`ohq.hw.rtl.probe`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ohq.errors import OhqError
from ohq.graph import LayerGraph
from ohq.hw.cost import LayerCost, layer_cost
from ohq.hw.device import Device
from ohq.hw.plan import Assignment, scheme_resource


class Probe(Protocol):
    name: str

    def measure(
        self, graph: LayerGraph, assignments: dict[str, Assignment], device: Device
    ) -> list[LayerCost]: ...


_PROBES: dict[str, Callable[..., Probe]] = {}


def register_probe(name: str):
    """Class decorator: register a probe class under `name` (its options are __init__ keywords)."""

    def wrap(cls):
        if name in _PROBES:
            raise RuntimeError(f"probe {name!r} registered twice")
        cls.name = name
        _PROBES[name] = cls
        return cls

    return wrap


def list_probes() -> list[str]:
    return list(_PROBES)


def get_probe(name: str, **opts) -> Probe:
    """A probe instance by name, with its options (e.g. `get_probe("file", path="m.csv")`)."""
    if name not in _PROBES:
        raise OhqError(f"unknown probe {name!r}; known probes: {', '.join(list_probes())}")
    return _PROBES[name](**opts)


@register_probe("fpga-model")
class FpgaModelProbe:
    """The cycle-level model of the OHQ accelerator (seed 003 appendix B) on the device profile."""

    name = "fpga-model"

    def measure(
        self, graph: LayerGraph, assignments: dict[str, Assignment], device: Device
    ) -> list[LayerCost]:
        out = []
        for layer in graph.layers:
            w_bits, a_bits, scheme = assignments[layer.name]
            out.append(layer_cost(layer, w_bits, a_bits, scheme, scheme_resource(scheme), device))
        return out


# Registering the other probes (their modules import this one).
from ohq.hw import cpu_probe, file_probe  # noqa: E402,F401  isort: skip
from ohq.hw.rtl import probe as _rtl_probe  # noqa: E402,F401  isort: skip
