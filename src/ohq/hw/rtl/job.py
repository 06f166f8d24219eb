"""One layer as a job for the simulated chip: integer tensors in, DRAM image and registers out.

A `LayerJob` holds what the PS driver hands the IP core: the input codes (C, H, W), the weight
codes (Cout, Cin/g, kh, kw), per-channel dyadic multipliers m and constants c with one shift k
(requantization (acc·m + c) >> k, clamped to [lo, hi]), or the bias for a layer whose 32-bit
accumulators go out as they are (`acc_mode`), plus the conv geometry. `pack` lays it out in DRAM
(activations packed in power-of-two containers, weight records of 4 header words + codes in
their container bits, tree pass by tree pass: pass kc holds k = kc·L .. kc·L + L - 1 from a word
boundary, `record_code_words`)
and picks the row band that fits the buffers; a layer that cannot map raises `RtlMapError`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ohq.errors import OhqError
from ohq.hw.rtl.build import RtlConfig, container

CFG = ("cin_g", "in_h", "in_w", "cout_g", "groups", "kh", "kw", "stride", "pad", "out_h", "out_w",
       "band_oh", "frows", "kdim", "zin", "lo", "hi", "shift_k", "acc_mode", "out_bits", "in_bit",
       "out_bit", "w_word", "max_cycles", "unit",
       # the post-processing unit (ohq.hw.rtl.vec)
       "v_c", "v_ih", "v_iw", "v_oh", "v_ow", "v_kh", "v_kw", "v_stride", "v_pad", "v_dil", "v_pool",
       "v_two", "v_lut", "v_abits", "v_bbits", "v_obits", "v_shift", "v_lo", "v_hi", "v_m0", "v_m1",
       "v_c0", "v_aw", "v_bw", "v_tw", "v_ow0", "v_apw", "v_bpw", "v_opw",
       # products of the registers above, precomputed by the driver (`products`, `vec.pack_vec`)
       "cstep", "rstep", "in_hw", "gin", "rband", "rband_w", "pad_w", "out_hw", "band_pix",
       "last_hi", "last_hiw", "v_siw", "v_diw", "v_piw", "v_ihw", "v_ohw")
HEADER_WORDS = 4  # m, c, bias, spare
M_BITS = 33       # the RTL's dyadic multipliers are 33-bit signed (ohq.quant.dyadic: |m| <= 2^31)


class RtlMapError(OhqError):
    """A layer or configuration the RTL cannot map (names the limit)."""


@dataclass
class LayerJob:
    x: np.ndarray          # (C, H, W) unsigned input codes
    w: np.ndarray          # (Cout, Cin/g, kh, kw) signed weight codes
    m: np.ndarray          # (Cout,) int64
    c: np.ndarray          # (Cout,) int64
    bias: np.ndarray       # (Cout,) int64 (acc_mode)
    shift: int
    zin: int
    lo: int
    hi: int
    out_bits: int          # bits of an output code, or 32 in acc_mode
    acc_mode: bool
    stride: int = 1
    pad: int = 0
    groups: int = 1

    @property
    def out_hw(self) -> tuple[int, int]:
        _, h, w = self.x.shape
        kh, kw = self.w.shape[2:]
        return (h + 2 * self.pad - kh) // self.stride + 1, (w + 2 * self.pad - kw) // self.stride + 1


@functools.lru_cache(maxsize=64)
def _sp2_table(bits: int) -> dict[int, int]:
    """|code| → i1 << m2 | i2 for SP2 codes (the first decomposition found)."""
    m1, m2 = (bits - 1 + 1) // 2, (bits - 1) // 2
    d = (1 << m1) - 1
    table: dict[int, int] = {}
    for i1 in range(1 << m1):
        for i2 in range(1 << m2):
            mag = (0 if i1 == 0 else 1 << (d - i1)) + (0 if i2 == 0 else 1 << (d - i2))
            table.setdefault(mag, (i1 << m2) | i2)
    if bits == 2:  # SP2 normalises 2-bit {0, ±1/2} to {0, ±1}: code 1 is q1 = 2^0
        table = {0: 0, 1: 1 << m2}
    return table


def encode_weights(codes: np.ndarray, cfg: RtlConfig) -> np.ndarray:
    """Integer weight codes → the hardware's b-bit encoding (two's complement, or sign + indices)."""
    wb = cfg.w_bits
    c = codes.astype(np.int64)
    if cfg.scheme == "uniform":
        return c & ((1 << wb) - 1)
    sign = (c < 0).astype(np.int64) << (wb - 1)
    mag = np.abs(c)
    if cfg.scheme == "pot":
        e = np.zeros_like(mag)
        nz = mag > 0
        e[nz] = np.log2(mag[nz]).astype(np.int64) + 1
        if np.any((1 << np.maximum(e - 1, 0)) * nz != mag) or e.max(initial=0) >= 1 << (wb - 1):
            raise RtlMapError(f"weight codes are not {wb}-bit powers of two")
        return sign | e
    table = _sp2_table(wb)
    try:
        idx = np.vectorize(table.__getitem__, otypes=[np.int64])(mag) if mag.size else mag
    except KeyError as e:
        raise RtlMapError(f"weight code {e.args[0]} is not a {wb}-bit SP2 level") from None
    return sign | idx


def pack_words(vals: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned `bits`-bit elements, little-endian within 64-bit words."""
    epw = 64 // bits
    v = np.asarray(vals, dtype=np.uint64).reshape(-1) & np.uint64((1 << bits) - 1)
    v = np.concatenate([v, np.zeros((-len(v)) % epw, np.uint64)]).reshape(-1, epw)
    shifts = (np.arange(epw, dtype=np.uint64) * np.uint64(bits))
    return np.bitwise_or.reduce(v << shifts, axis=1) if len(v) else np.zeros(0, np.uint64)


