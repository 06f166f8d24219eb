"""Quantization core: number schemes, plans, BN folding, PTQ, and the bit-exact integer engine.

>>> from ohq.quant import Plan, QuantSpec, levels
>>> levels("sp2", 4)[7:].tolist()
[0.0, 0.125, 0.25, 0.5, 0.625, 0.75, 1.0]
"""

from torch import Tensor

from ohq.quant import observers, pot, rowmix, sp2, uniform  # noqa: F401  (registers)
from ohq.quant._registry import (
    OBSERVERS,
    SCHEMES,
    get_observer,
    get_scheme,
    list_observers,
    list_schemes,
    register_observer,
    register_scheme,
)
from ohq.quant.configs import (
    SP2,
    FixedPoint,
    PowerOfTwo,
    RowMix,
    SchemeConfig,
    config_for,
    handler_for,
    parse_candidates,
    plan_from,
)
from ohq.quant.convert import Calibration, quantize
from ohq.quant.fold import fold_bn
from ohq.quant.qmodel import IntegerEngine, QuantModel
from ohq.quant.resource import Resource
from ohq.quant.scheme import Scheme
from ohq.quant.size import model_size_mib
from ohq.quant.spec import Plan, QuantSpec
from ohq.quant.weights import quantize_weight, weight_codes


def levels(scheme: str, bits: int) -> Tensor:
    """The level set of `scheme` at `bits` bits, sorted, normalised to max magnitude 1."""
    return get_scheme(scheme).levels(bits)


__all__ = [
    "OBSERVERS",
    "SCHEMES",
    "SP2",
    "FixedPoint",
    "PowerOfTwo",
    "RowMix",
    "SchemeConfig",
    "plan_from",
    "config_for",
    "handler_for",
    "parse_candidates",
    "Calibration",
    "IntegerEngine",
    "Plan",
    "QuantModel",
    "QuantSpec",
    "Resource",
    "Scheme",
    "fold_bn",
    "get_observer",
    "get_scheme",
    "levels",
    "list_observers",
    "list_schemes",
    "model_size_mib",
    "quantize",
    "quantize_weight",
    "register_observer",
    "register_scheme",
    "weight_codes",
]
