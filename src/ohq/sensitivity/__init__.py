"""Layer sensitivity: which layers hurt accuracy most when quantized (the OHQ paper §3.2.1).

Four registered methods share one estimator interface (`fit(model, x, y=None)` → `scores_`,
`damage(bits, scheme)` → layers × bits): `mqe` (the OHQ paper Eqs. 6–9, as the paper has it),
`qmqe` (MQE with quantization-shaped perturbations, one score per candidate bit-width),
`layerwise` (Eq. 5) and `hessian` (HAWQ-V2/V3).

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3))
>>> m = analyze(net.eval(), torch.randn(8, 1, 8, 8), method="hessian", n_probes=4)
>>> m.layer_names_, len(m.scores_)
(['0', '4'], 2)
"""

from __future__ import annotations

from torch import Tensor, nn

from ohq.sensitivity import hessian, layerwise, mqe, qmqe  # noqa: F401  (registers the methods)
from ohq.sensitivity.base import (
    METHODS,
    SensitivityMethod,
    get_method,
    list_methods,
    register_method,
)
from ohq.sensitivity.hessian import HessianTrace
from ohq.sensitivity.layerwise import Layerwise
from ohq.sensitivity.mqe import MQE
from ohq.sensitivity.qmqe import QuantMQE


def analyze(
    model: nn.Module, x: Tensor, y: Tensor | None = None, method: str = "mqe", **params
) -> SensitivityMethod:
    """Fit sensitivity method `method` (with its parameters) on inputs `x`; returns the fitted method."""
    return get_method(method, **params).fit(model, x, y)


__all__ = [
    "METHODS",
    "MQE",
    "QuantMQE",
    "HessianTrace",
    "Layerwise",
    "SensitivityMethod",
    "analyze",
    "get_method",
    "list_methods",
    "register_method",
]
