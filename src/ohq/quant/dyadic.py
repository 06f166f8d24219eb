"""Integer kernels shared by the fake-quant model and the integer engine.

Every tensor between layers is an unsigned b-bit integer q with a scale s and a zero point z
(real value s·(q - z)). Requantization multiplies by a dyadic number M ≈ m·2^-k (m an integer of
at most 31 bits, chosen so that |acc·m| < 2^62) and rounds half up: (acc·m + 2^(k-1)) >> k, an
arithmetic shift, then adds the output zero point and clamps to [0, 2^b - 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

_I64_HEADROOM = 62


@dataclass(frozen=True)
class QParams:
    """Per-tensor asymmetric quantizer: real = scale·(q - zero), q ∈ [0, 2^bits - 1]."""

    scale: float
    zero: int
    bits: int

    @property
    def qmax(self) -> int:
        return (1 << self.bits) - 1

    @property
    def max_abs(self) -> int:
        """Largest |q - zero| this tensor can hold."""
        return max(self.zero, self.qmax - self.zero)


def dyadic(multiplier: Tensor | float, bound: int) -> tuple[Tensor, int]:
    """(m, k) with m·2^-k ≈ multiplier (int64 m, same shape) for operands |x| ≤ bound."""
    mult = torch.as_tensor(multiplier, dtype=torch.float64)
    top = float(mult.abs().max()) if mult.numel() else 0.0
    mbits = min(31, _I64_HEADROOM - max(int(bound), 1).bit_length())
    if mbits < 8:
        raise OverflowError(f"operand bound {bound} leaves too few bits for a dyadic multiplier")
    if top <= 0.0:
        return torch.zeros_like(mult, dtype=torch.int64), 0
    k = 0
    while top * 2.0 ** (k + 1) < 2.0 ** mbits and k < 62:
        k += 1
    m = torch.round(mult * 2.0**k).to(torch.int64)
    return m, k


def shift_round(acc: Tensor, m: Tensor, k: int) -> Tensor:
    """round_half_up(acc·m·2^-k) on int64 tensors."""
    prod = acc * m
    if k == 0:
        return prod
    return (prod + (1 << (k - 1))) >> k


def requant(acc: Tensor, m: Tensor, k: int, out: QParams) -> Tensor:
    """int64 accumulator → int32 codes of `out`."""
    return (shift_round(acc, m, k) + out.zero).clamp_(0, out.qmax).to(torch.int32)


def requant_const(m: Tensor, k: int, out: QParams, offset: Tensor | int = 0) -> Tensor:
    """The constant c of the fused requantization ((acc·m + c) >> k, clamped).

    c = offset·m + 2^(k-1) + z_out·2^k: adding z after the shift equals adding z·2^k before it,
    and a bias `offset` added to acc equals offset·m added after the multiply (all exact integers).
    """
    half = (1 << (k - 1)) if k > 0 else 0
    return torch.as_tensor(offset, dtype=torch.int64) * m + half + (out.zero << k)


def requant_fused(acc: Tensor, m: Tensor | None, c: Tensor, k: int, out: QParams) -> Tensor:
    """clamp((acc·m + c) >> k, 0, qmax) in place on the int64 `acc` (m None: already multiplied)."""
    if m is not None:
        acc.mul_(m)
    acc.add_(c)
    if k:
        acc.bitwise_right_shift_(k)
    return acc.clamp_(0, out.qmax).to(torch.int32)


def quantize_float(x: Tensor, p: QParams) -> Tensor:
    """Float tensor → int32 codes (round half to even of x/s in float64, + z, clamp)."""
    q = torch.round(x.to(torch.float64) / p.scale) + p.zero
    return q.clamp_(0, p.qmax).to(torch.int32)


def dequantize(q: Tensor, p: QParams) -> Tensor:
    """int32 codes → float32 s·(q - z)."""
    return (q - p.zero).to(torch.float32) * torch.tensor(p.scale, dtype=torch.float32)


def recover(x: Tensor, p: QParams) -> Tensor:
    """The codes behind a fake-quant float32 tensor: exact, since x = fl32(s·n) with |n| < 2^17."""
    return (torch.round(x.to(torch.float64) / p.scale) + p.zero).to(torch.int32)


def rescale(q: Tensor, src: QParams, dst: QParams) -> Tensor:
    """Requantize codes of `src` to `dst` (identity when the quantizers are equal)."""
    if src == dst:
        return q
    m, k = dyadic(src.scale / dst.scale, src.max_abs)
    return requant((q - src.zero).to(torch.int64), m, k, dst)
