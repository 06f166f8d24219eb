"""The `rtl` probe: each layer of a LayerGraph run on the simulated chip, four counters per layer.

The probe needs shapes, not a trained model: each layer gets seeded random input codes and weight
codes of its scheme and bit-width (the design's timing does not depend on the values). The build
per (scheme, bits) has the lanes that give the analytical model's peak MACs/cycle on the device
(lanes x 2 channels per cycle), the device's buffer sizes and its DMA rate, so the referee compares
structure (tiling, DMA, post-process) at equal peak.

Sampling (big ImageNet layers): the controller repeats identical work per channel pair and per
group, so counters are linear in the pair count beyond two pairs (first, middle…, last) and in
the group count. A layer whose estimated cycles exceed `max_cycles` is simulated with 2 and 3
pairs (2 and 3 groups for a grouped layer) and extrapolated linearly — exact up to DRAM-credit
phase (checked in tests/hw/rtl).
"""

from __future__ import annotations

import math
import os
from dataclasses import replace

import numpy as np

from ohq.graph import Layer, LayerGraph
from ohq.hw.accelerator import bram_plan, macs_per_cycle
from ohq.hw.cost import LayerCost, bram_accesses, energy_mj, gemm_of, mac_energy_pj, tiling
from ohq.hw.device import Device
from ohq.hw.plan import Assignment, scheme_resource
from ohq.hw.probes import register_probe
from ohq.hw.rtl.build import RtlConfig
from ohq.hw.rtl.job import LayerJob, RtlMapError
from ohq.hw.rtl.sim import COUNTERS, run_job
from ohq.quant._registry import get_scheme

MAX_CYCLES = 3_000_000
LANES_ENV = "OHQ_RTL_LANES"  # caps the build's lanes (tests, quick looks): counters then run below the device's peak


