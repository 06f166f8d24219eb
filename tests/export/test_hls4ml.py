"""hls4ml export, read by hls4ml itself: every layer it creates has an entry with an exact type; its
C simulation (convert_from_pytorch_model → compile() → predict()) computes ohq's integer engine:
bit-exact logits with --scale po2, every code ohq's with fitted scales."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import MNIST_SHAPE, needs_mnist_cnn

from ohq.errors import OhqError
from ohq.export import export, hls4ml_config
from ohq.models.shipped import weights_dir
from ohq.quant import Plan, QuantSpec, quantize

hls4ml = pytest.importorskip("hls4ml")
TYPE = re.compile(r"^(ap_u?int<\d+>|ap_u?fixed<\d+,-?\d+(,AP_RND,AP_SAT)?>)$")
N_SIM = 120  # digits test images through the C simulation (it runs ~0.02 s per image)


def _convert(folder, tmp_path):
    from ohq.export.hls_sim import load_export

    model, config = load_export(folder)
    return hls4ml.converters.convert_from_pytorch_model(
        model, hls_config=config, output_dir=str(tmp_path / "prj"), backend="Vivado", io_type="io_parallel")


@needs_mnist_cnn
def test_every_layer_hls4ml_creates_has_value_types(q48, tmp_path):
    export(q48, "hls4ml", tmp_path / "hls", input_shape=MNIST_SHAPE)
    hls = _convert(tmp_path / "hls", tmp_path)
    cfg = hls4ml_config(q48, MNIST_SHAPE)
    assert cfg["Model"]["ChannelsLastConversion"] == "full" and cfg["InputShape"] == (1, 28, 28)
    created = [layer.name for layer in hls.get_layers()]
    assert set(created) == set(cfg["LayerName"])  # hls4ml's names: features_0_0, not features.0.0
    for layer in hls.get_layers():  # hls4ml took ohq's types, not its defaults
        for key, value in cfg["LayerName"][layer.name]["Precision"].items():
            assert TYPE.match(value), value
            want = value.replace("ap_", "").replace("AP_", "")
            assert str(layer.get_attr(f"{key}_t").precision).startswith(want.rstrip(">")), (layer.name, key)
    names = cfg["LayerName"]
    # codes: 4-bit weight codes, an exact integer accumulator, then the requantizing BatchNorm's
    # 4-bit codes, rounded half up and clamped (ohq's requantization)
    assert names["features_1_0"]["Precision"]["weight"] == "ap_int<4>"
    assert names["features_1_0"]["Precision"]["result"] == names["features_1_0"]["Precision"]["accum"]
    assert names["features_1_0_requant"]["Precision"]["result"] == "ap_ufixed<4,4,AP_RND,AP_SAT>"
    assert names["features_1_2"]["Precision"]["result"] == "ap_ufixed<4,4,AP_RND,AP_SAT>"
    assert names["input_1"]["Precision"]["result"] == "ap_int<9>"  # q - z, z = 33


def _digits(scale: str):
    from ohq.data import load_dataset
    from ohq.models import load_model

    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    q = quantize(load_model("digits_cnn").model.eval(), Plan(QuantSpec(8, 8, scale=scale)), train.x[:256])
    return q, (1,) + tuple(train.x.shape[1:]), test.x[:N_SIM]


def _simulate(q, shape, x, tmp_path):
    """(hls4ml's logits, ohq's integer engine's) for x; the C simulation compiled once, cached."""
    from ohq.export.hls_sim import hls4ml_compiled, hls4ml_logits
    from ohq.io import cache_root

    export(q, "hls4ml", tmp_path / "hls", input_shape=shape)
    # The user-level cache ($OHQ_CACHE, as the RTL builds use): survives fresh clones on one machine.
    hls, _ = hls4ml_compiled(tmp_path / "hls", cache_root() / "hls4ml")
    with torch.no_grad():
        ref = q.to_integer()(x).to(torch.float64)
    return hls4ml_logits(hls, q, x), ref


@pytest.mark.slow
@pytest.mark.skipif(not (weights_dir() / "digits_cnn.pt").exists(), reason="digits_cnn not trained")
def test_po2_c_simulation_is_bit_exact_with_the_integer_engine(tmp_path):
    """digits_cnn at W8A8 with power-of-two scales: every logit of every image, bit for bit."""
    got, ref = _simulate(*_digits("po2"), tmp_path)
    assert torch.equal(got, ref)


@pytest.mark.slow
@pytest.mark.skipif(not (weights_dir() / "digits_cnn.pt").exists(), reason="digits_cnn not trained")
def test_fitted_scales_c_simulation_computes_every_code_of_the_integer_engine(tmp_path):
    """digits_cnn at W8A8 with fitted scales: hls4ml's logits are ohq's up to ohq's own float32
    rounding of acc·s_in·step_c (half an ulp, plus 2^-40 of hls4ml's); one code of difference at
    an input of the last layer would move a logit by s_in·step_c·|code|, far more."""
    got, ref = _simulate(*_digits("float"), tmp_path)
    assert torch.equal(got.argmax(1), ref.argmax(1))
    assert ((got - ref).abs() <= 2.0**-23 * ref.abs()).all(), float((got - ref).abs().max())


def test_sp2_layer_is_refused_naming_it(mnist, tmp_path):
    from ohq.models import load_model

    plan = Plan(QuantSpec(8, 8), {"features.1.0": QuantSpec(4, 8, "sp2")})
    q = quantize(load_model("mnist_cnn").model.eval(), plan, mnist[0][:32])
    with pytest.raises(OhqError, match=r"hls4ml cannot express layer 'features.1.0'.*'sp2'.*uniform"):
        export(q, "hls4ml", tmp_path / "hls", input_shape=MNIST_SHAPE)
    assert not (tmp_path / "hls").exists()


@pytest.mark.skipif(not (weights_dir() / "mnist_resnet.pt").exists(), reason="mnist_resnet not trained")
def test_residual_add_is_refused_naming_it(shipped_case):
    q = shipped_case("mnist_resnet", "W8A8")
    with pytest.raises(OhqError, match=r"hls4ml export cannot express 'add.*onnx-qdq or qonnx"):
        hls4ml_config(q, MNIST_SHAPE)
    assert hls4ml_config(q, MNIST_SHAPE, strict=False) is None


@pytest.mark.slow
@pytest.mark.skipif(not (weights_dir() / "digits_cnn.pt").exists(), reason="digits_cnn not trained")
def test_qonnx_export_converts_compiles_and_predicts_in_hls4ml():
    """`--format qonnx` as hls4ml's convert_from_onnx_model reads it (after the qonnx preparation
    hls4ml's docs ask for): digits_cnn at W8A8 with fitted scales; compiled once, cached."""
    from ohq.data import load_dataset
    from ohq.export.check import output_units
    from ohq.export.hls_sim import hls4ml_from_qonnx, hls4ml_qonnx_logits
    from ohq.export.qonnx import to_qonnx
    from ohq.io import cache_root
    from ohq.models import load_model

    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    q = quantize(load_model("digits_cnn").model.eval(), Plan(QuantSpec(8, 8)), train.x[:256])
    hls, _ = hls4ml_from_qonnx(to_qonnx(q, (1,) + tuple(train.x.shape[1:])), cache_root() / "hls4ml")
    x = test.x[:N_SIM]
    with torch.no_grad():
        ref = q.to_integer()(x).to(torch.float64)
    got = hls4ml_qonnx_logits(hls, q, x)
    assert float((got.argmax(1) == ref.argmax(1)).double().mean()) >= 0.99
    # hls4ml requantizes with x·(1/s) in fixed<48,16> and rounds half to even where ohq uses m·2^-k
    # and rounds half up: a code on a rounding edge can flip. Bound: less than one code of difference
    # at every input of the last layer (Σ_j|code_cj| LSB; measured ≈ 2 codes at one input, 233 LSB)
    fc = q.layers["fc"]
    lsb = (got - ref).abs() / output_units(q, ref)
    assert (lsb <= fc.codes.abs().sum(dim=1).to(torch.float64)).all()
