"""Sum of two powers of two (SP2, MSQ): levels ±S·(q1 + q2).

q1 ∈ {0, 2^-1, …, 2^-(2^m1 - 1)}, q2 ∈ {0, 2^-1, …, 2^-(2^m2 - 1)}, b = 1 + m1 + m2 with
m1 = ceil((b-1)/2), m2 = floor((b-1)/2). 4 bit: m1 = 2, m2 = 1, magnitudes
{0, 1/8, 1/4, 1/2, 5/8, 3/4, 1}. Normalised to max magnitude 1: for b ≥ 3 the maximum is
q1 = q2 = 1/2 already; b = 2 has m2 = 0 (q2 ∈ {0}), so {0, ±1/2} becomes {0, ±1} (ternary).
A product is two shifts and an add on LUTs.
"""

from __future__ import annotations

from ohq.quant import configs
from ohq.quant._registry import register_scheme
from ohq.quant.resource import Resource
from ohq.quant.scheme import Scheme


def sp2_split(bits: int) -> tuple[int, int]:
    """(m1, m2) for b bits: one sign bit, m1 ≥ m2 bits for the two exponents."""
    m = bits - 1
    return (m + 1) // 2, m // 2


@register_scheme("sp2")
class SP2(Scheme):
    config = configs.SP2
    resource = Resource.SHIFT_ADD
    allowed_bits = (2, 3, 4, 5, 6, 7, 8)
    description = "sum of two powers of two, MSQ (two shifts and an add on LUTs)"

    def codes(self, bits: int) -> list[int]:
        self.check_bits(bits)
        m1, m2 = sp2_split(bits)
        d = (1 << m1) - 1  # q1's smallest power: 2^-d; every level is an integer times 2^-d
        q1 = [0] + [1 << (d - e) for e in range(1, d + 1)]
        q2 = [0] + [1 << (d - e) for e in range(1, (1 << m2))]
        mags = {a + b for a in q1 for b in q2}  # the largest, 2^d (or 1 when b = 2), is a power of 2
        return sorted({-m for m in mags} | mags)