def unpack_words(words: np.ndarray, bits: int, n: int, signed: bool) -> np.ndarray:
    epw = 64 // bits
    shifts = (np.arange(epw, dtype=np.uint64) * np.uint64(bits))
    v = ((words.astype(np.uint64)[:, None] >> shifts) & np.uint64((1 << bits) - 1)).reshape(-1)[:n]
    v = v.astype(np.int64)
    if signed:
        v = np.where(v >= 1 << (bits - 1), v - (1 << bits), v)
    return v


def band_rows(job: LayerJob, cfg: RtlConfig) -> int:
    """Output rows per band: the most whose input rows fit the feature buffer and outputs the accumulators."""
    cin_g, _, w = job.x.shape[0] // job.groups, job.x.shape[1], job.x.shape[2]
    kh = job.w.shape[2]
    oh, ow = job.out_hw
    if ow > cfg.pmax:
        raise RtlMapError(f"an output row of {ow} pixels overflows the accumulator buffer ({cfg.pmax})")
    need = cin_g * kh * w
    if need > cfg.fmax:
        raise RtlMapError(f"one band of input rows needs {need} feature-buffer entries, "
                          f"more than the buffer's {cfg.fmax}")
    by_f = (cfg.fmax // (cin_g * w) - kh) // job.stride + 1
    return max(1, min(oh, by_f, cfg.pmax // ow))


def check_job(job: LayerJob, cfg: RtlConfig) -> None:
    cout, cin_g, kh, kw = job.w.shape
    if job.x.shape[0] != cin_g * job.groups or cout % job.groups:
        raise RtlMapError(f"weights {job.w.shape} do not match input channels {job.x.shape[0]} / groups {job.groups}")
    if cin_g * kh * kw > cfg.kmax:
        raise RtlMapError(f"K = {cin_g}·{kh}·{kw} = {cin_g * kh * kw} overflows the weight buffer ({cfg.kmax} entries)")
    if kh > 15 or kw > 15:
        raise RtlMapError(f"kernel {kh}x{kw} exceeds the address table's 15x15")
    if job.shift > 63:
        raise RtlMapError(f"requantization shift {job.shift} exceeds 63")
    m_top = 1 << (M_BITS - 1)
    if not job.acc_mode and (job.m.min(initial=0) < -m_top or job.m.max(initial=0) >= m_top):
        raise RtlMapError(f"a requantization multiplier overflows the post-process lanes' "
                          f"{M_BITS}-bit multipliers")
    if job.x.max(initial=0) >= 1 << cfg.a_bits or job.x.min(initial=0) < 0:
        raise RtlMapError(f"input codes do not fit {cfg.a_bits} unsigned bits")


def linear_records(cfg: RtlConfig) -> bool:
    """Passes lie back to back in whole words (no padding) when L·c is a multiple or a divisor of 64."""
    bits = cfg.lanes * cfg.w_container
    return bits % 64 == 0 or 64 % bits == 0


def record_code_words(kdim: int, cfg: RtlConfig) -> int:
    """64-bit words of codes in one weight record: passes laid out back to back; where a pass of
    L codes neither fills whole words nor divides one (L·c mod 64 != 0 and 64 mod L·c != 0)
    each pass is padded to a word boundary."""
    if linear_records(cfg):
        return -(-kdim * cfg.w_container // 64)
    return -(-kdim // cfg.lanes) * cfg.pass_words


def products(regs: dict[str, int]) -> dict[str, int]:
    """The registers the driver derives from the others: the products the layer engine's address
    counters step by (the RTL multiplies only data, ohq_ports.svh). last_hi: the input row that
    ends the last row band, (out_h - 1)·stride + kh - pad, clipped to the map."""
    r = regs
    last_hi = min((r["out_h"] - 1) * r["stride"] + r["kh"] - r["pad"], r["in_h"])
    return dict(cstep=r["frows"] * r["in_w"], rstep=r["stride"] * r["in_w"],
                in_hw=r["in_h"] * r["in_w"], gin=r["cin_g"] * r["in_h"] * r["in_w"],
                rband=r["band_oh"] * r["stride"], rband_w=r["band_oh"] * r["stride"] * r["in_w"],
                pad_w=r["pad"] * r["in_w"], out_hw=r["out_h"] * r["out_w"],
                band_pix=r["band_oh"] * r["out_w"], last_hi=last_hi, last_hiw=last_hi * r["in_w"])


def out_container(job: LayerJob) -> int:
    """Bits one output travels in: a power-of-two container, 32 for accumulators."""
    return 32 if job.acc_mode else container(job.out_bits)


def pack(job: LayerJob, cfg: RtlConfig) -> tuple[dict[str, int], np.ndarray, int, int]:
    """(registers, DRAM words, output word, output word count)."""
    check_job(job, cfg)
    cout, cin_g, kh, kw = job.w.shape
    c_in, h, w = job.x.shape
    oh, ow = job.out_hw
    kdim = cin_g * kh * kw
    xin = pack_words(job.x.reshape(-1), cfg.a_container)
    codes = encode_weights(job.w.reshape(cout, kdim), cfg)
    passes = -(-kdim // cfg.lanes)
    kw_words = record_code_words(kdim, cfg)
    codes = np.concatenate([codes, np.zeros((cout, passes * cfg.lanes - kdim), np.int64)], axis=1)
    recs = np.zeros((cout, HEADER_WORDS + kw_words), np.uint64)
    recs[:, 0] = job.m.astype(np.int64).view(np.uint64)
    recs[:, 1] = job.c.astype(np.int64).view(np.uint64)
    recs[:, 2] = (job.bias.astype(np.int64) & 0xFFFFFFFF).astype(np.uint64)
    for i in range(cout):
        recs[i, HEADER_WORDS:] = (pack_words(codes[i], cfg.w_container) if linear_records(cfg) else np.concatenate(
            [pack_words(row, cfg.w_container) for row in codes[i].reshape(passes, cfg.lanes)]))[:kw_words]
    w_word = len(xin)
    out_word = w_word + recs.size
    n_out = cout * oh * ow
    ob = out_container(job)
    out_count = -(-n_out * ob // 64)
    dram = np.concatenate([xin, recs.reshape(-1), np.zeros(out_count, np.uint64)])
    boh = band_rows(job, cfg)
    macs = cout * oh * ow * kdim
    regs = dict(cin_g=cin_g, in_h=h, in_w=w, cout_g=cout // job.groups, groups=job.groups, kh=kh,
                kw=kw, stride=job.stride, pad=job.pad, out_h=oh, out_w=ow, band_oh=boh,
                frows=(boh - 1) * job.stride + kh, kdim=kdim, zin=job.zin, lo=job.lo, hi=job.hi,
                shift_k=job.shift, acc_mode=int(job.acc_mode), out_bits=ob, in_bit=0,
                out_bit=out_word * 64, w_word=w_word,
                max_cycles=20 * (macs // cfg.lanes + len(dram) + kdim + n_out) + 10_000_000)
    regs.update(products(regs))
    return regs, dram, out_word, out_count
