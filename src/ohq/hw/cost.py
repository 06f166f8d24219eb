"""The per-layer cost model: cycles of the four steps, resources, bytes and energy (docs/design.md).

Pure functions of (layer, bits, scheme resource, device). The four steps are the counters the OHQ
IP core writes (the OHQ paper §3.1.2) and run one after another, so a layer's cycles are their sum:

- compute: the multiply-add tree over the padded tiles (Algorithm 1 pads every side to a multiple
  of the tile), plus the tree's pipeline fill per tile pass;
- transfer: weight and Img2Col feature tiles DDR -> BRAM at the DMA rate, one DMA set-up per buffer
  fill, plus the per-layer IP invocation (PS driver call, start/done handshake);
- write-back: the layer's outputs BRAM -> DDR at the activation bit-width;
- post-process: requantization, activation, residual add and pooling, element by element.

Loop order (B.2.4: "the output is cached on the chip as much as possible for accumulation"): the k
dimension streams through in chunks that fit the buffers while a T x T output tile accumulates on
chip. The outer loop runs over m-tiles (a weight k-panel stays resident while the feature matrix
streams past it) or over n-tiles (a feature k-panel stays resident while the weights stream); the
PS picks, per layer, the order that moves fewer bytes. A panel that does not fit its buffer is
re-read for every tile of the other operand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ohq.errors import OhqError
from ohq.graph import Layer
from ohq.hw import dma
from ohq.hw.accelerator import (
    BRAM18_BYTES,
    BRAM18_WIDTH_BITS,
    Gemm,
    balanced_sp2_share,
    bram_plan,
    dsp_pack,
    engine_resources,
    gemm_of,
    lut_mult_max_bits,
    lut_pes,
    macs_per_cycle,
    product_luts,
    tile_side,
    weight_container_bits,
)
from ohq.hw.device import Device
from ohq.quant.resource import Resource

STEPS = ("compute", "transfer", "writeback", "postprocess")
# How inputs reach the buffers: the paper's IP moves the expanded Img2Col matrix (the default: the
# form the paper's four INT8 latencies fit); "band" is the RTL's line-buffer bands (ohq.hw.dma)
TRANSFERS = ("img2col", "band")
ACC_BITS = 32  # accumulator width in the output buffer


@dataclass(frozen=True)
class Tiling:
    """How one layer's GEMM is sliced: tile side, padded sides, tile counts, k-chunk."""

    tile: int
    m_pad: int
    k_pad: int
    n_pad: int
    k_chunk: int
    weight_loads: int  # times the kernel matrix crosses DDR -> BRAM
    feature_loads: int  # times the Img2Col feature matrix crosses DDR -> BRAM

    @property
    def m_tiles(self) -> int:
        return self.m_pad // self.tile

    @property
    def n_tiles(self) -> int:
        return math.ceil(self.n_pad / self.tile)

    @property
    def n_cols(self) -> int:
        """Columns of one output tile: the tile side, or n itself when n is narrower (batch-1 FC)."""
        return min(self.tile, self.n_pad)

    @property
    def k_chunks(self) -> int:
        return math.ceil(self.k_pad / self.k_chunk)


def _pad(length: int, tile: int) -> int:
    return math.ceil(length / tile) * tile


