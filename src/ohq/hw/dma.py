"""Transfer, write-back and post-process with the structure the layer engine has (ohq.hw.rtl).

The feature buffer holds one *band* of input rows of one group: the driver picks the most output
rows whose input rows fit the feature buffer and whose outputs fit the accumulators
(`band_rows`, the same rule as `ohq.hw.rtl.job.band_rows`). Per group and band:

- features: one read DMA per input channel (its rows of the band), or one for the group when the
  band is the whole unpadded map; each input row crosses DDR once per band (halo rows twice), at
  the activation bits, so nothing is expanded by Img2Col (the gather runs on chip);
- weights: one record per output channel (`HEADER_WORDS` words of m, c, bias, then the codes in
  their container bits), fetched per channel pair (the two output channels whose products share
  an activation in one DSP48); the band's first pair waits on its DMA, each later pair's is
  prefetched while the previous pair computes and post-processes, and only what they leave
  unhidden is paid (weights are re-read per band);
- write-back: one write DMA per output channel and band, outputs at their bits; writes are posted,
  so they pay bytes at the DMA rate and a handshake, not the read latency;
- post-process: one `postprocess_word_bits` word of outputs per cycle, per channel and band.

A read DMA costs `dma_setup_cycles` (descriptor and first-beat latency) plus its bytes at the DMA
rate, capped at one AXI word per cycle (`dma_rate`); a few control cycles per DMA and channel pair
are the engine's state machine's. Linear layers are 1 x 1 convs on a 1 x 1 map (one DMA for the
input vector), run once per row of the batch. Not modelled: a DMA's misaligned first word and the
DRAM model's few beats of banked credit after idle cycles (together within 3 % on every network
refereed, docs/hardware.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from ohq.graph import Layer
from ohq.hw.accelerator import bram_plan, weight_container_bits
from ohq.hw.device import Device

CHANNELS_PER_PASS = 2  # output channels per tree pass: two products share an activation (DSP packing)
HEADER_WORDS = 4  # 64-bit words per channel record before its codes: m, c, bias, spare
READ_CONTROL_CYCLES = 3  # ohq_core: issue (S_FJOB/S_WJOB), start, and the wait state's last cycle
PAIR_CONTROL_CYCLES = 4  # ohq_core per channel pair: WJOB, WWAIT, PFWAIT, NEXT
WRITE_CONTROL_CYCLES = 3  # ohq_core per write DMA: issue (S_OJOB), start, and S_OWAIT's last cycle
ACC_BYTES = 8  # one accumulator entry holds the pair's two 32-bit sums


@dataclass(frozen=True)
class Geometry:
    """A layer as the engine sees one job: per group, a (cin_g, h, w) map into cout_g channels."""

    groups: int
    cin_g: int
    h: int
    w: int
    cout_g: int
    kh: int
    kw: int
    stride: int
    pad: int
    oh: int
    ow: int
    jobs: int  # jobs per inference: the batch (times the rows of a linear's input)


def geometry(layer: Layer) -> Geometry:
    if layer.kind == "linear" or len(layer.in_shape) != 4:
        rows = math.prod(layer.out_shape[:-1])
        return Geometry(1, layer.in_channels, 1, 1, layer.out_channels, 1, 1, 1, 0, 1, 1, rows)
    g = layer.groups
    kh, kw = layer.kernel
    return Geometry(g, layer.in_channels // g, layer.in_shape[2], layer.in_shape[3], layer.out_channels // g,
                    kh, kw, layer.stride[0], layer.padding[0], layer.out_shape[2], layer.out_shape[3],
                    layer.in_shape[0])


def buffers(device: Device, a_bits: int) -> tuple[int, int]:
    """(feature-buffer elements at `a_bits`, accumulator entries): Algorithm 2's buffers, as the
    `rtl` probe builds them."""
    plan = bram_plan(device)
    return plan.buffer_bytes("feature") * 8 // a_bits, plan.buffer_bytes("output") // ACC_BYTES


def band_rows(geo: Geometry, fmax: int, pmax: int) -> int:
    """Output rows per band; a map whose one input row band overflows the buffer still runs as
    single-row bands here (the RTL refuses it: `RtlMapError`)."""
    by_f = (fmax // (geo.cin_g * geo.w) - geo.kh) // geo.stride + 1
    return max(1, min(geo.oh, by_f, pmax // max(1, geo.ow)))


@dataclass(frozen=True)
class DmaPlan:
    """What one inference of a layer moves, in DMAs and bytes, and how its outputs are grouped.
    Fields may be NumPy arrays (one entry per layer: `ohq.hw.calibrate` evaluates grids on them)."""

    band: int  # output rows per band
    feature_dmas: int
    feature_bytes: float
    pair_bytes: float  # one channel pair's records
    first_pairs: int  # (job, group, band) whose first pair's weights are waited for
    later_pairs: int  # pairs whose weights were prefetched
    write_dmas: int
    out_bytes: float  # output words written (whole 64-bit words per DMA)
    full_pixels: int  # output pixels of a full band
    full_bands: int  # channel-bands of full bands
    last_pixels: int  # output pixels of the shorter last band (0: none)
    last_bands: int

    @property
    def pairs(self):
        return self.first_pairs + self.later_pairs

    @property
    def weight_bytes(self):
        return self.pairs * self.pair_bytes


def _words(elems: int, bits: int) -> int:
    return math.ceil(elems * bits / 64)


def dma_plan(layer: Layer, w_bits: int, a_bits: int, device: Device) -> DmaPlan:
    """The layer's bands, DMAs and bytes on `device`'s buffers at (w_bits, a_bits)."""
    geo = geometry(layer)
    fmax, pmax = buffers(device, a_bits)
    band = band_rows(geo, fmax, pmax)
    kdim = geo.cin_g * geo.kh * geo.kw
    record = (HEADER_WORDS + _words(kdim, weight_container_bits(w_bits))) * 8
    pairs = math.ceil(geo.cout_g / CHANNELS_PER_PASS)
    f_dmas = f_words = 0
    for oy0 in range(0, geo.oh, band):
        boh = min(band, geo.oh - oy0)
        r0 = oy0 * geo.stride - geo.pad
        rows = min(geo.h, r0 + (boh - 1) * geo.stride + geo.kh) - max(0, r0)
        whole = r0 == 0 and rows == geo.h and (boh - 1) * geo.stride + geo.kh == geo.h
        f_dmas += 1 if whole else geo.cin_g
        f_words += _words(geo.cin_g * rows * geo.w, a_bits) if whole else geo.cin_g * _words(rows * geo.w, a_bits)
    full, rest = divmod(geo.oh, band)
    bands = full + (rest > 0)
    n = geo.jobs * geo.groups  # (job, group) runs
    ch = n * geo.cout_g
    return DmaPlan(
        band=band, feature_dmas=n * f_dmas, feature_bytes=n * f_words * 8.0,
        pair_bytes=record * geo.cout_g / pairs, first_pairs=n * bands, later_pairs=n * bands * (pairs - 1),
        write_dmas=ch * bands,
        out_bytes=ch * (full * _words(band * geo.ow, a_bits) + (rest > 0) * _words(rest * geo.ow, a_bits)) * 8.0,
        full_pixels=band * geo.ow, full_bands=ch * full, last_pixels=rest * geo.ow, last_bands=ch * (rest > 0),
    )


def postprocess_cycles(d: DmaPlan, a_bits, word_bits):
    """One word of outputs per cycle (`word_bits / a_bits` outputs), per channel and band."""
    per = np.maximum(1.0, word_bits / a_bits)
    return d.full_bands * np.ceil(d.full_pixels / per) + d.last_bands * np.ceil(d.last_pixels / per)


def transfer_cycles(d: DmaPlan, compute, post, bw, setup, invocation):
    """Feature and exposed weight DMAs: set-up each, bytes at `bw`; a prefetched pair costs what the
    previous pair's compute and post-process (their per-pair share) do not hide; plus the
    per-layer invocation."""
    hide = (compute + post) / np.maximum(1, d.pairs)
    prefetch = np.maximum(0.0, setup + d.pair_bytes / bw - hide)
    cycles = (d.feature_dmas * (setup + READ_CONTROL_CYCLES) + d.feature_bytes / bw
              + d.first_pairs * (setup + READ_CONTROL_CYCLES + d.pair_bytes / bw)
              + d.later_pairs * prefetch + d.pairs * PAIR_CONTROL_CYCLES)
    return np.ceil(cycles + invocation)


def writeback_cycles(d: DmaPlan, bw):
    """Posted writes: output words at `bw` and a handshake per DMA."""
    return np.ceil(d.out_bytes / bw + d.write_dmas * WRITE_CONTROL_CYCLES)


def dma_rate(device: Device, dma_efficiency: float | None = None) -> float:
    """Bytes per cycle of one DMA: the device's DMA rate (at `dma_efficiency` if given), at most one
    AXI word per cycle (a DMA stream runs through one port)."""
    rate = device.dram_bytes_per_cycle
    if dma_efficiency is not None:
        rate *= dma_efficiency / device.dma_efficiency
    return min(rate, device.axi_width_bits / 8)


def stack(plans: list[DmaPlan]) -> DmaPlan:
    """One DmaPlan of arrays from per-layer plans."""
    return DmaPlan(**{f.name: np.array([getattr(p, f.name) for p in plans], float) for f in fields(DmaPlan)})
