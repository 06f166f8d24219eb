"""Layer-specific dataflow (the mixed-dataflow paper): Img2Col, row-based and frame-based weight reuse, per layer.

All three feed the same multiply-add tree (`ohq.hw.cost.compute_cycles`, Algorithm 1's tiles);
they differ in what stays on chip and so in what crosses DDR:

- `img2col` (the OHQ paper B.2): the GEMM schedule of `ohq.hw.cost`. The feature matrix is the
  Img2Col expansion (each input element about k_h·k_w times), gathered element by element.
- `row` (row-based weight reuse): the layer's weights stay on chip; a line buffer holds k_h + s_h
  input rows (all channels), and each input row crosses DDR once. When the weights do not fit they
  are split into blocks of output channels and the input is streamed once per block. Suits early
  layers: few weights, large feature maps.
- `frame` (frame-based weight reuse): the whole input frame stays on chip and blocks of
  `FRAME_BLOCK` output channels' weights stream past it, each weight read once. When the frame does
  not fit it is cut into row stripes (with a k_h − s_h row halo) and the weights are re-read per
  stripe. Suits deep layers: small maps, many weights.

Sparse weights (`ohq.quant.prune`) cross DDR and sit in BRAM in their stored format. Zero skipping:
channel-pruned filters are skipped by every dataflow (the GEMM has fewer rows). Unstructured zeros
are skipped only by `row` and `frame`, whose weights are stationary as (value, index) lists and
the index addresses the on-chip line/frame buffer; the Img2Col tree matches a dense weight tile
slot for slot against the streamed feature tile, so its zeros still cost a slot (they are
decompressed on chip after a compressed DMA). Skipping runs at `ZERO_SKIP_EFFICIENCY` (assumed).

With `resident=True` (`--fit-bram`) every layer's weights live in BRAM for the whole inference:
none cross DDR, and `row` never splits.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ohq.errors import OhqError
from ohq.graph import Layer
from ohq.hw import cost as hc
from ohq.hw.accelerator import BRAM18_BYTES, gemm_of, macs_per_cycle
from ohq.hw.device import Device
from ohq.hw.plan import scheme_resource

DATAFLOWS = ("img2col", "row", "frame")
MODES = ("auto", *DATAFLOWS)
OBJECTIVES = ("traffic", "latency")
FRAME_BLOCK = 16  # output channels per streamed weight block: one per tree lane group (assumed)
ZERO_SKIP_EFFICIENCY = 0.8  # PE load balance when skipping unstructured zeros (assumed)


@dataclass(frozen=True)
class WeightStore:
    """How one layer's weights are stored: total bits (indices included), density, kept filters."""

    bits: int
    density: float = 1.0
    channel_keep: float = 1.0
    fmt: str = "dense"


@dataclass(frozen=True)
class FlowCost:
    """One layer under one dataflow: DDR bytes by operand, BRAM18K, the four steps, energy."""

    name: str
    dataflow: str
    w_bits: int
    a_bits: int
    offchip: dict[str, float]  # weights, inputs, outputs (bytes per inference)
    bram18k: int
    cycles: dict[str, int]
    latency_ms: float
    energy_mj: float
    passes: int  # times the streamed operand is re-read (weight blocks or frame stripes)

    @property
    def dram_bytes(self) -> int:
        return int(round(sum(self.offchip.values())))

    def to_dict(self) -> dict:
        return {
            "name": self.name, "dataflow": self.dataflow, "w_bits": self.w_bits, "a_bits": self.a_bits,
            "offchip": dict(self.offchip), "dram_bytes": self.dram_bytes, "bram18k": self.bram18k,
            "cycles": dict(self.cycles), "latency_ms": self.latency_ms, "energy_mj": self.energy_mj,
            "passes": self.passes,
        }


def bram_budget(device: Device, bram18k: int | None = None) -> int:
    """BRAM18K a design may use: an explicit budget or the device's utilisation limit."""
    if bram18k is not None:
        return int(bram18k)
    return math.floor(device.bram18k * device.bram_util_max)


def blocks(nbytes: float) -> int:
    """BRAM18K that hold `nbytes` (2 KiB of data each, UG473)."""
    return math.ceil(nbytes / BRAM18_BYTES) if nbytes > 0 else 0


