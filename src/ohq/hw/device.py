"""FPGA device profiles: one JSON data file per part under `hw/devices/`, every constant sourced.

Each number in a data file is `{"value": ..., "unit": ..., "kind": ..., "source": ...}` where
`kind` is `datasheet` (vendor documentation), `measured` (read on a real board), `synthesized`
(derived from yosys counts of the RTL engine: the file's `synthesis` block holds the figures, the
yosys version and command, `ohq.hw.synthesized` the derivation), or `assumed` (an engineering
estimate; `"calibrated": true` marks the few fitted against the OHQ paper's INT8 latencies, the
OHQ paper Table 1). `docs/hardware.md` explains each calibrated value.

>>> d = get_device("xc7z020")
>>> d.part, d.dsp, d.bram36
('xc7z020clg400-1', 220, 140)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from typing import Any

from ohq.errors import DeviceError, OhqError

KINDS = ("datasheet", "measured", "synthesized", "assumed")


@dataclass(frozen=True)
class Device:
    """A device profile: resources, clocks, memory, PR port, limits, accelerator and energy constants."""

    part: str
    aliases: tuple[str, ...]
    board: str
    family: str  # "7series" | "ultrascale+"
    # Resources of the programmable logic (datasheet).
    lut: int
    ff: int
    bram36: int
    dsp: int
    dsp_type: str
    # Clocks and the memory path.
    pl_clock_mhz: float
    ddr_type: str
    ddr_width_bits: int
    ddr_mts: float  # mega-transfers per second of the DDR interface
    dma_efficiency: float  # share of min(DDR peak, AXI peak) a stream of tile DMAs achieves
    axi_width_bits: int  # width of one PL high-performance AXI port
    axi_ports: int  # HP ports the accelerator's DMA uses
    # Partial reconfiguration.
    pr_port: str
    pr_bandwidth_mbps: float  # MB/s (1e6 B/s)
    bitstream_bytes: int  # full configuration bitstream
    pr_region_share: float  # share of the fabric (and of the bitstream) in the reconfigurable region
    # Utilisation limits (share of each resource a design may use and still close timing).
    lut_util_max: float
    dsp_util_max: float
    bram_util_max: float
    # Accelerator parameters (the OHQ IP core on this part).
    pe_dsp: int  # DSP slices in the multiply-add tree
    pe_lut: int  # LUTs available to LUT processing elements (shift, shift-add, LUT multipliers)
    shell_lut: int  # LUTs of the fixed shell: DMA, Img2Col address generation, control, post-process
    l_max_cap: int  # largest tile side the IP allows (the OHQ paper §4.1: 128)
    tree_latency_cycles: int  # pipeline depth of the multiply-add tree
    layer_overhead_cycles: int  # PS driver call + IP start/finish per layer
    dma_setup_cycles: int  # AXI-DMA descriptor set-up per transfer
    img2col_elems_per_cycle: float  # Img2Col gather: feature elements per cycle, any bit-width
    postprocess_word_bits: int  # requant + activation + residual/pool datapath width: word/a_bits outputs per cycle
    # Energy.
    e_dsp_pj: float  # one DSP slice, one active cycle
    e_lut_pj: float  # one LUT toggling once
    e_bram_pj: float  # one 64-bit BRAM access
    e_dram_pj_per_byte: float  # DDR access incl. PHY and controller
    static_power_w: float  # PL static power
    sources: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)
    synthesis: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def clock_hz(self) -> float:
        return self.pl_clock_mhz * 1e6

    @property
    def dram_bytes_per_cycle(self) -> float:
        """Bytes per PL cycle the accelerator's DMA streams: min(DDR peak, AXI peak) x efficiency."""
        ddr_bytes_per_s = self.ddr_width_bits / 8 * self.ddr_mts * 1e6
        axi_bytes_per_s = self.axi_ports * self.axi_width_bits / 8 * self.clock_hz
        return min(ddr_bytes_per_s, axi_bytes_per_s) * self.dma_efficiency / self.clock_hz

    @property
    def bram18k(self) -> int:
        return 2 * self.bram36

    def describe(self) -> list[tuple[str, Any, str, str, str]]:
        """(name, value, unit, kind, source) for every sourced constant, in file order."""
        return [
            (k, v["value"], v.get("unit", ""), v["kind"], v["source"]) for k, v in self.sources.items()
        ]


_DEVICE_FILES = ("xc7z020clg400-1", "xc7z045ffg900-2", "xczu9eg-ffvb1156-2-e")
_SCALAR_FIELDS = tuple(
    f.name for f in fields(Device)
    if f.name not in ("part", "aliases", "board", "family", "sources", "synthesis")
)


def _parse(doc: dict, origin: str) -> Device:
    head = {"part", "aliases", "board", "family", "constants"}
    unknown = set(doc) - head - {"synthesis"}
    if unknown or not head <= set(doc):
        raise OhqError(f"{origin}: keys must be {sorted(head)}, got {sorted(doc)}")
    consts = doc["constants"]
    missing = [k for k in _SCALAR_FIELDS if k not in consts]
    extra = [k for k in consts if k not in _SCALAR_FIELDS]
    if missing or extra:
        raise OhqError(f"{origin}: missing constants {missing}, unknown constants {extra}")
    values = {}
    for key in _SCALAR_FIELDS:
        entry = consts[key]
        if not isinstance(entry, dict) or {"value", "kind", "source"} - set(entry):
            raise OhqError(f"{origin}: constant {key!r} needs value, kind and source")
        if entry["kind"] not in KINDS:
            raise OhqError(f"{origin}: constant {key!r} has kind {entry['kind']!r}; use one of {KINDS}")
        values[key] = entry["value"]
    return Device(
        part=doc["part"], aliases=tuple(doc["aliases"]), board=doc["board"], family=doc["family"],
        sources=consts, synthesis=doc.get("synthesis", {}), **values,
    )


@cache
def _registry() -> dict[str, Device]:
    devices = {}
    for stem in _DEVICE_FILES:
        text = resources.files("ohq.hw").joinpath("devices", f"{stem}.json").read_text()
        dev = _parse(json.loads(text), f"hw/devices/{stem}.json")
        if dev.part != stem:
            raise RuntimeError(f"hw/devices/{stem}.json describes {dev.part!r}")
        devices[dev.part] = dev
    return devices


def list_devices() -> list[str]:
    """Part names of every shipped device profile."""
    return list(_registry())


def get_device(name: str | Device) -> Device:
    """The profile of a part name or alias (`xc7z020`, `xc7z045`, `zcu102`), case-insensitive."""
    if isinstance(name, Device):
        return name
    key = str(name).strip().lower()
    for dev in _registry().values():
        if key == dev.part or key in dev.aliases:
            return dev
    known = ", ".join(f"{d.part} ({'/'.join(d.aliases)})" for d in _registry().values())
    raise DeviceError(f"unknown device {name!r}; known devices: {known}")
