"""The default observer ("auto") is the measured choice per bit-width; naming one overrides it."""

from __future__ import annotations

import torch
from torch import nn

from ohq.quant import Plan, QuantSpec, get_observer, quantize
from ohq.quant.observers import AUTO_ACT, AUTO_WEIGHT, Auto


def test_auto_picks_per_bit_width_and_delegates():
    auto = get_observer("auto")
    assert isinstance(auto, Auto) and QuantSpec().a_observer == QuantSpec().w_observer == "auto"
    for bits in (2, 3, 4, 6, 8, 16):
        act = get_observer(AUTO_ACT.get(bits, "mse"))
        assert auto.for_bits(bits, False) is act
        assert auto.for_bits(bits, True) is get_observer(AUTO_WEIGHT.get(bits, "minmax"))
    x = torch.cat([torch.randn(2000, generator=torch.Generator().manual_seed(0)), torch.tensor([40.0])])
    assert auto.act_range(x, 4) == get_observer("mse").act_range(x, 4) != get_observer("minmax").act_range(x, 4)
    assert auto.act_range(x, 8) == get_observer("minmax").act_range(x, 8)


def test_default_and_explicit_observers_in_a_plan():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3)).eval()
    x = torch.randn(64, 1, 8, 8)
    x[0, 0, 0, 0] = 30.0  # one outlier: min-max spends the 4-bit range on it, MSE clips it

    def first_input(spec: QuantSpec):
        return quantize(net, Plan(spec), x).layers["0"].inp

    assert first_input(QuantSpec(8, 4)) == first_input(QuantSpec(8, 4, a_observer="mse"))
    assert first_input(QuantSpec(8, 4, a_observer="minmax")).scale > first_input(QuantSpec(8, 4)).scale
    assert first_input(QuantSpec(8, 8)) == first_input(QuantSpec(8, 8, a_observer="minmax"))


def test_8_bit_ranges_do_not_depend_on_another_layer_being_at_2_bits():
    """A 2-bit MSE layer makes calibration keep a subsample of every tensor; min-max at 8 bits
    must still see the exact extremes, so the W8A8 part of the plan is the W8A8 model's."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                        nn.Flatten(), nn.Linear(8 * 32 * 32, 3)).eval()
    x = torch.randn(64, 1, 32, 32)  # 2^19 values per tensor: more than calibration keeps
    w8 = quantize(net, Plan(QuantSpec(8, 8)), x).layers
    mixed = quantize(net, Plan(QuantSpec(8, 8), {"0": QuantSpec(2, 2)}), x).layers
    assert mixed["2"].out == w8["2"].out and mixed["5"].inp == w8["5"].inp