def tiling(gemm: Gemm, w_bits: int, a_bits: int, device: Device) -> Tiling:
    """Algorithm 1's tile for the GEMM's smallest side, and the k-chunk the buffers hold."""
    plan = bram_plan(device)
    tile = tile_side(min(gemm.m, gemm.k, gemm.n), plan.l_min, plan.l_max)
    k_pad = _pad(gemm.k, tile)
    w_chunk = plan.buffer_bytes("weight") * 8 // (tile * weight_container_bits(w_bits))
    f_chunk = plan.buffer_bytes("feature") * 8 // (tile * a_bits)
    k_chunk = max(tile, min(k_pad, min(w_chunk, f_chunk) // tile * tile))
    # a GEMM narrower than the tile (batch-1 FC: n = 1) streams its columns unpadded, as the RTL does
    m_pad, n_pad = _pad(gemm.m, tile), (_pad(gemm.n, tile) if gemm.n >= tile else gemm.n)
    m_tiles, n_tiles = m_pad // tile, math.ceil(n_pad / tile)
    w_size, f_size = m_pad * weight_container_bits(w_bits), n_pad * a_bits  # per unit of k, per group
    # (weight loads, feature loads) with m-tiles outer, then with n-tiles outer
    m_outer = (1 if w_chunk >= k_pad else n_tiles, m_tiles)
    n_outer = (n_tiles, 1 if f_chunk >= k_pad else m_tiles)
    loads = min(m_outer, n_outer, key=lambda wf: wf[0] * w_size + wf[1] * f_size)
    return Tiling(tile, m_pad, k_pad, n_pad, k_chunk, *loads)


def issued_macs(gemm: Gemm, t: Tiling) -> int:
    """MACs the tree performs, padding included (per sample batch)."""
    return gemm.groups * t.m_pad * t.k_pad * t.n_pad


def compute_cycles(gemm: Gemm, t: Tiling, peak_macs_per_cycle: float, device: Device) -> int:
    """Padded MACs at the engine's peak rate plus one tree fill per (m, n, k-chunk) pass."""
    out_tiles = gemm.groups * t.m_tiles * t.n_tiles
    per_tile = math.ceil(t.tile * t.n_cols * t.k_pad / peak_macs_per_cycle)
    return out_tiles * (per_tile + t.k_chunks * device.tree_latency_cycles)


def weight_bytes_moved(gemm: Gemm, t: Tiling, w_bits: int) -> float:
    """Kernel-matrix bytes DDR -> BRAM (padding included, codes in their container bits), times the
    loop order re-reads them."""
    return gemm.groups * t.m_pad * t.k_pad * weight_container_bits(w_bits) / 8 * t.weight_loads


def feature_bytes_moved(gemm: Gemm, t: Tiling, a_bits: int) -> float:
    """Img2Col feature-matrix bytes DDR -> BRAM (padding included, the OHQ paper B.2.3), times re-read."""
    return gemm.groups * t.k_pad * t.n_pad * a_bits / 8 * t.feature_loads


def output_bytes(gemm: Gemm, a_bits: int) -> float:
    """Valid outputs BRAM -> DDR, requantized to the activation bit-width."""
    return gemm.groups * gemm.m * gemm.n * a_bits / 8


def transfer_cycles(w_bytes: float, f_bytes: float, a_bits: int, device: Device) -> int:
    """Input tiles DDR -> BRAM, one DMA set-up per buffer fill, plus the per-layer invocation.

    Weights stream contiguously at the DMA rate. The Img2Col feature matrix is gathered element by
    element (windows do not align to bus words), so it moves at the slower of the DMA rate and
    the gather rate: at low bit-widths the gather, not DDR, bounds it.
    """
    plan = bram_plan(device)
    dmas = math.ceil(w_bytes / plan.buffer_bytes("weight")) + math.ceil(
        f_bytes / plan.buffer_bytes("feature")
    )
    weights = w_bytes / device.dram_bytes_per_cycle
    features = max(f_bytes / device.dram_bytes_per_cycle, f_bytes * 8 / a_bits / device.img2col_elems_per_cycle)
    return math.ceil(weights + features) + dmas * device.dma_setup_cycles + device.layer_overhead_cycles


def writeback_cycles(gemm: Gemm, out_bytes: float, device: Device) -> int:
    """DMA time for the outputs, one set-up per output-buffer drain (accumulators are 32-bit)."""
    drains = math.ceil(gemm.groups * gemm.m * gemm.n * ACC_BITS / 8 / bram_plan(device).buffer_bytes("output"))
    return math.ceil(out_bytes / device.dram_bytes_per_cycle) + drains * device.dma_setup_cycles


def postprocess_cycles(gemm: Gemm, a_bits: int, device: Device) -> int:
    """Requant + activation (+ residual, pooling) on every valid output, one datapath word per cycle.

    The word holds `postprocess_word_bits / a_bits` outputs, so 4-bit outputs go twice as fast as
    8-bit ones (the RTL's post-process is one 64-bit bus word of output codes per cycle).
    """
    per_cycle = max(1.0, device.postprocess_word_bits / a_bits)
    return math.ceil(gemm.groups * gemm.m * gemm.n / per_cycle)


def bram18k_used(t: Tiling, w_bits: int, a_bits: int) -> int:
    """BRAM18 holding one weight panel, one feature panel and one accumulator tile (B.2.4 splicing)."""

    def blocks(rows: int, row_bits: int) -> int:
        by_width = math.ceil(row_bits / BRAM18_WIDTH_BITS)
        by_bytes = math.ceil(rows * row_bits / 8 / BRAM18_BYTES)
        return max(by_width, by_bytes)

    return (
        blocks(t.k_chunk, t.tile * w_bits)
        + blocks(t.k_chunk, t.tile * a_bits)
        + blocks(t.tile, t.tile * ACC_BITS)
    )


def mac_energy_pj(resource: Resource, w_bits: int, a_bits: int, device: Device) -> float:
    """Dynamic energy of one MAC: a DSP cycle shared by the packed products, or the LUTs that toggle."""
    bits = max(w_bits, a_bits)
    dsp_mac = device.e_dsp_pj / dsp_pack(bits, device.dsp_type)
    if resource is Resource.DSP:
        if bits <= lut_mult_max_bits(device.dsp_type):  # DSP and LUT multipliers share the work by throughput
            p_dsp = device.pe_dsp * dsp_pack(bits, device.dsp_type)
            p_lut = lut_pes(Resource.DSP, w_bits, a_bits, device)
            lut_mac = product_luts(Resource.DSP, w_bits, a_bits, device) * device.e_lut_pj
            return (p_dsp * dsp_mac + p_lut * lut_mac) / (p_dsp + p_lut)
        return dsp_mac
    acc = device.e_dsp_pj / 3  # the accumulating DSP serves SVPE_PRODUCTS_PER_DSP products
    if resource is Resource.SHIFT:
        return product_luts(resource, w_bits, a_bits, device) * device.e_lut_pj + acc
    sp2 = product_luts(Resource.SHIFT_ADD, w_bits, a_bits, device) * device.e_lut_pj
    if resource is Resource.SHIFT_ADD:
        return sp2 + acc
    rho = balanced_sp2_share(device, w_bits, a_bits)
    return rho * sp2 + (1 - rho) * dsp_mac


def bram_accesses(gemm: Gemm, t: Tiling, w_bytes: float, f_bytes: float, out_b: float) -> float:
    """64-bit BRAM accesses: fills from DDR, one operand read per tile pass, accumulator RMW, drain."""
    fills = (w_bytes + f_bytes) / 8
    passes = gemm.groups * t.m_tiles * t.n_tiles
    operand_reads = passes * t.tile * t.k_pad * 2 * 8 / 64  # ~8-bit words packed into 64-bit reads
    acc = passes * t.k_chunks * t.tile * t.n_cols * ACC_BITS * 2 / 64
    return fills + operand_reads + acc + out_b / 8


def energy_mj(
    macs: int, mac_pj: float, accesses: float, dram_b: float, cycles: int, device: Device
) -> float:
    """Energy = MACs·E_mac + BRAM accesses·E_bram + DRAM bytes·E_dram + static power·time, in mJ."""
    dynamic_pj = macs * mac_pj + accesses * device.e_bram_pj + dram_b * device.e_dram_pj_per_byte
    static_j = device.static_power_w * cycles / device.clock_hz
    return dynamic_pj * 1e-9 + static_j * 1e3


@dataclass(frozen=True)
class LayerCost:
    """What one layer costs on one device at one bit-width and scheme (or what a probe measured)."""

    name: str
    kind: str
    params: int
    macs: int
    w_bits: int
    a_bits: int
    scheme: str
    cycles: dict[str, int]  # compute, transfer, writeback, postprocess, total
    latency_ms: float
    energy_mj: float
    bram18k: int
    dsp: int
    lut: int
    dram_bytes: int
    utilization: float  # real MACs / (compute cycles x peak MACs per cycle); 0 when unknown

    def to_dict(self) -> dict:
        """The JSON record `ohq hw --json` prints for a layer (keys fixed by the CLI contract)."""
        return {
            "name": self.name, "kind": self.kind, "params": self.params, "macs": self.macs,
            "w_bits": self.w_bits, "scheme": self.scheme, "cycles": dict(self.cycles),
            "latency_ms": self.latency_ms, "energy_mj": self.energy_mj, "bram18k": self.bram18k,
            "dsp": self.dsp, "lut": self.lut, "dram_bytes": self.dram_bytes,
        }


def steps_total(steps: dict[str, int]) -> dict[str, int]:
    """The four step counts plus their sum under `total`."""
    out = {k: int(steps[k]) for k in STEPS}
    out["total"] = sum(out.values())
    return out


def _band_steps(layer: Layer, w_bits: int, a_bits: int, compute: int, device: Device):
    """Transfer, write-back and post-process with the RTL's band structure, and (weight, feature,
    output) bytes moved."""
    d = dma.dma_plan(layer, w_bits, a_bits, device)
    rate = dma.dma_rate(device)
    post = int(dma.postprocess_cycles(d, a_bits, device.postprocess_word_bits))
    return {
        "transfer": int(dma.transfer_cycles(d, compute, post, rate, device.dma_setup_cycles,
                                            device.layer_overhead_cycles)),
        "writeback": int(dma.writeback_cycles(d, rate)),
        "postprocess": post,
    }, (d.weight_bytes, d.feature_bytes, d.out_bytes)


def layer_cost(
    layer: Layer,
    w_bits: int,
    a_bits: int,
    scheme: str,
    resource: Resource,
    device: Device,
    peak_macs_per_cycle: float | None = None,
    transfer: str = "img2col",
) -> LayerCost:
    """The accelerator model's cost of `layer` at (w_bits, a_bits) on the engine of `resource`.

    `peak_macs_per_cycle` replaces the engine's rate (e.g. n-BQ-NN's VPE baseline for a comparison);
    `transfer` picks how inputs reach the buffers (`TRANSFERS`).
    """
    gemm = gemm_of(layer)
    t = tiling(gemm, w_bits, a_bits, device)
    peak = peak_macs_per_cycle or macs_per_cycle(resource, w_bits, a_bits, device)
    compute = compute_cycles(gemm, t, peak, device)
    if transfer == "band":
        steps, (w_b, f_b, out_b) = _band_steps(layer, w_bits, a_bits, compute, device)
    elif transfer == "img2col":
        w_b, f_b, out_b = weight_bytes_moved(gemm, t, w_bits), feature_bytes_moved(gemm, t, a_bits), output_bytes(gemm, a_bits)
        steps = {"transfer": transfer_cycles(w_b, f_b, a_bits, device), "writeback": writeback_cycles(gemm, out_b, device),
                 "postprocess": postprocess_cycles(gemm, a_bits, device)}
    else:
        raise OhqError(f"unknown transfer form {transfer!r}; use {' or '.join(TRANSFERS)}")
    cycles = steps_total({"compute": compute, **steps})
    dram = w_b + f_b + out_b
    issued = issued_macs(gemm, t)
    energy = energy_mj(
        issued, mac_energy_pj(resource, w_bits, a_bits, device),
        bram_accesses(gemm, t, w_b, f_b, out_b), dram, cycles["total"], device,
    )
    dsp, lut = engine_resources(resource, w_bits, a_bits, device)
    return LayerCost(
        name=layer.name, kind=layer.kind, params=layer.params, macs=layer.macs * layer.in_shape[0],
        w_bits=w_bits, a_bits=a_bits, scheme=scheme, cycles=cycles,
        latency_ms=cycles["total"] / device.clock_hz * 1e3, energy_mj=energy,
        bram18k=bram18k_used(t, w_bits, a_bits), dsp=dsp, lut=lut, dram_bytes=int(round(dram)),
        utilization=layer.macs * layer.in_shape[0] / (cycles["compute"] * peak),
    )
