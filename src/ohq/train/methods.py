"""QAT methods: which weight and activation quantizer each layer trains with (one class each).

A method is one class in the trainer registry (`@register_trainer("name")`, ohq.registry), looked
up with `get_method`; tests loop over `list_methods()`. Layers a method does not apply to (LSQ
on a PoT layer, the reconstructed gradient on a fixed-point layer) train with the plain STE.
`Method().fit(model, plan, data, ...)` is `ohq.train.qat(..., method=name)`.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ohq.quant.dyadic import QParams
from ohq.quant.spec import QuantSpec
from ohq.train._registry import TRAINERS, register_trainer
from ohq.train.quantizers import ActQuant, LsqActQuant, LsqWeight, ReconstructedWeight, SteWeight


class Method:
    """Base: plain STE weights (the spec's scheme and observer) and fixed PTQ activation steps."""

    name = ""
    description = ""

    def fit(self, model: nn.Module, plan: Any, data: Any, **kwargs: Any) -> nn.Module:
        """QAT of `model` at `plan` on `data` with this method; returns the QuantModel."""
        from ohq.train.api import qat

        return qat(model, plan, data, method=self.name, **kwargs)

    def weight_quant(self, spec: QuantSpec, weight: Tensor) -> nn.Module:
        return SteWeight(spec, weight)

    def act_quant(self, params: QParams) -> ActQuant:
        return ActQuant(params)

    def on_step(self, net: nn.Module, step: int, total: int) -> None:
        """Schedules (e.g. α of the reconstructed gradient); called before each optimiser step."""


def get_method(name: str) -> Method:
    """The handler of QAT method `name`; OhqError naming the known ones otherwise."""
    return TRAINERS.get(name)()


def list_methods() -> list[str]:
    return TRAINERS.names()


@register_trainer("ste")
class Ste(Method):
    description = "straight-through estimator, every scheme; PTQ-calibrated activation steps"


@register_trainer("lsq")
class Lsq(Method):
    description = "learned step sizes (LSQ) for fixed-point weights and every activation"

    def weight_quant(self, spec: QuantSpec, weight: Tensor) -> nn.Module:
        if spec.scheme == "uniform":
            return LsqWeight(spec, weight)
        return SteWeight(spec, weight)

    def act_quant(self, params: QParams) -> ActQuant:
        return LsqActQuant(params)


@register_trainer("nbq")
class Nbq(Method):
    """α goes linearly from ALPHA0 to 0 over the first ANNEAL share of the steps."""

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
