"""Jobs for the post-processing unit (verilog/ohq_vec.sv): the graph ops between layers.

A `VecJob` is one op on one sample: plane-wise window max/sum of input A (a 1x1 window is
elementwise), optionally plus input B, then either a 2^b-entry table or the dyadic
clamp((m0·v0 + m1·v1 + c0) >> k, lo, hi). `pack_vec` lays the planes out word-aligned in DRAM
(the driver's choice) and returns the unit's registers; an elementwise op runs on the whole tensor
cut into rows of at most the buffer's size. A job that does not fit raises `RtlMapError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ohq.hw.rtl.build import RtlConfig, container
from ohq.hw.rtl.job import M_BITS, RtlMapError, pack_words, unpack_words
from ohq.hw.rtl.sim import RtlResult, simulate

TABLE_BITS = 8  # the table holds 2^8 entries: LUT ops take inputs of at most 8 bits


@dataclass
class VecJob:
    a: np.ndarray                  # (C, H, W) unsigned codes
    a_bits: int
    o_bits: int
    b: np.ndarray | None = None    # (C, H, W) second input (residual add)
    b_bits: int = 8
    table: np.ndarray | None = None  # (2^a_bits,) output codes: a lookup op
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    pad: int = 0
    dil: int = 1
    pool: str = "sum"              # window reduction: sum | max
    m0: int = 1
    m1: int = 0
    c0: int = 0
    shift: int = 0
    lo: int = 0
    hi: int = 0
    out_hw: tuple[int, int] | None = None  # pooled size (default: the window slides without ceil)

    @property
    def elementwise(self) -> bool:
        return self.kernel == (1, 1) and self.stride == 1 and self.pad == 0

    def pooled_hw(self) -> tuple[int, int]:
        if self.out_hw is not None:
            return self.out_hw
        _, h, w = self.a.shape
        span = [self.dil * (k - 1) + 1 for k in self.kernel]
        return (h + 2 * self.pad - span[0]) // self.stride + 1, (w + 2 * self.pad - span[1]) // self.stride + 1


def lanes(slot_bits: int, stride: int, vl: int = 16) -> int:
    """Lanes the unit runs per cycle: one input word's worth, at most VL, and at most
    32 / gcd(stride, 32) so that strided lanes read distinct buffer banks (ohq_vec.sv)."""
    return min(64 // slot_bits, vl, 32 // math.gcd(stride, 32))


def _words(n: int, bits: int) -> int:
    return -(-n // (64 // bits))


def _planes(x: np.ndarray, bits: int) -> np.ndarray:
    """(P, n) codes → P word-aligned planes, one after another."""
    return np.concatenate([pack_words(p, bits) for p in x]) if len(x) else np.zeros(0, np.uint64)


def _check(job: VecJob, cfg: RtlConfig) -> None:
    for name, bits in (("input", job.a_bits), ("second input", job.b_bits), ("output", job.o_bits)):
        if not 1 <= bits <= 16:
            raise RtlMapError(f"{name} codes of {bits} bits: the post-processing unit takes 1 to 16")
    if job.table is not None and job.a_bits > TABLE_BITS:
        raise RtlMapError(f"a lookup of {job.a_bits}-bit codes needs 2^{job.a_bits} entries, "
                          f"more than the table's 2^{TABLE_BITS}")
    if job.b is not None and (job.b.shape != job.a.shape or not job.elementwise):
        raise RtlMapError(f"residual add of shapes {job.a.shape} and {job.b.shape}: "
                          "the unit adds equal shapes elementwise")
    if not job.elementwise and job.a.shape[1] * job.a.shape[2] > cfg.fmax:
        raise RtlMapError(f"a {job.a.shape[1]}x{job.a.shape[2]} plane overflows the post-processing "
                          f"buffer ({cfg.fmax} entries)")
    if not job.elementwise and math.prod(job.pooled_hw()) > cfg.fmax:
        raise RtlMapError(f"a {job.pooled_hw()} output plane overflows the post-processing "
                          f"buffer ({cfg.fmax} entries)")
    if job.kernel[0] > 1 << 16 or job.shift > 63:
        raise RtlMapError(f"window {job.kernel} or shift {job.shift} out of the unit's range")
    for name, m in (("m0", job.m0), ("m1", job.m1)):
        if not -(1 << (M_BITS - 1)) <= m < 1 << (M_BITS - 1):
            raise RtlMapError(f"multiplier {name} = {m} overflows the unit's {M_BITS}-bit multipliers")


def pack_vec(job: VecJob, cfg: RtlConfig) -> tuple[dict[str, int], np.ndarray, int, int, tuple]:
    """(registers, DRAM words, output word, output word count, (planes, n per plane, out shape))."""
    _check(job, cfg)
    c, h, w = job.a.shape
    if job.elementwise:  # the whole tensor as rows of at most fmax elements
        n = c * h * w
        row = min(cfg.fmax, max(n, 1))
        planes = -(-n // row)
        pad_to = planes * row
        a = np.concatenate([job.a.reshape(-1), np.zeros(pad_to - n, np.int64)]).reshape(planes, row)
        b = None if job.b is None else \
            np.concatenate([job.b.reshape(-1), np.zeros(pad_to - n, np.int64)]).reshape(planes, row)
        geo = dict(v_ih=1, v_iw=row, v_oh=1, v_ow=row, v_kh=1, v_kw=1, v_stride=1, v_pad=0, v_dil=1)
        oh_ow, shape = row, (c, h, w)
    else:
        oh, ow = job.pooled_hw()
        planes, a, b = c, job.a.reshape(c, h * w), None
        geo = dict(v_ih=h, v_iw=w, v_oh=oh, v_ow=ow, v_kh=job.kernel[0], v_kw=job.kernel[1],
                   v_stride=job.stride, v_pad=job.pad, v_dil=job.dil)
        oh_ow, shape = oh * ow, (c, oh, ow)
    ab, bb, ob = container(job.a_bits), container(job.b_bits), container(job.o_bits)  # slots
    apw, opw = _words(a.shape[1], ab), _words(oh_ow, ob)
    bpw = _words(a.shape[1], bb) if b is not None else 0
    parts = [_planes(a, ab)]
    if b is not None:
        parts.append(_planes(b, bb))
    table = np.zeros(0, np.uint64)
    if job.table is not None:
        table = pack_words(np.resize(job.table, 1 << ab), 16)
        parts.append(table)
    dram = np.concatenate(parts + [np.zeros(planes * opw, np.uint64)])
    aw, bw = 0, planes * apw
    tw = bw + planes * bpw
    ow0 = tw + len(table)
    post = planes * -(-oh_ow // lanes(ab, geo["v_stride"], cfg.vec_lanes)) * (geo["v_kh"] * geo["v_kw"] + 1)
    w_in = geo["v_iw"]
    regs = dict(unit=1, v_c=planes, **geo, v_pool=int(job.pool == "max"), v_two=int(b is not None),
                v_lut=int(job.table is not None), v_abits=ab, v_bbits=bb,
                v_obits=ob, v_shift=job.shift, v_lo=job.lo, v_hi=job.hi, v_m0=job.m0,
                v_m1=job.m1, v_c0=job.c0, v_aw=aw, v_bw=bw, v_tw=tw, v_ow0=ow0, v_apw=apw,
                v_bpw=bpw, v_opw=opw, max_cycles=20 * (len(dram) + post) + 10_000_000)
    # the products the unit's address counters step by (it multiplies only data)
    regs.update(v_siw=regs["v_stride"] * w_in, v_diw=regs["v_dil"] * w_in, v_piw=regs["v_pad"] * w_in,
                v_ihw=regs["v_ih"] * w_in, v_ohw=regs["v_oh"] * regs["v_ow"])
    return regs, dram, ow0, planes * opw, (planes, oh_ow, opw, shape)


def run_vec(job: VecJob, cfg: RtlConfig) -> RtlResult:
    """The op on the simulated chip: output codes (C, OH, OW) and the unit's counters."""
    regs, dram, out_word, out_count, (planes, per, opw, shape) = pack_vec(job, cfg)
    words, counts, secs, dram_bytes = simulate(regs, dram, out_word, out_count, cfg)
    ob = container(job.o_bits)
    rows = [unpack_words(words[i * opw:(i + 1) * opw], ob, per, signed=False) for i in range(planes)]
    flat = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    n = int(np.prod(shape))
    return RtlResult(flat[:n].reshape(shape), counts, secs, dram_bytes)