def weight_count(layer: Layer) -> int:
    kh, kw = layer.kernel if layer.kind != "linear" else (1, 1)
    return layer.out_channels * (layer.in_channels // layer.groups) * kh * kw


def dense_store(layer: Layer, w_bits: int) -> WeightStore:
    return WeightStore(weight_count(layer) * w_bits)


def _fmap(layer: Layer) -> tuple[int, int, int, int, int, int]:
    """(batch, C_in, H_in, W_in, H_out, W_out); a linear layer is a 1 x 1 map."""
    if layer.kind == "linear" or len(layer.in_shape) != 4:
        rows = math.prod(layer.in_shape[:-1])
        return rows, layer.in_channels, 1, 1, 1, 1
    n, c, h, w = layer.in_shape
    return n, c, h, w, layer.out_shape[2], layer.out_shape[3]


def _shrunk(layer: Layer, keep: float) -> Layer:
    """The layer with pruned output filters removed (dense convs and linears only)."""
    if keep >= 1 or layer.groups != 1:
        return layer
    out = max(1, round(layer.out_channels * keep))
    shape = (layer.out_shape[0], out, *layer.out_shape[2:]) if len(layer.out_shape) == 4 else (*layer.out_shape[:-1], out)
    return dataclasses.replace(layer, out_channels=out, out_shape=shape)


def _compute(layer: Layer, w_bits: int, a_bits: int, scheme: str, device: Device, store: WeightStore, skip: bool):
    """(gemm, tiling, compute cycles, issued MACs) on the shared multiply-add tree."""
    gemm = gemm_of(_shrunk(layer, store.channel_keep))
    t = hc.tiling(gemm, w_bits, a_bits, device)
    peak = macs_per_cycle(scheme_resource(scheme), w_bits, a_bits, device)
    cycles = hc.compute_cycles(gemm, t, peak, device)
    issued = hc.issued_macs(gemm, t)
    dense_share = store.density / store.channel_keep if store.channel_keep > 0 else 1.0
    if skip and dense_share < 1:
        share = min(1.0, dense_share / ZERO_SKIP_EFFICIENCY)
        cycles, issued = math.ceil(cycles * share), math.ceil(issued * share)
    return gemm, t, cycles, issued


def _finish(layer, flow, w_bits, a_bits, scheme, device, gemm, t, compute, issued, off, bram, passes, transfer):
    cycles = hc.steps_total({
        "compute": compute,
        "transfer": transfer,
        "writeback": hc.writeback_cycles(gemm, off["outputs"], device),
        "postprocess": hc.postprocess_cycles(gemm, a_bits, device),
    })
    resource = scheme_resource(scheme)
    energy = hc.energy_mj(
        issued, hc.mac_energy_pj(resource, w_bits, a_bits, device),
        hc.bram_accesses(gemm, t, off["weights"], off["inputs"], off["outputs"]),
        sum(off.values()), cycles["total"], device,
    )
    return FlowCost(layer.name, flow, w_bits, a_bits, off, bram, cycles,
                    cycles["total"] / device.clock_hz * 1e3, energy, passes)


def _stream_cycles(off: dict[str, float], dmas: int, device: Device) -> int:
    """Contiguous rows and weight blocks at the DMA rate (no Img2Col gather), one set-up per DMA."""
    streamed = off["weights"] + off["inputs"]
    return math.ceil(streamed / device.dram_bytes_per_cycle) + dmas * device.dma_setup_cycles + device.layer_overhead_cycles


def img2col_cost(layer, w_bits, a_bits, scheme, device, store=None, resident=False) -> FlowCost:
    """Seed 003's GEMM schedule; compressed weights cross DDR compressed, the tree stays dense."""
    store = store or dense_store(layer, w_bits)
    gemm, t, compute, issued = _compute(layer, w_bits, a_bits, scheme, device, store, skip=False)
    ratio = store.bits / max(1, weight_count(_shrunk(layer, store.channel_keep)) * w_bits)
    w_b = 0.0 if resident else hc.weight_bytes_moved(gemm, t, w_bits) * min(1.0, ratio)
    f_b = hc.feature_bytes_moved(gemm, t, a_bits)
    off = {"weights": w_b, "inputs": f_b, "outputs": hc.output_bytes(gemm, a_bits)}
    transfer = hc.transfer_cycles(w_b, f_b, a_bits, device)  # keeps the Img2Col gather bound
    return _finish(layer, "img2col", w_bits, a_bits, scheme, device, gemm, t, compute, issued, off,
                   hc.bram18k_used(t, w_bits, a_bits), max(t.weight_loads, t.feature_loads), transfer)


def row_cost(layer, w_bits, a_bits, scheme, device, store=None, budget=None, resident=False) -> FlowCost | None:
    """Weights stationary, input rows streamed through a line buffer (None: nothing fits)."""
    store = store or dense_store(layer, w_bits)
    budget = bram_budget(device, budget)
    n, c, h, w, ho, wo = _fmap(layer)
    kh = layer.kernel[0] if layer.kind != "linear" else 1
    sh = layer.stride[0] if layer.kind != "linear" else 1
    line = min(kh + sh, h) * w * c * a_bits / 8
    m = layer.out_channels
    w_bytes = store.bits / 8
    per_channel = w_bytes / max(1, round(m * store.channel_keep))
    out_row = 2 * wo * min(m, FRAME_BLOCK) * a_bits / 8
    free = budget - blocks(line) - blocks(out_row)
    if resident:
        m_block, w_blocks = m, 0
    else:
        m_block = min(m, int(free * BRAM18_BYTES // per_channel)) if per_channel > 0 else m
        w_blocks = blocks(min(w_bytes, m_block * per_channel))
    if m_block < 1 or free < w_blocks:
        return None
    passes = math.ceil(m / m_block)
    gemm, t, compute, issued = _compute(layer, w_bits, a_bits, scheme, device, store, skip=True)
    off = {"weights": 0.0 if resident else w_bytes, "inputs": n * c * h * w * a_bits / 8 * passes,
           "outputs": hc.output_bytes(gemm, a_bits)}
    dmas = passes * n * math.ceil(h / max(1, sh)) + (0 if resident else passes)
    return _finish(layer, "row", w_bits, a_bits, scheme, device, gemm, t, compute, issued, off,
                   w_blocks + blocks(line) + blocks(out_row), passes, _stream_cycles(off, dmas, device))


def frame_cost(layer, w_bits, a_bits, scheme, device, store=None, budget=None, resident=False) -> FlowCost | None:
    """Input frame stationary, weight blocks streamed (row stripes when the frame does not fit)."""
    store = store or dense_store(layer, w_bits)
    budget = bram_budget(device, budget)
    n, c, h, w, ho, wo = _fmap(layer)
    kh = layer.kernel[0] if layer.kind != "linear" else 1
    sh = layer.stride[0] if layer.kind != "linear" else 1
    m = layer.out_channels
    w_bytes = store.bits / 8
    block = 0 if resident else 2 * min(m, FRAME_BLOCK) * w_bytes / m  # double-buffered weight block
    out_row = 2 * wo * min(m, FRAME_BLOCK) * a_bits / 8
    row_bytes = w * c * a_bits / 8
    free = budget - blocks(block) - blocks(out_row)
    rows = min(h, int(free * BRAM18_BYTES // row_bytes)) if row_bytes > 0 else h
    halo = max(0, kh - sh)
    if rows < min(h, kh + sh) or free <= 0:
        return None
    out_rows = ho if rows >= h else max(1, (rows - halo) // max(1, sh))
    stripes = math.ceil(ho / out_rows)
    gemm, t, compute, issued = _compute(layer, w_bits, a_bits, scheme, device, store, skip=True)
    inputs = n * (c * h * w + (stripes - 1) * halo * row_bytes * 8 / a_bits) * a_bits / 8
    weight_reads = n * stripes  # each sample's frame, stripe by stripe
    off = {"weights": 0.0 if resident else w_bytes * weight_reads, "inputs": inputs,
           "outputs": hc.output_bytes(gemm, a_bits)}
    dmas = n * stripes * (1 + (0 if resident else math.ceil(m / FRAME_BLOCK)))
    return _finish(layer, "frame", w_bits, a_bits, scheme, device, gemm, t, compute, issued, off,
                   blocks(block) + blocks(min(rows, h) * row_bytes) + blocks(out_row), stripes,
                   _stream_cycles(off, dmas, device))


def flow_cost(layer: Layer, w_bits: int, a_bits: int, scheme: str, device: Device, dataflow: str,
              store: WeightStore | None = None, budget: int | None = None, resident: bool = False) -> FlowCost | None:
    """The cost of `layer` under one dataflow; None when its buffers cannot fit `budget` BRAM18K."""
    if dataflow == "img2col":
        return img2col_cost(layer, w_bits, a_bits, scheme, device, store, resident)
    if dataflow == "row":
        return row_cost(layer, w_bits, a_bits, scheme, device, store, budget, resident)
    if dataflow == "frame":
        return frame_cost(layer, w_bits, a_bits, scheme, device, store, budget, resident)
    raise OhqError(f"unknown dataflow {dataflow!r}; use {', '.join(MODES)}")


def pick(layer: Layer, w_bits: int, a_bits: int, scheme: str, device: Device, mode: str = "auto",
         store: WeightStore | None = None, budget: int | None = None, resident: bool = False,
         objective: str = "traffic") -> tuple[FlowCost | None, dict[str, FlowCost | None]]:
    """The chosen dataflow's cost and every candidate's (auto: least traffic, or latency, that fits
    `budget` BRAM18K); None when no dataflow fits."""
    if mode not in MODES:
        raise OhqError(f"unknown dataflow {mode!r}; use {', '.join(MODES)}")
    if objective not in OBJECTIVES:
        raise OhqError(f"unknown dataflow objective {objective!r}; use {' or '.join(OBJECTIVES)}")
    options = {f: flow_cost(layer, w_bits, a_bits, scheme, device, f, store, budget, resident) for f in DATAFLOWS}
    limit = bram_budget(device, budget)
    fits = {f: c for f, c in options.items() if c is not None and c.bram18k <= limit}
    if not fits:
        return None, options
    if mode != "auto":  # a forced dataflow that does not fit falls back to Img2Col, then to any
        return fits.get(mode) or fits.get("img2col") or next(iter(fits.values())), options
    if objective == "traffic":  # ties (row and frame both read everything once): less BRAM, then faster
        return min(fits.values(), key=lambda c: (c.dram_bytes, c.bram18k, c.latency_ms)), options
    return min(fits.values(), key=lambda c: (c.latency_ms, c.dram_bytes, c.bram18k)), options
