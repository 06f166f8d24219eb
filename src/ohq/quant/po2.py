"""Power-of-two scales (`QuantSpec(scale="po2")`, `ohq quantize --scale po2`).

Every weight step and activation scale becomes a power of two, rounded up so the observed range
stays covered. Then each requantization multiplier s_in·step/s_out is a power of two: the integer
engine's dyadic m·2^-k is exact and a requantization is a rounding shift, which is what fixed-point
flows compute (hls4ml's ap_fixed casts with AP_RND, FINN's thresholds), so their C simulation can
agree with ohq bit for bit (docs/export.md).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import Tensor

SCALES = ("float", "po2")


def po2_ceil(x: Tensor | float) -> Tensor:
    """The smallest power of two ≥ x (float64; x > 0)."""
    x = torch.as_tensor(x, dtype=torch.float64)
    return torch.exp2(torch.ceil(torch.log2(x)))


def po2_rows(scheme, w: Tensor, bits: int, step: Tensor) -> tuple[Tensor, Tensor]:
    """Re-project the 2-D float64 rows `w` onto the grid of `step` rounded up to a power of two."""
    shift = scheme.shift(bits)
    scale = po2_ceil(step * 2.0**shift)
    codes = scheme.project(w / scale[:, None], bits)
    return codes, scale * 2.0**-shift


def po2_act(lo: float, hi: float, scale: float, bits: int) -> tuple[float, int]:
    """(scale, zero) of the b-bit activation quantizer with `scale` rounded up to a power of two."""
    scale = 2.0 ** math.ceil(math.log2(scale))
    qmax = (1 << bits) - 1
    return scale, int(min(max(round(-min(lo, 0.0) / scale), 0), qmax))


def with_scale(plan, scale: str):
    """`plan` with every spec (default and per layer) at `scale` ("float" or "po2")."""
    from ohq.quant.spec import Plan

    layers = {k: None if v is None else replace(v, scale=scale) for k, v in plan.layers.items()}
    default = None if plan.default is None else replace(plan.default, scale=scale)
    return Plan(default, layers, plan.first_last_bits)
