"""--scale po2: power-of-two weight steps and activation scales, exact power-of-two requantization."""

from __future__ import annotations

import math

import pytest
import torch

from ohq.errors import OhqError
from ohq.quant import Plan, QuantSpec, quantize
from ohq.quant.po2 import po2_ceil, with_scale


def _is_po2(x: float) -> bool:
    return x > 0 and math.log2(x) == round(math.log2(x))


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 36, 10),
    ).eval()


def test_po2_ceil():
    assert po2_ceil(torch.tensor([0.3, 0.25, 1.0, 5.0])).tolist() == [0.5, 0.25, 1.0, 8.0]


@pytest.mark.parametrize("scheme", ["uniform", "pot", "sp2"])
def test_every_scale_is_a_power_of_two_and_requant_is_a_shift(scheme):
    x = torch.randn(64, 1, 14, 14)
    q = quantize(_net(), Plan(QuantSpec(4, 8, scheme, scale="po2")), x)
    for layer in q.layers.values():
        assert all(_is_po2(s) for s in layer.step.tolist())
        assert _is_po2(layer.inp.scale)
        if layer.out is not None:  # m·2^-k = s_in·step/s_out exactly, m a power of two
            assert all(_is_po2(m) for m in layer.m.reshape(-1).tolist())
            assert torch.equal(layer.m.reshape(-1).double() * 2.0**-layer.k,
                               (layer.inp.scale * layer.step / layer.out.scale).double())
    float_q = quantize(_net(), Plan(QuantSpec(4, 8, scheme)), x)
    with torch.no_grad():  # the rounded-up grids stay close to the fitted ones
        assert (q(x) - float_q(x)).abs().max() < 0.5 * float_q(x).abs().max()


def test_scale_roundtrips_and_is_checked(tmp_path):
    plan = with_scale(Plan(QuantSpec(8, 8), {"0": QuantSpec(4, 4)}, first_last_bits=8), "po2")
    plan.save_json(tmp_path / "p.json")
    again = Plan.load_json(tmp_path / "p.json")
    assert again.default.scale == "po2" and again.layers["0"].scale == "po2"
    assert again.resolve(["0", "3", "6"])["6"].scale == "po2"
    with pytest.raises(OhqError, match="scale must be one of float, po2"):
        QuantSpec(8, 8, scale="log")
    with pytest.raises(OhqError, match="rowmix"):
        QuantSpec(8, 8, "rowmix", scale="po2")
