"""Fixed-point (uniform) weights: levels S·{-2^(b-1), …, 2^(b-1)-1}, symmetric per output channel.

Codes are the integers themselves; the observer maps max|w| onto the largest positive level, so
min-max fitting is symmetric (the code -2^(b-1) is only reached by clipping observers). The
multiply runs on DSP slices.
"""

from __future__ import annotations

from ohq.quant import configs
from ohq.quant._registry import register_scheme
from ohq.quant.resource import Resource
from ohq.quant.scheme import Scheme


@register_scheme("uniform")
class FixedPoint(Scheme):
    config = configs.FixedPoint
    resource = Resource.DSP
    allowed_bits = (2, 3, 4, 5, 6, 7, 8, 16)
    description = "fixed-point, symmetric per output channel (DSP multiply)"

    def codes(self, bits: int) -> list[int]:
        self.check_bits(bits)
        half = 1 << (bits - 1)
        return list(range(-half, half))
