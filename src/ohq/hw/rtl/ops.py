"""The integer engine's graph ops as post-processing jobs on the chip (`ohq_vec`, `VecJob`).

`op_job(mod, *codes)` turns one sample of a graph op (`ohq.quant.qmodules`) into a job with the
very integer constants the engine uses: residual add (QAdd: two dyadic multipliers, one constant,
one shift), ReLU with a zero point (QRelu), lookup tables (QLut: ReLU6, hardswish, hardsigmoid…),
max pooling (QMaxPool), global average pooling (QAvgPool: window sum, one dyadic multiplier) and
the rescale between two quantizers (a layer's `src → inp`, QCat's inputs). `None` means the op is
free on the chip (ReLU with zero point 0: the producer's clamp already did it). An op the unit
cannot run raises `RtlMapError`; QMul (squeeze-excitation) has no unit and stays on the PS.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ohq.hw.rtl.build import RtlConfig
from ohq.hw.rtl.job import RtlMapError
from ohq.hw.rtl.sim import RtlResult
from ohq.hw.rtl.vec import VecJob, run_vec
from ohq.quant.dyadic import QParams, dyadic, requant_const
from ohq.quant.qmodules import QAdd, QAvgPool, QCat, QLut, QMaxPool, QOp, QRelu

CHIP_OPS = (QAdd, QAvgPool, QCat, QLut, QMaxPool, QRelu)


def _codes(q: Tensor) -> np.ndarray:
    """One sample's codes as (C, H, W) int64 (a flat feature vector as (F, 1, 1))."""
    a = q.to(torch.int64).numpy()
    if a.ndim > 3:
        raise RtlMapError(f"a {a.ndim}-d sample: the chip holds (C, H, W) tensors")
    return a.reshape(a.shape + (1,) * (3 - a.ndim))


def rescale_job(q: Tensor, src: QParams, dst: QParams) -> VecJob:
    """Codes of `src` → codes of `dst`: clamp((q·m + c) >> k), as `ohq.quant.dyadic.rescale`."""
    m, k = dyadic(src.scale / dst.scale, src.max_abs)
    c = requant_const(m, k, dst, -src.zero)
    return VecJob(_codes(q), src.bits, dst.bits, m0=int(m), c0=int(c), shift=k, lo=0, hi=dst.qmax)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _maxpool(mod: QMaxPool, q: Tensor) -> VecJob:
    kw = mod.kwargs
    ks = _pair(kw["kernel_size"])
    st, pd, dl = (_pair(kw[k] if kw[k] is not None else kw["kernel_size"])
                  for k in ("stride", "padding", "dilation"))
    if st[0] != st[1] or pd[0] != pd[1] or dl[0] != dl[1]:
        raise RtlMapError(f"max pooling with stride {st}, padding {pd}, dilation {dl}: the unit maps square ones")
    oh, ow = F.max_pool2d(torch.zeros(1, *q.shape[-2:]), **kw).shape[-2:]
    p = mod.out
    return VecJob(_codes(q), p.bits, p.bits, kernel=ks, stride=st[0], pad=pd[0], dil=dl[0],
                  pool="max", hi=p.qmax, out_hw=(int(oh), int(ow)))


def _avgpool(mod: QAvgPool, q: Tensor) -> tuple[VecJob, tuple[int, ...]]:
    if q.dim() != 3:
        raise RtlMapError(f"average pooling of a {q.dim()}-d sample: the unit pools (C, H, W) planes")
    c, h, w = q.shape
    sums, counts = mod.window_sum(torch.zeros(1, c, h, w, dtype=torch.float64))
    if sums.numel() != c or not bool((counts == h * w).all()):
        raise RtlMapError("average pooling other than a global mean: the unit pools whole planes")
    p_in, out = mod.ins[0], mod.out
    count, k = h * w, mod.k
    m = int(round(mod.ratio / count * 2.0**k))
    half = (1 << (k - 1)) if k > 0 else 0
    c0 = -count * p_in.zero * m + half + (out.zero << k)  # Σ(q - z)·m + half + z_out·2^k
    job = VecJob(_codes(q), p_in.bits, out.bits, kernel=(h, w), m0=m, c0=c0, shift=k, hi=out.qmax,
                 out_hw=(1, 1))
    return job, tuple(sums.shape[1:])


def op_job(mod: QOp, *qs: Tensor) -> tuple[VecJob | None, tuple[int, ...]]:
    """(the job for one sample, the sample's output shape); job None: the op is free on the chip."""
    q = qs[0]
    shape = tuple(q.shape)
    if isinstance(mod, QRelu):
        p = mod.out
        if p.zero == 0:
            return None, shape
        return VecJob(_codes(q), p.bits, p.bits, lo=p.zero, hi=p.qmax), shape
    if isinstance(mod, QLut):
        p_in, out = mod.ins[0], mod.out
        return VecJob(_codes(q), p_in.bits, out.bits, table=mod.table.to(torch.int64).numpy()), shape
    if isinstance(mod, QAdd):
        if len(qs) != 2 or qs[0].shape != qs[1].shape:
            raise RtlMapError(f"an add of {len(qs)} inputs of shapes {[tuple(t.shape) for t in qs]}: "
                              "the unit adds two equal shapes")
        a, b = mod.ins
        return VecJob(_codes(qs[0]), a.bits, mod.out.bits, b=_codes(qs[1]), b_bits=b.bits,
                      m0=mod.ms[0], m1=mod.ms[1], c0=int(mod.c), shift=mod.k, hi=mod.out.qmax), shape
    if isinstance(mod, QMaxPool):
        job = _maxpool(mod, q)
        return job, (shape[0], *job.out_hw)
    if isinstance(mod, QAvgPool):
        return _avgpool(mod, q)
    raise RtlMapError(f"{type(mod).__name__} has no post-processing unit on the chip")


def run_op(mod: QOp, qs: list[Tensor], cfg: RtlConfig) -> tuple[Tensor, list[RtlResult]]:
    """The op on the chip, one sample at a time: what `mod.forward_int(*qs)` returns, plus counters."""
    if isinstance(mod, QCat):
        parts, results = [], []
        for q, p in zip(qs, mod.ins, strict=True):
            if p == mod.out:
                parts.append(q)
                continue
            out, res = run_rescale(q, p, mod.out, cfg)
            parts.append(out)
            results += res
        return torch.cat(parts, mod.dim), results  # concatenation is DRAM addressing
    outs, results = [], []
    for i in range(qs[0].shape[0]):
        job, shape = op_job(mod, *(q[i] for q in qs))
        if job is None:
            outs.append(qs[0][i])
            continue
        r = run_vec(job, cfg)
        outs.append(torch.from_numpy(r.out).reshape(shape).to(torch.float32))
        results.append(r)
    return torch.stack(outs), results


def run_rescale(q: Tensor, src: QParams, dst: QParams, cfg: RtlConfig) -> tuple[Tensor, list[RtlResult]]:
    """`ohq.quant.dyadic.rescale(q, src, dst)` on the chip (a batch, one sample at a time)."""
    if src == dst:
        return q, []
    outs, results = [], []
    for i in range(q.shape[0]):
        r = run_vec(rescale_job(q[i], src, dst), cfg)
        outs.append(torch.from_numpy(r.out).reshape(q[i].shape).to(torch.float32))
        results.append(r)
    return torch.stack(outs), results
