"""The one interface every number scheme implements (docs/design.md).

A scheme with b bits has a finite level set. ohq stores it as sorted integer *codes*; the levels
normalised to max magnitude 1 are `codes / 2**shift`. A weight row w with scale S is projected to
the nearest level of w/S, so the quantized row is `codes * step` with `step = S * 2**-shift`:
integer codes times one float per output channel. That is the integer form the engine multiplies
(a DSP multiply for fixed-point codes; for PoT/SP2 codes the same product is one or two shifts).
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

from ohq.errors import PlanError
from ohq.quant.resource import Resource


class Scheme:
    """Base handler: subclasses set `name`, `resource`, `allowed_bits`, `config` (the config
    class it handles, `ohq.quant.configs`) and implement `codes`."""

    name: str = ""
    config: type | None = None  # the SchemeConfig subclass this handler is looked up by
    resource: Resource = Resource.DSP
    allowed_bits: tuple[int, ...] = ()
    description: str = ""

    # ---- the level set -------------------------------------------------------------------
    def codes(self, bits: int) -> list[int]:
        """Sorted integer codes of the level set for `bits` bits (subclasses)."""
        raise NotImplementedError

    def check_bits(self, bits: int) -> int:
        if isinstance(bits, bool) or not isinstance(bits, int) or bits not in self.allowed_bits:
            allowed = ", ".join(str(b) for b in self.allowed_bits)
            raise PlanError(f"scheme {self.name!r} cannot have {bits!r} bits; allowed: {allowed}")
        return bits

    def shift(self, bits: int) -> int:
        """log2 of the largest code magnitude: levels = codes * 2**-shift lie in [-1, 1]."""
        return _shift(tuple(self.codes(bits)))

    def levels(self, bits: int) -> Tensor:
        """The level set normalised to max magnitude 1 (float64, sorted)."""
        self.check_bits(bits)
        return _levels(tuple(self.codes(bits)))

    def max_positive(self, bits: int) -> float:
        """Largest positive normalised level: the observer maps max|w| (or a clip) onto it."""
        return float(self.levels(bits).max())

    # ---- projection and weights ----------------------------------------------------------
    def project(self, x: Tensor, bits: int) -> Tensor:
        """Codes of the levels nearest to x (x in units of the scale; a tie goes to the lower level)."""
        lv = self.levels(bits)
        mids = (lv[1:] + lv[:-1]) / 2
        index = torch.bucketize(x.to(torch.float64).contiguous(), mids)
        return torch.tensor(self.codes(bits), dtype=torch.float64)[index]

    def quantize_rows(self, w: Tensor, bits: int, observer: str, rho: float) -> tuple[Tensor, Tensor]:
        """Quantize each row of the 2-D float64 `w`: (integer-valued codes, step per row)."""
        from ohq.quant._registry import get_observer

        scale = get_observer(observer).weight_scale(w, self, bits)
        codes = self.project(w / scale[:, None], bits)
        return codes, scale * 2.0 ** -self.shift(bits)


@lru_cache(maxsize=256)
def _shift(codes: tuple[int, ...]) -> int:
    top = max(abs(c) for c in codes)
    shift = top.bit_length() - 1
    if top != 1 << shift:
        raise RuntimeError(f"largest code {top} is not a power of two")
    return shift


@lru_cache(maxsize=256)
def _levels(codes: tuple[int, ...]) -> Tensor:
    return torch.tensor(codes, dtype=torch.float64) * 2.0 ** -_shift(codes)
