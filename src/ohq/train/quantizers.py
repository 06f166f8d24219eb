"""Differentiable quantizers for QAT: straight-through rounding, fixed and learned (LSQ) steps.

Activation quantizers replace one tensor's `QParams` during training and give back a new QParams
at the end (`qparams()`); weight quantizers give the quantized weight for the forward pass and,
at the end, the integer codes and step per output channel (`export()`) that `QuantLayer` uses.

LSQ (Esser et al., 2020): v̂ = round(clamp(v/s, -Qn, Qp))·s with s learned; its gradient is
scaled by g = 1/sqrt(N·Qp) (N: elements one step covers) so that steps and weights learn at
comparable rates.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import Tensor, nn

from ohq.quant.dyadic import QParams
from ohq.quant.spec import QuantSpec
from ohq.quant.weights import weight_codes


def round_ste(x: Tensor) -> Tensor:
    """round(x) forward, identity backward (the straight-through estimator)."""
    return x + (torch.round(x) - x).detach()


def grad_scale(x: Tensor, g: float) -> Tensor:
    """x forward, gradient times g backward (LSQ's step-size gradient scale)."""
    return (x - x * g).detach() + x * g


class _FixedStepQuant(torch.autograd.Function):
    """clamp(round(x/s) + z, 0, qmax) - z, times s; gradient 1 where the code is not clipped.

    The same numbers as the autograd chain of `LsqActQuant.forward` with a constant step, and its
    gradient without the chain's rounding ((g·s)/s), in one allocation and in-place passes: QAT steps of depthwise networks spend most of
    their time in these element-wise passes over the activations (profiled on mnist_mobilenet_v2).
    """

    @staticmethod
    def forward(ctx, x: Tensor, scale: Tensor, zero: Tensor, qmax: int) -> Tensor:  # type: ignore[override]
        q = torch.div(x, scale).round_().add_(zero)
        keep = (q >= 0).logical_and_(q <= qmax)  # torch.clamp's backward passes the bounds too
        ctx.save_for_backward(keep)
        return q.clamp_(0, qmax).sub_(zero).mul_(scale)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None, None]:  # type: ignore[override]
        (keep,) = ctx.saved_tensors
        return grad * keep, None, None, None


class ActQuant(nn.Module):
    """One activation tensor's quantizer with a fixed step (the PTQ calibration): STE inside the
    range, zero gradient where the value is clipped."""

    def __init__(self, params: QParams) -> None:
        super().__init__()
        self.params = params  # the PTQ quantizer this one stands for (identity matters, see qat.py)
        self.register_buffer("zero", torch.tensor(float(params.zero)))
        self.register_buffer("scale", torch.tensor(float(params.scale)))
        self.qmax = params.qmax

    def step(self, x: Tensor) -> Tensor:
        return self.scale

    def forward(self, x: Tensor) -> Tensor:
        return _FixedStepQuant.apply(x, self.scale, self.zero, self.qmax)

    def qparams(self) -> QParams:
        """The trained quantizer: the step rounded to float32 (as PTQ's), zero point and bits kept."""
        scale = float(self.scale.detach().abs().float().clamp_min(1e-12))
        return QParams(scale, int(self.zero), self.params.bits)


class LsqActQuant(ActQuant):
    """LSQ activation quantizer: the step is a parameter, initialised from the PTQ calibration."""

    def __init__(self, params: QParams) -> None:
        super().__init__(params)
        self.scale = nn.Parameter(self.scale.clone())
        self.g: float | None = None

    def step(self, x: Tensor) -> Tensor:
        if self.g is None:  # N = features of one sample (LSQ's N_F)
            self.g = 1.0 / math.sqrt(max(x[0].numel(), 1) * max(self.qmax - int(self.zero), 1))
        return grad_scale(self.scale.abs().clamp_min(1e-8), self.g)

    def forward(self, x: Tensor) -> Tensor:
        s = self.step(x)  # learned: autograd carries the step's gradient through the chain
        q = torch.clamp(round_ste(x / s) + self.zero, 0, self.qmax)
        return (q - self.zero) * s


class SteWeight(nn.Module):
    """Weights projected by the spec's own scheme and observer every step; identity gradient.

    Any scheme (uniform, pot, sp2, rowmix): the forward weight is exactly what PTQ would make of
    the current float weight, so `export` (the same projection) loses nothing.
    """

    def __init__(self, spec: QuantSpec, weight: Tensor) -> None:
        super().__init__()
        self.spec = spec

    def quantized(self, w: Tensor) -> Tensor:
        codes, step = weight_codes(w.detach(), self.spec)
        return (codes * step.reshape((-1,) + (1,) * (w.dim() - 1))).to(w.dtype)

    def forward(self, w: Tensor) -> Tensor:
        return w + (self.quantized(w) - w).detach()

    def export(self, w: Tensor) -> tuple[Tensor | None, Tensor | None]:
        return None, None  # QuantLayer re-derives the same codes with the spec's observer


class LsqWeight(nn.Module):
    """LSQ for fixed-point weights: one learned step per output channel.

    Init: the MSE-optimal step (observer "mse"), not min-max: at 2-3 bits min-max rounds most
    weights to 0 and a short fine-tune cannot walk the step that far (measured in docs/train.md).
    """

    def __init__(self, spec: QuantSpec, weight: Tensor) -> None:
        super().__init__()
        bits = spec.w_bits
        self.qn, self.qp = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        _, step = weight_codes(weight.detach(), replace(spec, w_observer="mse"))
        shape = (-1,) + (1,) * (weight.dim() - 1)
        self.step = nn.Parameter(step.to(torch.float32).reshape(shape))
        self.g = 1.0 / math.sqrt(max(weight[0].numel(), 1) * self.qp)

    def _codes(self, w: Tensor, s: Tensor) -> Tensor:
        return torch.clamp(w / s, self.qn, self.qp)

    def forward(self, w: Tensor) -> Tensor:
        s = grad_scale(self.step.abs().clamp_min(1e-8), self.g)
        return round_ste(self._codes(w, s)) * s

    def export(self, w: Tensor) -> tuple[Tensor, Tensor]:
        s = self.step.detach().abs().clamp_min(1e-8)
        codes = torch.round(self._codes(w.detach(), s))
        return codes.to(torch.float64), s.reshape(-1).to(torch.float64)


class ReconstructedWeight(SteWeight):
    """n-BQ-NN's reconstructed gradient (n-BQ-NN) for power-of-two weights.

    Forward W̃ = (1-α)·Q(W) + α·W; backward the real gradient of that function, α·∂L/∂W̃ (Q is
    piecewise constant, so no estimate is needed). α is annealed to 0 by the trainer (`alpha`),
    so training ends on Q(W), which `export` (the PoT projection) and inference use alone.
    """

    def __init__(self, spec: QuantSpec, weight: Tensor) -> None:
        super().__init__(spec, weight)
        self.register_buffer("alpha", torch.tensor(0.0))

    def forward(self, w: Tensor) -> Tensor:
        a = self.alpha
        return (1 - a) * self.quantized(w) + a * w
