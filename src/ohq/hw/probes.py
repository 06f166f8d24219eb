"""The probe registry: one interface, per layer and per bit-width/scheme.

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
from ohq.hw.cost import TRANSFERS, LayerCost, layer_cost
from ohq.hw.device import Device
from ohq.hw.plan import Assignment, scheme_resource
from ohq.registry import Registry


class Probe(Protocol):
    name: str

    def measure(
        self, graph: LayerGraph, assignments: dict[str, Assignment], device: Device
    ) -> list[LayerCost]: ...


PROBES: Registry[Callable[..., Probe]] = Registry("probe", sort=False)  # default first
register_probe = PROBES.register


def list_probes() -> list[str]:
    return PROBES.names()


def get_probe(name: str, **opts) -> Probe:
    """A probe instance by name, with its options (e.g. `get_probe("file", path="m.csv")`)."""
    return PROBES.create(name, **opts)


@register_probe("fpga-model")
class FpgaModelProbe:
    """The cycle-level model of the OHQ accelerator (the OHQ paper appendix B) on the device profile;
    `transfer="band"` moves inputs as the RTL does (`ohq.hw.cost.TRANSFERS`)."""

    def __init__(self, transfer: str = "img2col") -> None:
        if transfer not in TRANSFERS:
            raise OhqError(f"unknown transfer form {transfer!r}; use {' or '.join(TRANSFERS)}")
        self.transfer = transfer

    def measure(
        self, graph: LayerGraph, assignments: dict[str, Assignment], device: Device
    ) -> list[LayerCost]:
        out = []
        for layer in graph.layers:
            w_bits, a_bits, scheme = assignments[layer.name]
            out.append(layer_cost(layer, w_bits, a_bits, scheme, scheme_resource(scheme), device,
                                  transfer=self.transfer))
        return out


# Registering the other probes (their modules import this one).
from ohq.hw import cpu_probe, file_probe  # noqa: E402,F401  isort: skip
from ohq.hw.rtl import probe as _rtl_probe  # noqa: E402,F401  isort: skip
