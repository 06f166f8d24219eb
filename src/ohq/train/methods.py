"""QAT methods: which weight and activation quantizer each layer trains with (one class each).

A method is registered by name (`@register_method`) and looked up with `get_method`; tests loop
over `list_methods()`. Layers a method does not apply to (LSQ on a PoT layer, the reconstructed
gradient on a fixed-point layer) train with the plain straight-through estimator.
"""

from __future__ import annotations

from typing import TypeVar

from torch import Tensor, nn

from ohq.errors import OhqError
from ohq.quant.dyadic import QParams
from ohq.quant.spec import QuantSpec
from ohq.train.quantizers import ActQuant, LsqActQuant, LsqWeight, ReconstructedWeight, SteWeight

_METHODS: dict[str, Method] = {}
T = TypeVar("T")


class Method:
    """Base: plain STE weights (the spec's scheme and observer) and fixed PTQ activation steps."""

    name = ""
    description = ""

    def weight_quant(self, spec: QuantSpec, weight: Tensor) -> nn.Module:
        return SteWeight(spec, weight)

    def act_quant(self, params: QParams) -> ActQuant:
        return ActQuant(params)

    def on_step(self, net: nn.Module, step: int, total: int) -> None:
        """Schedules (e.g. α of the reconstructed gradient); called before each optimiser step."""


def register_method(cls: type[T]) -> type[T]:
    handler = cls()
    if handler.name in _METHODS:
        raise RuntimeError(f"QAT method {handler.name!r} registered twice")
    _METHODS[handler.name] = handler
    return cls


def get_method(name: str) -> Method:
    if name not in _METHODS:
        raise OhqError(f"unknown QAT method {name!r}; known: {', '.join(list_methods())}")
    return _METHODS[name]


def list_methods() -> list[str]:
    return sorted(_METHODS)


@register_method
class Ste(Method):
    name = "ste"
    description = "straight-through estimator, every scheme; PTQ-calibrated activation steps"


@register_method
class Lsq(Method):
    name = "lsq"
    description = "learned step sizes (LSQ) for fixed-point weights and every activation"

    def weight_quant(self, spec: QuantSpec, weight: Tensor) -> nn.Module:
        if spec.scheme == "uniform":
            return LsqWeight(spec, weight)
        return SteWeight(spec, weight)

    def act_quant(self, params: QParams) -> ActQuant:
        return LsqActQuant(params)


@register_method
class Nbq(Method):
    """α goes linearly from ALPHA0 to 0 over the first ANNEAL share of the steps."""

    name = "nbq"
    description = "n-BQ-NN reconstructed gradient for power-of-two weights (α annealed to 0)"
    ALPHA0, ANNEAL = 1.0, 0.8

    def weight_quant(self, spec: QuantSpec, weight: Tensor) -> nn.Module:
        if spec.scheme == "pot":
            return ReconstructedWeight(spec, weight)
        return SteWeight(spec, weight)

    def on_step(self, net: nn.Module, step: int, total: int) -> None:
        alpha = self.ALPHA0 * max(0.0, 1.0 - step / max(self.ANNEAL * total, 1.0))
        for m in net.modules():
            if isinstance(m, ReconstructedWeight):
                m.alpha.fill_(alpha)
