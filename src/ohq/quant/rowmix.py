"""Row-wise mixed scheme (MSQ): each output channel is SP2 or fixed-point.

Rule (documented in docs/quant.md): rank the rows by their kurtosis E[(w-μ)^4]/σ^4 — a Gaussian
row has 3, a uniform one 1.8 — and give SP2 to the round(ρ·rows) most kurtotic (Gaussian-like)
rows, fixed-point to the rest; ties keep row order. SP2 rows run on the LUT core, fixed-point rows
on the DSP core; the hardware model picks ρ so both finish together.

Each row keeps the integer codes of its own scheme and its own step, so the engine treats it like
any per-channel weight. `levels("rowmix", b)` is the union of both level sets.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ohq.quant import configs
from ohq.quant._registry import get_scheme, register_scheme
from ohq.quant.resource import Resource
from ohq.quant.scheme import Scheme


def kurtosis(w: Tensor) -> Tensor:
    """Kurtosis of each row of the 2-D `w` (0 for constant rows)."""
    centred = w - w.mean(dim=1, keepdim=True)
    var = centred.pow(2).mean(dim=1)
    k4 = centred.pow(4).mean(dim=1)
    return torch.where(var > 0, k4 / var.clamp_min(1e-300).pow(2), torch.zeros_like(var))


def sp2_rows(w: Tensor, rho: float) -> Tensor:
    """Boolean mask of the rows that get SP2: the round(rho·rows) most Gaussian-like ones."""
    n = w.shape[0]
    count = int(round(rho * n))
    order = torch.sort(-kurtosis(w.to(torch.float64)), stable=True).indices
    mask = torch.zeros(n, dtype=torch.bool)
    mask[order[:count]] = True
    return mask


@register_scheme("rowmix")
class RowMix(Scheme):
    config = configs.RowMix
    resource = Resource.DSP_LUT
    allowed_bits = (2, 3, 4, 5, 6, 7, 8)
    description = "row-wise mix of SP2 (LUT core) and fixed-point (DSP core), MSQ"

    def codes(self, bits: int) -> list[int]:
        self.check_bits(bits)
        uni, sp2 = get_scheme("uniform"), get_scheme("sp2")
        top = max(uni.shift(bits), sp2.shift(bits))
        both = {c << (top - uni.shift(bits)) for c in uni.codes(bits)}
        both |= {c << (top - sp2.shift(bits)) for c in sp2.codes(bits)}
        return sorted(both)

    def quantize_rows(self, w: Tensor, bits: int, observer: str, rho: float) -> tuple[Tensor, Tensor]:
        mask = sp2_rows(w, rho)
        codes, step = get_scheme("uniform").quantize_rows(w, bits, observer, rho)
        if mask.any():
            c2, s2 = get_scheme("sp2").quantize_rows(w[mask], bits, observer, rho)
            codes[mask], step[mask] = c2, s2
        return codes, step
