"""The modules of a quantized graph: each has `forward` (fake-quant, float in/out) and `forward_int`.

Fake-quant tensors are float32 values s·(q - z) of integer codes q. A module with quantized inputs
and output computes `forward(x) = dequantize(forward_int(recover(x)))`: the fake-quant model runs
the very integer arithmetic of the engine, so the two agree bit for bit (see docs/quant.md).
`recover` is exact because |q - z| < 2^17 ≪ 2^23. Where a tensor is left in float (bits None) a
module falls back to its float operation and fake-quantizes its output if that is quantized.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ohq.quant.dyadic import (
    QParams,
    affine_floor,
    dequantize,
    dyadic,
    f64_exact,
    quantize_float,
    recover,
    requant,
    requant_const,
    requant_fused,
    rescale,
    scaled,
    shift_round,
)


def fake(y: Tensor, p: QParams | None) -> Tensor:
    """Float tensor quantized by p and dequantized (identity when p is None)."""
    return y if p is None else dequantize(quantize_float(y, p), p)


class QOp(nn.Module):
    """Base of the graph ops: `ins` are the quantizers of the tensor inputs, `out` of the output."""

    def __init__(self, ins: list[QParams | None], out: QParams | None) -> None:
        super().__init__()
        self.ins, self.out = ins, out

    def set_qparams(self, ins: list[QParams | None], out: QParams | None) -> None:
        """New quantizers (QAT learned them): re-derive the integer constants in place."""
        self.ins, self.out = list(ins), out
        self._prepare()

    def _prepare(self) -> None:
        """Integer constants derived from the quantizers (subclasses that have any)."""

    @property
    def integer_ok(self) -> bool:
        return self.out is not None and all(p is not None for p in self.ins)

    def forward(self, *xs: Tensor) -> Tensor:
        if self.integer_ok:
            qs = [recover(x, p) for x, p in zip(xs, self.ins, strict=True)]
            return dequantize(self.forward_int(*qs), self.out)
        return fake(self.float_forward(*xs), self.out)

    def forward_int(self, *qs: Tensor) -> Tensor:
        raise NotImplementedError

    def float_forward(self, *xs: Tensor) -> Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"ins={self.ins}, out={self.out}"


class QInput(QOp):
    """Quantizes the float model input (forward_int takes the float input and returns codes)."""

    def __init__(self, out: QParams) -> None:
        super().__init__([], out)

    def forward(self, x: Tensor) -> Tensor:
        return dequantize(self.forward_int(x), self.out)

    def forward_int(self, x: Tensor) -> Tensor:
        return quantize_float(x, self.out)


class QOutput(QOp):
    """Dequantizes a quantized model output (the engine's last step)."""

    def __init__(self, p: QParams) -> None:
        super().__init__([p], p)

    def forward(self, x: Tensor) -> Tensor:
        return x

    def forward_int(self, q: Tensor) -> Tensor:
        return dequantize(q, self.out)


class QRelu(QOp):
    """ReLU keeps the quantizer: codes below the zero point become the zero point (exact)."""

    def __init__(self, p: QParams | None) -> None:
        super().__init__([p], p)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x)  # relu(fl32(s·(q-z))) = fl32(s·(max(q,z)-z)): already exact

    def forward_int(self, q: Tensor) -> Tensor:
        if self.out.zero == 0:
            return q  # codes are never negative: max(q, 0) = q
        return q.clamp_min(self.out.zero)


class QMaxPool(QOp):
    """Max pooling keeps the quantizer; dequantization is monotone, so it commutes (exact)."""

    def __init__(self, p: QParams | None, kwargs: dict) -> None:
        super().__init__([p], p)
        self.kwargs = kwargs

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, **self.kwargs)

    def forward_int(self, q: Tensor) -> Tensor:  # float32 holds these integers exactly
        return F.max_pool2d(q.to(torch.float32), **self.kwargs)


class QLut(QOp):
    """Any elementwise function (ReLU6, hardswish, hardsigmoid, sigmoid, x·c, …) as a 2^b table.

    table[q] = clamp(round(f(s_in·(q - z_in)) / s_out) + z_out): the correctly rounded integer
    result, computed once in float64; on an FPGA this is a ROM/LUT of 2^b entries.
    """

    def __init__(self, fn: Callable[[Tensor], Tensor], p_in: QParams | None, out: QParams | None) -> None:
        super().__init__([p_in], out)
        self.fn = fn
        self._prepare()

    def _prepare(self) -> None:
        if self.integer_ok:
            p_in, out = self.ins[0], self.out
            codes = torch.arange(p_in.qmax + 1, dtype=torch.float64)
            real = self.fn((codes - p_in.zero) * p_in.scale)
            self.register_buffer("table", quantize_float(real, out))

    def forward_int(self, q: Tensor) -> Tensor:
        return self.table[q.long()]

    def float_forward(self, x: Tensor) -> Tensor:
        return self.fn(x)


