"""Power-of-two weights (n-BQ-NN): levels {0, ±2^0, ±2^-1, …, ±2^-(r-1)}·S, r = 2^(b-1) - 1.

b = 3 gives {0, ±1/4, ±1/2, ±1}. Integer codes are the levels times 2^(r-1), i.e. {0, ±1, ±2, …,
±2^(r-1)}: a product with an activation is one barrel shift. Bits stop at 5 (r = 15): above it the
exponent range no longer fits a 32-bit accumulator.
"""

from __future__ import annotations

from ohq.quant import configs
from ohq.quant._registry import register_scheme
from ohq.quant.resource import Resource
from ohq.quant.scheme import Scheme


@register_scheme("pot")
class PowerOfTwo(Scheme):
    config = configs.PowerOfTwo
    resource = Resource.SHIFT
    allowed_bits = (2, 3, 4, 5)
    description = "power-of-two, n-BQ-NN (one shift per product)"

    def codes(self, bits: int) -> list[int]:
        self.check_bits(bits)
        r = (1 << (bits - 1)) - 1
        mags = [1 << e for e in range(r)]  # 2^0 … 2^(r-1): levels 2^-(r-1) … 2^0 times 2^(r-1)
        return sorted([-m for m in mags] + [0] + mags)
