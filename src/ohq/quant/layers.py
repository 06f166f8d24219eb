"""QuantLayer: a conv or linear with integer weight codes, integer input codes and int accumulation.

Integer path (weights and input quantized): x = q - z_in, acc = conv(x, codes) + bias_int, then
either requantized to the output quantizer (per-channel dyadic s_in·step_c/s_out, round half up)
or, for a layer that feeds the model output, dequantized as acc·s_in·step_c (float64 → float32).

torch has no integer conv on CPU, so the conv runs on integer-valued floats. It is exact when
every partial sum stays below 2^24 (float32) or 2^53 (float64): `conv_dtype` is float32 when the
static bound max|x|·max_c Σ|codes_c| < 2^24 holds, float64 otherwise. `acc_bound` (that bound plus
the largest |bias_int|) is checked against int32; `acc_int32` says whether it fits.

Requantization runs in float64 (`dyadic.affine_floor`) when `f64_ok`: a float32 conv picks m with
acc_bound·m < 2^52 (29+ bits for acc < 2^24) so that acc·m + c is an exact float64 integer;
otherwise (float64 convs, 16-bit) it runs on int64. Both compute (acc·m + c) >> k exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ohq.quant.dyadic import (
    F64_HEADROOM,
    QParams,
    affine_floor,
    dequantize,
    dyadic,
    f64_exact,
    per_sample,
    quantize_float,
    recover,
    requant_const,
    requant_fused,
    rescale,
    scaled,
)
from ohq.quant.qmodules import fake
from ohq.quant.spec import QuantSpec
from ohq.quant.weights import weight_codes

_F32_EXACT = 1 << 24
_INT32_MAX = (1 << 31) - 1


class QuantLayer(nn.Module):
    """A quantized Conv2d/Linear (BN already folded). `weight_mask` (0/1, weight-shaped) zeroes weights."""

    def __init__(self, name: str, layer: nn.Conv2d | nn.Linear, spec: QuantSpec | None,
                 src: QParams | None, inp: QParams | None, out: QParams | None) -> None:
        super().__init__()
        self.name, self.spec = name, spec
        self.is_conv = isinstance(layer, nn.Conv2d)
        if self.is_conv:
            self.conv_args = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                                  groups=layer.groups)
        w = layer.weight.detach()
        bias = layer.bias.detach() if layer.bias is not None else torch.zeros(w.shape[0])
        self.has_bias = layer.bias is not None
        self.weight_mask: Tensor | None = None
        self.w_bits = spec.w_bits if spec is not None else None
        self.requantize(w, bias, src, inp, out)

    def requantize(self, weight: Tensor, bias: Tensor, src: QParams | None, inp: QParams | None,
                   out: QParams | None, codes: Tensor | None = None, step: Tensor | None = None) -> None:
        """(Re)derive the integer form from float weights and quantizers, in place (QAT calls this
        with its trained values). `codes`/`step` (a learned step, LSQ) replace the spec's observer."""
        self.register_buffer("weight", weight.detach().to(torch.float32).clone())
        self.register_buffer("bias", bias.detach().to(torch.float32).clone())
        self.src, self.inp, self.out = src, inp, out
        if self.w_bits is not None:
            if codes is None:
                codes, step = weight_codes(self.weight, self.spec, f"layer {self.name!r} weights")
            self.register_buffer("codes", codes.to(torch.float64))
            self.register_buffer("step", step.to(torch.float64))
        if self.integer_ok:
            self._prepare_integer()

    def rewire(self, src: QParams | None, out: QParams | None) -> None:
        """New neighbours' quantizers (producer `src`, output `out`), the same weights and input
        quantizer: only the integer constants are re-derived."""
        self.src, self.out = src, out
        if self.integer_ok:
            self._prepare_integer()

    @property
    def integer_ok(self) -> bool:
        return self.w_bits is not None and self.inp is not None

    def _shape(self, t: Tensor) -> Tensor:
        return t.reshape(-1, 1, 1) if self.is_conv else t

    def _prepare_integer(self) -> None:
        inp = self.inp
        real = inp.scale * self.step  # float64 per output channel
        self.bias_int = torch.round(self.bias.double() / real).to(torch.int64)
        sum_abs = self.codes.abs().reshape(self.codes.shape[0], -1).sum(dim=1).max()
        conv_bound = int(sum_abs) * inp.max_abs
        self.conv_dtype = torch.float32 if conv_bound < _F32_EXACT else torch.float64
        self.acc_bound = conv_bound + int(self.bias_int.abs().max())
        self.acc_int32 = self.acc_bound <= _INT32_MAX
        self.w_int = self.codes.to(self.conv_dtype)
        self.bias_acc = self._shape(self.bias_int)
        self.f64_ok = False
        self._consts: dict[tuple[int, ...], tuple] = {}  # per output shape: expanded M, C
        if self.out is None:
            self.deq = self._shape(real)
            return
        fast = self.conv_dtype == torch.float32 and self.acc_bound.bit_length() <= F64_HEADROOM - 24
        headroom = F64_HEADROOM if fast else 62  # fast: m keeps ≥ 24 bits (≥ 28 when acc < 2^24)
        m, self.k = dyadic(real / self.out.scale, self.acc_bound, headroom)
        c = requant_const(m, self.k, self.out, self.bias_int)
        self.m, self.c = self._shape(m), self._shape(c)
        self.f64_ok = fast and f64_exact([conv_bound], [m], c)
        self._mult, self._const = scaled(m, self.k), scaled(c, self.k)  # exact float64 m·2^-k, c·2^-k

    def _op(self, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        if self.is_conv:
            return F.conv2d(x, w, b, **self.conv_args)
        return F.linear(x, w, b)

    def forward_int(self, q: Tensor) -> Tensor:
        """Codes of the producer's quantizer (`src`) → output codes (or dequantized accumulator)."""
        if self.src is not None:
            q = rescale(q, self.src, self.inp)
        w = self.w_int if self.weight_mask is None else self.w_int * self.weight_mask.to(self.conv_dtype)
        # q - z is exact in float (small integers); never in place: q may have other readers
        x = q - self.inp.zero if self.inp.zero else q.to(self.conv_dtype)
        acc = self._op(x.to(self.conv_dtype), w, None)
        if self.out is None:
            acc = acc.to(torch.int64)
            return ((acc + self.bias_acc).to(torch.float64) * self.deq).to(torch.float32)
        if self.f64_ok:  # float32 acc → float32 codes in place, exact in float64
            shape = tuple(acc.shape)
            if shape not in self._consts:
                self._consts[shape] = (per_sample(self._mult, shape), per_sample(self._const, shape))
            mult, const = self._consts[shape]
            return affine_floor([acc], [mult], const, self.out.qmax, out=acc)
        return requant_fused(acc.to(torch.int64), self.m, self.c, self.k, self.out)

    def forward(self, x: Tensor) -> Tensor:
        if self.integer_ok:
            if self.src is not None:
                y = self.forward_int(recover(x, self.src))
            else:  # float producer: quantize here (fake-quant only; the engine never sees this)
                y = self._int_from_inp(quantize_float(x, self.inp))
            return y if self.out is None else dequantize(y, self.out)
        x = fake(x, self.inp)
        w = self.weight if self.w_bits is None else (self.codes * self._shape_w(self.step)).to(x.dtype)
        if self.weight_mask is not None:
            w = w * self.weight_mask.to(w.dtype)
        return fake(self._op(x, w, self.bias.to(x.dtype)), self.out)

    def _int_from_inp(self, q: Tensor) -> Tensor:
        src, self.src = self.src, None
        try:
            return self.forward_int(q)
        finally:
            self.src = src

    def _shape_w(self, t: Tensor) -> Tensor:
        return t.reshape((-1,) + (1,) * (self.weight.dim() - 1))

    def extra_repr(self) -> str:
        kind = "conv" if self.is_conv else "linear"
        return f"{self.name!r}, {kind}, spec={self.spec}, inp={self.inp}, out={self.out}"