class QAdd(QOp):
    """Σ c_i·x_i (c_i = ±1): every input rescaled to the output by a dyadic multiplier, one shift."""

    def __init__(self, ins: list[QParams | None], out: QParams | None, signs: list[int]) -> None:
        super().__init__(ins, out)
        self.signs = signs
        self._prepare()

    def _prepare(self) -> None:
        ins, out, signs = self.ins, self.out, self.signs
        if self.integer_ok:
            mult = torch.tensor([s * p.scale / out.scale for s, p in zip(signs, ins, strict=True)])
            self.m, self.k = dyadic(mult, 2 * max(p.max_abs + p.zero for p in ins))
            self.ms = [int(v) for v in self.m]
            offset = -sum(mi * p.zero for mi, p in zip(self.ms, ins, strict=True))
            self.c = requant_const(torch.ones((), dtype=torch.int64), self.k, out, offset)
            self.f64_ok = f64_exact([p.qmax for p in ins], self.ms, self.c)
            self._mults = [float(scaled(m, self.k)) for m in self.ms]
            self._const = float(scaled(self.c, self.k))

    def forward_int(self, *qs: Tensor) -> Tensor:
        if self.f64_ok:
            return affine_floor(list(qs), self._mults, self._const, self.out.qmax)
        acc = qs[0].to(torch.int64).mul_(self.ms[0])
        for q, m in zip(qs[1:], self.ms[1:], strict=True):
            acc.add_(q.to(torch.int64), alpha=m)
        return requant_fused(acc, None, self.c, self.k, self.out)

    def float_forward(self, *xs: Tensor) -> Tensor:
        y = 0
        for s, x in zip(self.signs, xs, strict=True):
            y = y + x if s > 0 else y - x
        return y


class QMul(QOp):
    """x1·x2 (squeeze-excitation's x·scale): integer product times one dyadic multiplier."""

    def __init__(self, ins: list[QParams | None], out: QParams | None) -> None:
        super().__init__(ins, out)
        self._prepare()

    def _prepare(self) -> None:
        ins, out = self.ins, self.out
        if self.integer_ok:
            self.m, self.k = dyadic(ins[0].scale * ins[1].scale / out.scale, ins[0].max_abs * ins[1].max_abs)

    def forward_int(self, a: Tensor, b: Tensor) -> Tensor:
        prod = (a - self.ins[0].zero).to(torch.int64) * (b - self.ins[1].zero).to(torch.int64)
        return requant(prod, self.m, self.k, self.out)

    def float_forward(self, a: Tensor, b: Tensor) -> Tensor:
        return a * b


class QCat(QOp):
    """Concatenation: each input rescaled to the output quantizer, then joined."""

    def __init__(self, ins: list[QParams | None], out: QParams | None, dim: int) -> None:
        super().__init__(ins, out)
        self.dim = dim

    def forward_int(self, *qs: Tensor) -> Tensor:
        return torch.cat([rescale(q, p, self.out) for q, p in zip(qs, self.ins, strict=True)], self.dim)

    def float_forward(self, *xs: Tensor) -> Tensor:
        return torch.cat(xs, self.dim)


class QAvgPool(QOp):
    """Average pooling / spatial mean: exact integer window sums, then a dyadic divide per window.

    `op` is the float operation; `window_sum(x)` returns (sums, counts) of (q - z) exactly
    (float64 sums of integers below 2^53). Counts may differ per position (padding, adaptive
    windows); each count gets its own multiplier s_in/(count·s_out), all with one shift k.
    """

    def __init__(self, p_in: QParams | None, out: QParams | None, op: Callable[[Tensor], Tensor],
                 window_sum: Callable[[Tensor], tuple[Tensor, Tensor]], max_count: int) -> None:
        super().__init__([p_in], out)
        self.op, self.window_sum, self.max_count = op, window_sum, max_count
        self._prepare()

    def _prepare(self) -> None:
        if self.integer_ok:
            p_in, out = self.ins[0], self.out
            self.ratio = p_in.scale / out.scale
            self._, self.k = dyadic(self.ratio, p_in.max_abs * self.max_count)

    def forward_int(self, q: Tensor) -> Tensor:
        sums, counts = self.window_sum((q - self.ins[0].zero).to(torch.float64))
        m = torch.round(self.ratio / counts * 2.0**self.k).to(torch.int64)
        return requant(sums.to(torch.int64), m, self.k, self.out)

    def float_forward(self, x: Tensor) -> Tensor:
        return self.op(x)


__all__ = ["QAdd", "QAvgPool", "QCat", "QInput", "QLut", "QMaxPool", "QMul", "QOp", "QOutput",
           "QRelu", "fake", "shift_round"]
