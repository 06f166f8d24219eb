"""Layer-wise partial reconfiguration (LHA): what swapping the PE module per layer costs.

Consecutive layers with the same (w_bits, a_bits, scheme) form a group that runs on one module in
the reconfigurable region; between groups the region is reconfigured. Reconfiguration time =
partial bitstream bytes / PR port bandwidth, the partial bitstream being the region's share of the
full bitstream. With two regions in ping-pong the next group's module loads while the current one
runs, so only the part of a reconfiguration longer than the running group stalls.

What this does not model: the speed-up of a module specialised to one bit-width (LHA spends the
freed resources on more PEs); the multi-mode engine of `ohq.hw.cost` is used for every group.
"""

from __future__ import annotations

from dataclasses import dataclass

from ohq.hw.cost import LayerCost
from ohq.hw.device import Device, get_device


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
