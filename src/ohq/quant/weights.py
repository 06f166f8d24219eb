"""Weight quantization per output channel: integer codes and one step per channel.

>>> import torch
>>> w = torch.tensor([[0.9, -0.3, 0.05], [0.2, 0.1, -0.4]])
>>> quantize_weight(w, QuantSpec(w_bits=3, scheme="pot"))
tensor([[ 0.9000, -0.2250,  0.0000],
        [ 0.2000,  0.1000, -0.4000]])
"""

from __future__ import annotations

import torch
from torch import Tensor

from ohq.errors import OhqError
from ohq.quant._registry import get_scheme
from ohq.quant.spec import QuantSpec


def check_finite(tensor: Tensor, what: str) -> None:
    if not bool(torch.isfinite(tensor).all()):
        raise OhqError(f"{what} contains NaN or Inf; fix the model before quantizing")


def weight_codes(weight: Tensor, spec: QuantSpec, name: str = "weight") -> tuple[Tensor, Tensor]:
    """(codes, step): float64 integer-valued codes of `weight`'s shape and a step per output channel.

    The quantized weight is `codes * step[:, None, ...]`; the integer engine multiplies the codes.
    """
    if spec.w_bits is None:
        raise OhqError(f"{name}: the spec leaves weights in float (w_bits=None)")
    check_finite(weight, name)
    w = weight.detach().to(torch.float64).reshape(weight.shape[0], -1)
    scheme = get_scheme(spec.scheme)
    codes, step = scheme.quantize_rows(w, spec.w_bits, spec.w_observer, spec.rho)
    if spec.scale == "po2":
        from ohq.quant.po2 import po2_rows

        codes, step = po2_rows(scheme, w, spec.w_bits, step)
    return codes.reshape(weight.shape), step


def quantize_weight(weight: Tensor, spec: QuantSpec) -> Tensor:
    """Fake-quantized `weight` (same shape and dtype), per output channel (dim 0)."""
    if spec.w_bits is None:
        return weight.detach().clone()
    codes, step = weight_codes(weight, spec)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    return (codes * step.reshape(shape)).to(weight.dtype)