def device_config(device: Device, scheme: str, w_bits: int, a_bits: int) -> RtlConfig:
    """The build for (scheme, bits) on `device`: its peak, buffers and DRAM rate."""
    if scheme not in ("uniform", "pot", "sp2"):
        raise RtlMapError(f"scheme {scheme!r} has no RTL lanes (uniform, pot, sp2)")
    peak = macs_per_cycle(scheme_resource(scheme), w_bits, a_bits, device)
    plan = bram_plan(device)
    return RtlConfig(
        lanes=max(1, round(peak / 2)), scheme=scheme, w_bits=w_bits, a_bits=a_bits,
        fmax=plan.buffer_bytes("feature") * 8 // a_bits,
        kmax=min(8192, plan.buffer_bytes("weight") * 8 // (4 * w_bits)),
        pmax=plan.buffer_bytes("output") // 8,
        bw16=max(1, round(device.dram_bytes_per_cycle * 16)),
        latency=max(1, int(device.dma_setup_cycles)),
    )


def synthetic_job(layer: Layer, scheme: str, w_bits: int, a_bits: int, cout: int | None = None,
                  groups: int | None = None, seed: int = 0) -> LayerJob:
    """Random codes with the layer's geometry (`cout`/`groups` override for sampling)."""
    rng = np.random.default_rng(seed)
    g = groups or (layer.groups if layer.kind != "linear" else 1)
    if layer.kind != "linear":
        cin_g = layer.in_channels // layer.groups
        cout_g = (cout or layer.out_channels // layer.groups)
        kh, kw = layer.kernel
        h, w = layer.in_shape[2:]
        stride, pad = layer.stride[0], layer.padding[0]
    else:
        cin_g, cout_g, kh, kw, h, w, stride, pad = layer.in_channels, cout or layer.out_channels, 1, 1, 1, 1, 1, 0
    codes = np.array(get_scheme(scheme).codes(w_bits), np.int64) if scheme != "uniform" else \
        np.arange(-(1 << (w_bits - 1)), 1 << (w_bits - 1))
    x = rng.integers(0, 1 << a_bits, size=(cin_g * g, h, w))
    wts = rng.choice(codes, size=(cout_g * g, cin_g, kh, kw))
    n = cout_g * g
    ones = np.ones(n, np.int64)
    return LayerJob(x, wts, ones << 16, 0 * ones, 0 * ones, 24, 1 << (a_bits - 1), 0,
                    (1 << a_bits) - 1, a_bits, False, stride, pad, g)


def simulate_layer(layer: Layer, cfg: RtlConfig, max_cycles: int = MAX_CYCLES) -> tuple[dict, int, float, bool]:
    """(cycles, DRAM bytes, simulator seconds, sampled) for one sample of `layer`."""
    if layer.kind != "linear" and (layer.stride[0] != layer.stride[1] or layer.padding[0] != layer.padding[1]):
        raise RtlMapError(f"layer {layer.name!r}: the RTL maps square stride and padding only")
    groups = layer.groups if layer.kind != "linear" else 1
    cout_g = layer.out_channels // groups
    out_px = math.prod(layer.out_shape[2:]) if layer.kind != "linear" else 1
    k = layer.in_channels // groups * math.prod(layer.kernel) if layer.kind != "linear" else layer.in_channels
    est = groups * math.ceil(cout_g / 2) * out_px * math.ceil(k / cfg.lanes)  # tree passes
    job_of = lambda c=None, g=None: synthetic_job(layer, cfg.scheme, cfg.w_bits, cfg.a_bits, c, g)  # noqa: E731
    if est <= max_cycles or (cout_g <= 6 and groups <= 3):
        r = run_job(job_of(), cfg)
        return r.cycles, r.dram_bytes, r.sim_seconds, False
    if groups > 3:  # sample groups (channel pairs in full)
        axis, full, points = "g", groups, (2, 3)
    else:
        axis, full = "c", math.ceil(cout_g / 2)
        points = (2, 3)
    runs = []
    for p in points:
        if axis == "g":
            runs.append(run_job(job_of(g=p), cfg))
        else:
            odd = cout_g % 2
            runs.append(run_job(job_of(c=2 * p - odd), cfg))
    (a, b), n = runs, full
    cyc = {k: int(round(a.cycles[k] + (n - points[0]) * (b.cycles[k] - a.cycles[k]))) for k in a.cycles}
    dram = int(round(a.dram_bytes + (n - points[0]) * (b.dram_bytes - a.dram_bytes)))
    return cyc, dram, a.sim_seconds + b.sim_seconds, True


def _env_lanes() -> int:
    try:
        lanes = int(os.environ[LANES_ENV])
    except ValueError:
        lanes = 0
    if lanes < 1:
        raise RtlMapError(f"{LANES_ENV} must be a positive lane count, got {os.environ[LANES_ENV]!r}")
    return lanes


@register_probe("rtl")
class RtlProbe:
    """The Verilog accelerator (ohq.hw.rtl) simulated with Verilator, one layer at a time."""

    name = "rtl"

    def __init__(self, max_cycles: int = MAX_CYCLES, overrides: dict | None = None) -> None:
        self.max_cycles = max_cycles
        self.overrides = dict(overrides or {})  # RtlConfig fields replacing the device's (tests)
        if os.environ.get(LANES_ENV) and "lanes" not in self.overrides:
            self.overrides["lanes"] = _env_lanes()
        self.sim_seconds = 0.0
        self.sampled: list[str] = []

    def measure(self, graph: LayerGraph, assignments: dict[str, Assignment], device: Device) -> list[LayerCost]:
        out = []
        for layer in graph.layers:
            w_bits, a_bits, scheme = assignments[layer.name]
            cfg = replace(device_config(device, scheme, w_bits, a_bits), **self.overrides)
            try:
                cycles, dram, secs, sampled = simulate_layer(layer, cfg, self.max_cycles)
            except RtlMapError as e:
                raise RtlMapError(f"layer {layer.name!r}: {e}") from None
            self.sim_seconds += secs
            if sampled:
                self.sampled.append(layer.name)
            batch = layer.in_shape[0]
            cycles = {k: v * batch for k, v in cycles.items()}
            cycles["total"] = sum(cycles[k] for k in COUNTERS)
            out.append(_cost(layer, w_bits, a_bits, scheme, cycles, dram * batch, device))
        return out


def _cost(layer: Layer, w_bits: int, a_bits: int, scheme: str, cycles: dict, dram: int, device: Device) -> LayerCost:
    """A LayerCost from the RTL's counters: energy from measured DRAM bytes and cycles."""
    from ohq.hw.accelerator import engine_resources
    from ohq.hw.cost import bram18k_used

    resource = scheme_resource(scheme)
    gemm = gemm_of(layer)
    t = tiling(gemm, w_bits, a_bits, device)
    macs = layer.macs * layer.in_shape[0]
    energy = energy_mj(macs, mac_energy_pj(resource, w_bits, a_bits, device),
                       bram_accesses(gemm, t, dram * 0.9, 0, dram * 0.1), dram, cycles["total"], device)
    dsp, lut = engine_resources(resource, w_bits, a_bits, device)
    peak = macs_per_cycle(resource, w_bits, a_bits, device)
    return LayerCost(name=layer.name, kind=layer.kind, params=layer.params, macs=macs, w_bits=w_bits,
                     a_bits=a_bits, scheme=scheme, cycles=cycles,
                     latency_ms=cycles["total"] / device.clock_hz * 1e3, energy_mj=energy,
                     bram18k=bram18k_used(t, w_bits, a_bits), dsp=dsp, lut=lut, dram_bytes=dram,
                     utilization=macs / max(1, cycles["compute"] * peak))


