"""qmqe's cheap candidates (`measure="lowest"`): one suffix re-run per layer, the rest derived."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ohq.errors import OhqError
from ohq.models import create_model
from ohq.quant import Plan, QuantSpec, quantize
from ohq.sensitivity import QuantMQE
from ohq.sensitivity._candidates import derived_logits, energy_rows, measured_set, monotone

BITS = (2, 3, 4, 8)


@pytest.fixture(scope="module")
def fits():
    torch.manual_seed(0)
    model = create_model("small_cnn", num_classes=10, in_channels=1).eval()
    x = torch.randn(12, 1, 8, 8)
    return model, x, {m: QuantMQE(candidate_bits=BITS, measure=m).fit(model, x) for m in ("all", "lowest")}


def test_default_costs_at_most_0_6_l_forward_passes_for_the_default_candidates():
    torch.manual_seed(0)  # a 21-layer residual net, 4 channels wide, on 8×8 inputs: small but not a chain
    model = create_model("resnet18", num_classes=10, in_channels=1, small_input=True, width=4).eval()
    est = QuantMQE().fit(model, torch.randn(8, 1, 8, 8))  # default candidates {2, 3, 4, 8} and measure
    assert est.candidate_bits == BITS and len(est.layer_names_) == 21
    assert 0 < est.forward_equiv_ <= 0.6 * len(est.layer_names_)


def test_lowest_re_runs_one_candidate_and_derives_the_rest_below_it(fits):
    _, _, est = fits
    exact, cheap = est["all"], est["lowest"]
    assert np.array_equal(cheap.damage_[:, 0], exact.damage_[:, 0])  # 2 bits: the same suffix re-run
    assert np.array_equal(cheap.flips_[:, 0], exact.flips_[:, 0])
    d = cheap.damage(BITS)
    assert (np.diff(d, axis=1) <= 0).all() and (d[:, -1] == 0).all() and (d[:, 1:3] > 0).any()
    assert cheap.forward_equiv_ < 0.6 * exact.forward_equiv_


def test_measured_drop_re_runs_every_candidate_whatever_the_measure(fits):
    model, x, est = fits
    labels = quantize(model, Plan(QuantSpec(8, 8)), x)(x).argmax(dim=1)
    assert np.array_equal(est["lowest"].measured_drop(x, labels), est["all"].measured_drop(x, labels))


def test_with_one_candidate_below_8_bits_both_forms_agree(fits):
    model, x, _ = fits
    a, b = (QuantMQE(candidate_bits=(4, 8), measure=m).fit(model, x) for m in ("all", "lowest"))
    assert np.array_equal(a.damage_, b.damage_) and a.forward_equiv_ == b.forward_equiv_


def test_derived_logits_move_along_the_measured_direction_by_the_error_amplitude():
    ref, out = torch.zeros(2, 3), torch.tensor([[2.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    assert torch.allclose(derived_logits(ref, out, 0.25), out / 2)
    assert energy_rows(32) == 4 and energy_rows(3) == 1


def test_monotone_caps_only_derived_columns():
    d = np.array([[1.0, 2.0, 0.5, 0.0], [0.1, 0.05, 0.2, 0.0]])
    assert monotone(d, BITS, [3, 4]).tolist() == [[1.0, 1.0, 0.5, 0.0], [0.1, 0.05, 0.05, 0.0]]
    assert monotone(d, BITS, []).tolist() == d.tolist()


def test_unknown_measure_is_one_clear_error(fits):
    model, x, _ = fits
    assert measured_set([2, 3, 4], "lowest") == (2,) and measured_set([], "lowest") == ()
    with pytest.raises(OhqError, match="measure must be one of"):
        QuantMQE(measure="some").fit(model, x)


def test_one_calibration_serves_the_8_bit_model_and_the_pipeline(fits):
    model, x, by = fits
    est = by["lowest"]
    shared = est.calibration_  # one fold and float pass for the W8A8 model and every candidate
    assert shared.serves(model, shared.source) and not shared.serves(model, x.clone())
    w8a8 = shared.quantize(Plan(QuantSpec(8, 8)))  # what the pipeline asks for its int8 reference
    assert w8a8.graph_module is est._runner.gm  # qmqe's own model, not a second quantization
    again = QuantMQE(candidate_bits=BITS).fit(model, x, layers=est.layer_names_)  # no re-trace
    assert np.array_equal(again.damage_, est.damage_)


def test_derived_candidates_fit_input_ranges_on_a_subsample_and_the_measured_one_on_all(fits):
    from ohq.sensitivity._candidates import RANGE_VALUES, range_values

    assert range_values(2, (2,)) is None and range_values(3, (2,)) == RANGE_VALUES
    model, x, _ = fits
    est = QuantMQE(candidate_bits=BITS).fit(model, x)  # fresh: measured_drop adds exact ranges
    stats = est.calibration_.stats.values()
    fitted = {key[1:] for s in stats for key in s.ranges}  # (bits, limit) of every range fitted
    assert (2, None) in fitted and (3, RANGE_VALUES) in fitted and (3, None) not in fitted
    assert list(est.stage_seconds_) == ["calibration", "8-bit model", "candidate layers", "swaps", "sweep"]


def test_measured_drop_swaps_derived_candidates_in_with_exact_ranges(fits, monkeypatch):
    from ohq.sensitivity import _candidates

    model, x, by = fits
    monkeypatch.setattr(_candidates, "RANGE_VALUES", 8)  # so that this small model's ranges are subsampled
    cheap = QuantMQE(candidate_bits=BITS, measure="lowest").fit(model, x)
    assert any(key[2] == 8 for s in cheap.calibration_.stats.values() for key in s.ranges)
    labels = quantize(model, Plan(QuantSpec(8, 8)), x)(x).argmax(dim=1)
    assert np.array_equal(cheap.measured_drop(x, labels), by["all"].measured_drop(x, labels))
