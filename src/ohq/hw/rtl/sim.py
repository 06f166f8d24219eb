"""Run layers on the simulated chip (Verilator) and compare with ohq's integer engine.

`run_job(job, cfg)` simulates one layer; `run_layer(qlayer, codes, cfg)` takes a quantized layer
of a QuantModel (`ohq.quant.layers.QuantLayer`) and the codes of its producer, exactly as
`QuantLayer.forward_int` does: a producer/consumer rescale (`src` ≠ `inp`) stays in the integer
engine (the PS side), the conv/linear with its requantization runs on the chip, batch 1 at a time.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ohq.hw.rtl.build import RtlConfig, simulator
from ohq.hw.rtl.job import CFG, LayerJob, RtlMapError, out_container, pack, unpack_words
from ohq.hw.rtl.tools import RtlToolError, last_error

COUNTERS = ("compute", "transfer", "writeback", "postprocess")


@dataclass
class RtlResult:
    out: np.ndarray            # (Cout, OH, OW) output codes, or int32 accumulators in acc_mode
    cycles: dict[str, int]     # the four counters and their total
    sim_seconds: float
    dram_bytes: int = 0        # 64-bit beats the DMA moved, x 8


def simulate(regs: dict[str, int], dram: np.ndarray, out_word: int, out_count: int,
             cfg: RtlConfig) -> tuple[np.ndarray, dict[str, int], float, int]:
    """One job on the chip: (output words, the four counters and total, seconds, DRAM bytes)."""
    exe = simulator(cfg)
    with tempfile.TemporaryDirectory(prefix="ohq-rtl-") as tmp:
        jf, rf = Path(tmp) / "job.bin", Path(tmp) / "res.bin"
        head = np.array([len(CFG)] + [int(regs.get(k, 0)) for k in CFG] + [len(dram)], np.int64)
        with open(jf, "wb") as f:
            f.write(head.tobytes())
            f.write(dram.astype(np.uint64).tobytes())
            f.write(np.array([out_word, out_count], np.int64).tobytes())
        t0 = time.perf_counter()
        proc = subprocess.run([str(exe), str(jf), str(rf)], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RtlToolError(f"RTL simulation failed: {last_error(proc.stdout + proc.stderr)}")
        raw = np.fromfile(rf, dtype=np.int64)
    counts = dict(zip(COUNTERS, (int(v) for v in raw[:4]), strict=True))
    counts["total"] = int(raw[4])
    return raw[7:7 + out_count].view(np.uint64), counts, min(wall, float(raw[5]) * 1e-9), int(raw[6]) * 8


def run_job(job: LayerJob, cfg: RtlConfig) -> RtlResult:
    regs, dram, out_word, out_count = pack(job, cfg)
    words, counts, secs, dram_bytes = simulate(regs, dram, out_word, out_count, cfg)
    cout = job.w.shape[0]
    oh, ow = job.out_hw
    out = unpack_words(words, out_container(job), cout * oh * ow, signed=job.acc_mode)
    return RtlResult(out.reshape(cout, oh, ow), counts, secs, dram_bytes)


def _conv_geometry(ql) -> tuple[int, int, int]:
    a = ql.conv_args
    (sh, sw), (ph, pw), (dh, dw) = a["stride"], a["padding"], a["dilation"]
    if isinstance(a["padding"], str) or ph != pw or sh != sw or (dh, dw) != (1, 1):
        raise RtlMapError(f"layer {ql.name!r}: stride {a['stride']}, padding {a['padding']}, dilation "
                          f"{a['dilation']}: the RTL maps square stride/padding and dilation 1 only")
    return sh, ph, a["groups"]


def layer_jobs(ql, q: Tensor) -> list[LayerJob]:
    """One job per sample of the layer input codes `q` (already in the layer's `inp` quantizer)."""
    if not ql.integer_ok:
        raise RtlMapError(f"layer {ql.name!r} is not integer (float weights or input)")
    if ql.weight_mask is not None:
        raise RtlMapError(f"layer {ql.name!r} has a weight mask; the RTL runs plain layers")
    if not ql.acc_int32:
        raise RtlMapError(f"layer {ql.name!r}: accumulators up to {ql.acc_bound} overflow 32 bits")
    w = ql.codes.to(torch.int64).numpy()
    if ql.is_conv:
        stride, pad, groups = _conv_geometry(ql)
        xs = [s for s in q.to(torch.int64).numpy()]
    else:
        stride, pad, groups = 1, 0, 1
        w = w.reshape(w.shape[0], w.shape[1], 1, 1)
        xs = [r.reshape(-1, 1, 1) for r in q.to(torch.int64).reshape(-1, q.shape[-1]).numpy()]
    cout = w.shape[0]
    acc = ql.out is None
    if acc:
        m = np.zeros(cout, np.int64)
        c = np.zeros(cout, np.int64)
        shift, lo, hi, obits = 0, 0, 0, 32
    else:
        m = ql.m.reshape(-1).numpy().astype(np.int64)
        c = ql.c.reshape(-1).numpy().astype(np.int64)
        shift, lo, hi, obits = ql.k, 0, ql.out.qmax, ql.out.bits
    bias = ql.bias_int.reshape(-1).numpy().astype(np.int64)
    return [LayerJob(x, w, m, c, bias, shift, ql.inp.zero, lo, hi, obits, acc, stride, pad, groups)
            for x in xs]


def config_for(ql, lanes: int = 16, **kw) -> RtlConfig:
    """The build a quantized layer needs (scheme, weight and activation bits)."""
    scheme = ql.spec.scheme
    if scheme not in ("uniform", "pot", "sp2"):
        raise RtlMapError(f"layer {ql.name!r}: scheme {scheme!r} has no RTL lanes (uniform, pot, sp2)")
    return RtlConfig(lanes=lanes, scheme=scheme, w_bits=ql.w_bits, a_bits=ql.inp.bits, **kw)


def run_layer(ql, q: Tensor, cfg: RtlConfig | None = None,
              rescaled: bool = False) -> tuple[Tensor, list[RtlResult]]:
    """The layer on the chip: codes of the producer → what `ql.forward_int` returns, plus counters.
    `rescaled`: `q` is already in the layer's input quantizer (the engine rescaled it on the chip)."""
    from ohq.quant.dyadic import rescale

    if ql.src is not None and not rescaled:
        q = rescale(q, ql.src, ql.inp)
    cfg = cfg or config_for(ql)
    results = [run_job(j, cfg) for j in layer_jobs(ql, q)]
    out = torch.from_numpy(np.stack([r.out for r in results]))
    if not ql.is_conv:
        out = out.reshape(tuple(q.shape[:-1]) + (out.shape[1],))
    if ql.out is None:
        return (out.to(torch.float64) * ql.deq).to(torch.float32), results
    return out.to(torch.float32), results
