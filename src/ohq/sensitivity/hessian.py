"""Hessian-trace sensitivity (HAWQ-V2/V3): Ω_i = Tr(H_i)/n_i · ||W_i − Q_b(W_i)||².

Tr(H_i) is the trace of the loss Hessian with respect to layer i's weights, estimated with
Hutchinson's method: E[vᵀHv] over Rademacher vectors v, one Hessian-vector product per probe
for all layers at once (cross-layer terms vanish in expectation, as in PyHessian). The loss is
cross-entropy against the labels, or against the FP model's own predictions when the data has no
labels (distilled data). Like HAWQ-V2/V3 the trace is averaged over the layer's n_i weights. A
negative estimate (noise or a non-convex point) is reported in `traces_` and scored as 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ohq.errors import OhqError
from ohq.sensitivity.base import (
    SensitivityMethod,
    batched_forward,
    check_positive_int,
    chunks,
    register_method,
)


@register_method("hessian")
class HessianTrace(SensitivityMethod):
    """Hutchinson Hessian trace × weight quantization error at `bits` bits.

    Learned: `scores_`, `traces_` (estimated Tr(H_i)), `weight_error_` (||W − Q_b(W)||²).
    """

    def __init__(
        self,
        bits: int = 4,
        n_probes: int = 32,
        seed: int = 0,
        batch_size: int = 64,
        callback: Callable[[int, int], None] | None = None,
    ) -> None:
        self.bits = bits
        self.n_probes = n_probes
        self.seed = seed
        self.batch_size = batch_size
        self.callback = callback

    def _scores(self, model: nn.Module, names: list[str], x: Tensor, y: Tensor | None) -> np.ndarray:
        from ohq.quant import QuantSpec, quantize_weight

        check_positive_int(bits=self.bits, n_probes=self.n_probes, batch_size=self.batch_size)
        modules = dict(model.named_modules())
        params = [modules[n].weight for n in names]
        if y is None:
            y = batched_forward(model, x, self.batch_size).argmax(dim=1)
        if y.dim() != 1:
            raise OhqError("hessian sensitivity needs a classifier: one logit vector per sample")
        flags = [p.requires_grad for p in model.parameters()]
        for p in model.parameters():
            p.requires_grad_(False)
        for p in params:
            p.requires_grad_(True)
        vhv = torch.zeros(self.n_probes, len(names), dtype=torch.float64)
        done, total = 0, len(range(0, len(x), self.batch_size)) * self.n_probes
        try:
            for s in chunks(len(x), self.batch_size):
                loss = F.cross_entropy(model(x[s]), y[s].long(), reduction="sum") / len(x)
                grads = torch.autograd.grad(loss, params, create_graph=True)
                for k in range(self.n_probes):
                    vs = self._probe(k, params)
                    hvs = torch.autograd.grad(grads, params, grad_outputs=vs, retain_graph=True)
                    for i, (v, hv) in enumerate(zip(vs, hvs, strict=True)):
                        vhv[k, i] += float((v * hv).sum())
                    done += 1
                    self._tick(done, total)
        finally:
            for p, flag in zip(model.parameters(), flags, strict=True):
                p.requires_grad_(flag)
        self.traces_ = vhv.mean(dim=0).numpy()
        spec = QuantSpec(w_bits=self.bits, a_bits=None)
        with torch.no_grad():
            self.weight_error_ = np.array(
                [float((p - quantize_weight(p, spec)).pow(2).sum()) for p in params]
            )
        numel = np.array([p.numel() for p in params], dtype=np.float64)
        return np.maximum(self.traces_ / numel, 0.0) * self.weight_error_

    def _probe(self, k: int, params: list[Tensor]) -> list[Tensor]:
        """Rademacher vectors for probe k; the same for every data chunk (seeded per probe)."""
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + k)
        return [
            torch.randint(0, 2, p.shape, generator=gen).to(p.dtype).mul_(2).sub_(1) for p in params
        ]
