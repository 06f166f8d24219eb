"""Calibration: one fold and float pass shared by several plans, bit for bit what quantize gives."""

from __future__ import annotations

import pytest
import torch
from qhelpers import small_model

from ohq.errors import OhqError
from ohq.quant import Calibration, Plan, QuantSpec, quantize

PLANS = [Plan(QuantSpec(8, 8)), Plan(QuantSpec(2, 2)), Plan(QuantSpec(4, 4, "pot")),
         Plan(QuantSpec(8, 8), {"conv1": QuantSpec(3, 3)})]


def test_shared_calibration_is_quantize_bit_for_bit():
    model = small_model("resnet18")  # residual adds, a downsample reading a shared tensor, flatten
    calib = torch.randn(6, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    x = calib[:2]
    shared = Calibration(model, calib, PLANS)  # value samples kept: W8A8 alone keeps none
    for plan in PLANS:
        ref = quantize(model, plan, calib)
        got = shared.quantize(plan)
        assert got is shared.quantize(plan)  # one model per plan
        with torch.no_grad():
            assert torch.equal(got(x), ref(x)), plan
        for layer_name, layer in shared.layers(plan).items():
            want = ref.layers[layer_name]
            assert (layer.src, layer.inp, layer.out) == (want.src, want.inp, None), (plan, layer_name)
            assert torch.equal(layer.codes, want.codes) and torch.equal(layer.step, want.step)


def test_a_plan_that_needs_samples_recalibrates():
    model = small_model("resnet18")
    calib = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(2))
    shared = Calibration(model, calib, [PLANS[0]])  # min-max at 8 bits: no value samples kept
    assert not shared.samples
    got = shared.layers(PLANS[1])  # MSE ranges at 2 bits need them
    assert shared.samples
    ref = quantize(model, PLANS[1], calib).layers
    assert all(got[n].inp == ref[n].inp for n in ref)
    assert shared.serves(model, calib) and not shared.serves(model, calib.clone())


def test_calibration_checks_its_plans():
    with pytest.raises(OhqError, match="must be an ohq.quant.Plan"):
        Calibration(small_model("resnet18"), torch.randn(2, 1, 32, 32), [QuantSpec(8, 8)])


def test_ranges_are_fitted_once_per_observer_bits_and_sample_limit():
    from ohq.quant import get_observer
    from ohq.quant.calibrate import Stats

    s = Stats(-1.0, 3.0, [torch.linspace(-1, 3, 1000, dtype=torch.float64)])
    assert len(s.values()) == 1002 and len(s.values(100)) == 102 and s.values(100)[-1] == 3.0
    mse = get_observer("mse")
    assert s.fit_range(mse, 2) == mse.act_range(s.values(), 2)
    s.ranges[("mse", 2, None)] = (0.0, 1.0)  # memoised: not fitted again
    assert s.fit_range(mse, 2) == (0.0, 1.0) and s.fit_range(mse, 2, 100) != (0.0, 1.0)
