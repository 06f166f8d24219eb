"""Eq. 5 (the OHQ paper): quantize layer i alone to b bits, KL of its output against the FP32 model.

ω_i = 1/N Σ_j KL(softmax(M(x_j)) ‖ softmax(M_i^q(x_j))). This needs one quantization and one
full forward pass per layer (L of each), which is what MQE avoids; it is the reference MQE
approximates. Activations stay in floating point unless `a_bits` is given.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from torch import Tensor, nn

from ohq.sensitivity.base import (
    SensitivityMethod,
    batched_forward,
    check_positive_int,
    kl_per_sample,
    register_method,
)


@register_method("layerwise")
class Layerwise(SensitivityMethod):
    """KL between the FP32 model and the model with only layer i quantized to `bits` bits."""

    def __init__(
        self,
        bits: int = 4,
        a_bits: int | None = None,
        batch_size: int = 64,
        callback: Callable[[int, int], None] | None = None,
    ) -> None:
        self.bits = bits
        self.a_bits = a_bits
        self.batch_size = batch_size
        self.callback = callback

    def _scores(self, model: nn.Module, names: list[str], x: Tensor, y: Tensor | None) -> np.ndarray:
        from ohq.quant import Plan, QuantSpec, quantize

        check_positive_int(bits=self.bits, batch_size=self.batch_size)
        if self.a_bits is not None:
            check_positive_int(a_bits=self.a_bits)
        ref = batched_forward(model, x, self.batch_size)
        spec = QuantSpec(w_bits=self.bits, a_bits=self.a_bits)
        scores = []
        for name in names:
            qm = quantize(model, Plan(default=None, layers={name: spec}), x)
            qm.eval()
            out = batched_forward(qm, x, self.batch_size)
            scores.append(float(kl_per_sample(ref, out).mean()))
            self._tick(len(scores), len(names))
        return np.array(scores)
