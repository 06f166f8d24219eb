"""hls4ml export, read by hls4ml itself: every layer it creates has an entry; with --scale po2 its
C simulation (convert_from_pytorch_model → compile() → predict()) is bit-exact with ohq."""

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
FIXED = re.compile(r"^ap_u?fixed<\d+,-?\d+(,AP_RND(_MIN_INF)?,AP_SAT)?>$")
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
            assert FIXED.match(value), value
            want = value.replace("ap_", "").replace("AP_", "")
            assert str(layer.get_attr(f"{key}_t").precision).startswith(want.rstrip(">")), (layer.name, key)
    names = cfg["LayerName"]
    # a 4-bit ReLU output: 4 bits, one more where the fitted scale is not a power of two (LSB below it)
    assert re.match(r"ap_ufixed<[45],", names["features_1_2"]["Precision"]["result"])
    assert names["features_1_2"]["Precision"]["result"].endswith(",AP_RND,AP_SAT>")
    assert names["features_1_0"]["Precision"]["result"] == names["features_1_0"]["Precision"]["accum"]


@pytest.mark.slow
@pytest.mark.skipif(not (weights_dir() / "digits_cnn.pt").exists(), reason="digits_cnn not trained")
def test_po2_c_simulation_is_bit_exact_with_the_integer_engine(tmp_path):
    """digits_cnn at W8A8 with power-of-two scales; compiled once, cached by model+config hash."""
    from ohq.data import load_dataset
    from ohq.export.hls_sim import hls4ml_compiled, hls4ml_logits
    from ohq.io import cache_root
    from ohq.models import load_model

    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    q = quantize(load_model("digits_cnn").model.eval(), Plan(QuantSpec(8, 8, scale="po2")), train.x[:256])
    export(q, "hls4ml", tmp_path / "hls", input_shape=(1,) + tuple(train.x.shape[1:]))
    # The user-level cache ($OHQ_CACHE, as the RTL builds use): survives fresh clones on one machine.
    hls, _ = hls4ml_compiled(tmp_path / "hls", cache_root() / "hls4ml")
    x = test.x[:N_SIM]
    with torch.no_grad():
        ref = q.to_integer()(x).to(torch.float64)
    got = hls4ml_logits(hls, q, x)
    assert torch.equal(got, ref)  # every logit of every image, bit for bit


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
