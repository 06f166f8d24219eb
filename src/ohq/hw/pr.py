"""Layer-wise partial reconfiguration (LHA): what swapping the PE module per layer costs.

Consecutive layers with the same (w_bits, a_bits, scheme) form a group that runs on one module in
the reconfigurable region; between groups the region is reconfigured. Reconfiguration time =
partial bitstream bytes / PR port bandwidth, the partial bitstream being the region's share of the
full bitstream. With two regions in ping-pong the next group's module loads while the current one
runs, so only the part of a reconfiguration longer than the running group stalls.

`pr_schedule` costs every group on the static multi-mode engine of `ohq.hw.cost`; `pr_plan` gives
each group a module specialised to its configuration (LHA spends the freed resources on more PEs,
`module_peak`), and ping-pong splits the region in two half-size regions (half the PEs, half the
partial bitstream each) so one loads while the other runs. Counted per inference, back to back:
the last group's module swaps back to the first's for the next input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from ohq.errors import OhqError
from ohq.graph import Layer, LayerGraph
from ohq.hw.accelerator import (
    SVPE_PRODUCTS_PER_DSP,
    dsp_pack,
    lut_core_macs_per_cycle,
    lut_pes,
    macs_per_cycle,
)
from ohq.hw.cost import LayerCost, layer_cost
from ohq.hw.device import Device, get_device
from ohq.hw.plan import resolve_plan, scheme_resource
from ohq.quant.resource import Resource


@dataclass(frozen=True)
class PrSchedule:
    """Groups of layers per module and the latency with and without reconfiguration."""

    groups: list[list[str]]
    reconfig_ms: float  # one partial reconfiguration
    latency_static_ms: float  # one static bitstream, no reconfiguration
    latency_pr_ms: float  # one region: every reconfiguration stalls
    latency_pingpong_ms: float  # two regions: reconfiguration hidden behind the running group


def reconfig_ms(device: Device) -> float:
    """Partial bitstream bytes / PR port bandwidth, in ms."""
    partial_bytes = device.bitstream_bytes * device.pr_region_share
    return partial_bytes / (device.pr_bandwidth_mbps * 1e6) * 1e3


def pr_schedule(layers: list[LayerCost], device: Device | str) -> PrSchedule:
    """Group consecutive layers by configuration and cost the reconfigurations between groups.
    `device` is a Device or a part name/alias such as "xc7z020"."""
    if isinstance(device, str):
        device = get_device(device)
    groups: list[list[LayerCost]] = []
    for cost in layers:
        config = (cost.w_bits, cost.a_bits, cost.scheme)
        if groups and (groups[-1][0].w_bits, groups[-1][0].a_bits, groups[-1][0].scheme) == config:
            groups[-1].append(cost)
        else:
            groups.append([cost])
    t_rc = reconfig_ms(device)
    static = sum(c.latency_ms for c in layers)
    swaps = max(0, len(groups) - 1)
    hidden_stall = sum(max(0.0, t_rc - sum(c.latency_ms for c in g)) for g in groups[:-1])
    return PrSchedule(
        groups=[[c.name for c in g] for g in groups],
        reconfig_ms=t_rc,
        latency_static_ms=static,
        latency_pr_ms=static + swaps * t_rc,
        latency_pingpong_ms=static + hidden_stall,
    )


# --- Specialised modules (LHA): each group's module is built for its configuration only. ---------


def supports_pr(device: Device) -> bool:
    """A device can swap modules when it has a configuration port with bandwidth and a region."""
    return device.pr_port.lower() not in ("", "none") and device.pr_bandwidth_mbps > 0 and device.pr_region_share > 0


def check_pr(device: Device) -> None:
    if not supports_pr(device):
        raise OhqError(f"{device.part} has no partial-reconfiguration port/region; --pr needs one")


def module_peak(resource: Resource, w_bits: int, a_bits: int, device: Device) -> float:
    """MACs/cycle of a module built for one (bits, scheme): the region's resources go to it alone.

    The static engine (`ohq.hw.accelerator.macs_per_cycle`) adds LUT multipliers only at <= 3
    bits; a uniform module spends the whole LUT PE budget on multipliers of its own width (<= 8
    bits) beside the packed DSPs. A shift/shift-add module gives the DSPs its accumulators do not
    need back to packed DSP multiplies.
    """
    bits = max(w_bits, a_bits)
    if resource is Resource.DSP:
        macs = device.pe_dsp * dsp_pack(bits)
        if bits <= 8:
            macs += lut_pes(Resource.DSP, w_bits, a_bits, device)
        return float(macs)
    if resource in (Resource.SHIFT, Resource.SHIFT_ADD):
        lut = lut_core_macs_per_cycle(resource, w_bits, a_bits, device)
        spare = max(0, device.pe_dsp - math.ceil(lut / SVPE_PRODUCTS_PER_DSP))
        return lut + spare * dsp_pack(bits)
    return macs_per_cycle(resource, w_bits, a_bits, device)


def half_region(device: Device) -> Device:
    """One of two ping-pong regions: half the PE resources and half the partial bitstream."""
    return replace(device, pe_dsp=device.pe_dsp // 2, pe_lut=device.pe_lut // 2,
                   pr_region_share=device.pr_region_share / 2)


@dataclass(frozen=True)
class PrPlan:
    """Latency of a plan with a static bitstream, with PR in one region, and in ping-pong."""

    groups: list[list[str]]
    configs: list[tuple[int, int, str]]
    reconfigurations: int  # per inference, back to back (the last module swaps back to the first)
    reconfig_ms: float  # one region
    reconfig_pingpong_ms: float  # one half-size region
    latency_static_ms: float
    latency_pr_ms: float
    latency_pingpong_ms: float
    module_ms: dict[str, float]  # per layer on its specialised full-region module

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in (
            "groups", "configs", "reconfigurations", "reconfig_ms", "reconfig_pingpong_ms",
            "latency_static_ms", "latency_pr_ms", "latency_pingpong_ms")}


def module_latency_ms(layer: Layer, w: int, a: int, scheme: str, device: Device) -> float:
    resource = scheme_resource(scheme)
    return layer_cost(layer, w, a, scheme, resource, device, module_peak(resource, w, a, device)).latency_ms


def pr_plan(graph: LayerGraph, plan: Any, device: str | Device, scheme: str = "uniform",
            a_bits: int | None = None) -> PrPlan:
    """Group consecutive layers by configuration; cost static, one-region PR and ping-pong."""
    dev = get_device(device)
    check_pr(dev)
    assign = resolve_plan(graph, plan, scheme, a_bits)
    groups: list[list[Layer]] = []
    for layer in graph.layers:
        if groups and assign[groups[-1][0].name] == assign[layer.name]:
            groups[-1].append(layer)
        else:
            groups.append([layer])
    configs = [assign[g[0].name] for g in groups]
    static = sum(layer_cost(lay, *assign[lay.name], scheme_resource(assign[lay.name][2]), dev).latency_ms
                 for lay in graph.layers)
    full = {lay.name: module_latency_ms(lay, *assign[lay.name], dev) for lay in graph.layers}
    half = half_region(dev)
    halves = [sum(module_latency_ms(lay, *assign[lay.name], half) for lay in g) for g in groups]
    swaps = len(groups) - 1 + (len(groups) > 1 and configs[0] != configs[-1])
    t_one, t_half = reconfig_ms(dev), reconfig_ms(half)
    # ping-pong: group g+1's module loads while group g runs; the part that is longer stalls
    ring = halves if swaps == len(groups) else halves[:-1]
    stall = sum(max(0.0, t_half - run) for run in ring) if swaps else 0.0
    return PrPlan(
        [[lay.name for lay in g] for g in groups], configs, int(swaps), t_one, t_half, static,
        sum(full.values()) + swaps * t_one, sum(halves) + stall, full,
    )
