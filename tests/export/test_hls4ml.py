"""hls4ml config and FINN folding: hls4ml's shape, types from the integer datapath, hw-model folding."""

from __future__ import annotations

import re

import pytest
from conftest import MNIST_SHAPE, needs_mnist_cnn

from ohq.errors import OhqError
from ohq.export import finn_folding, hls4ml_config
from ohq.quant import Plan, QuantSpec, quantize

pytestmark = needs_mnist_cnn
TYPE = re.compile(r"^(ap_fixed<\d+,-?\d+>|ap_int<\d+>|ap_uint<\d+>)$")


def test_config_shape_and_precisions(q48):
    cfg = hls4ml_config(q48, MNIST_SHAPE)
    assert set(cfg) == {"Model", "LayerName"}
    assert {"Precision", "ReuseFactor", "Strategy"} == set(cfg["Model"])
    assert list(cfg["LayerName"]) == list(q48.layers)
    for _name, entry in cfg["LayerName"].items():
        assert set(entry) == {"Precision", "ReuseFactor", "Strategy"}
        assert set(entry["Precision"]) == {"weight", "bias", "result", "accum"}
        assert all(TYPE.match(t) for t in entry["Precision"].values()), entry
        assert entry["ReuseFactor"] >= 1 and entry["Strategy"] in ("Latency", "Resource")
    layers = cfg["LayerName"]
    assert layers["features.1.0"]["Precision"]["weight"] == "ap_int<4>"
    assert layers["features.0.0"]["Precision"]["weight"] == "ap_int<8>"
    assert layers["features.1.0"]["Precision"]["result"] == "ap_uint<4>"
    assert layers["fc"]["Precision"]["result"].startswith("ap_fixed<")  # the dequantized logits


def test_accum_holds_the_static_bound(q8):
    cfg = hls4ml_config(q8, MNIST_SHAPE)
    for name, layer in q8.layers.items():
        bits = int(re.search(r"\d+", cfg["LayerName"][name]["Precision"]["accum"]).group())
        assert layer.acc_bound < 2 ** (bits - 1)


def test_folding_divides_the_layer(q8):
    fold = finn_folding(q8, MNIST_SHAPE, "xczu9eg-ffvb1156-2-e")
    assert "Defaults" in fold
    for name, layer in q8.layers.items():
        entry = fold[name]
        assert set(entry) == {"PE", "SIMD", "resType", "ram_style"}
        assert layer.weight.shape[0] % entry["PE"] == 0 and layer.weight.shape[1] % entry["SIMD"] == 0
        assert entry["resType"] in ("lut", "dsp") and entry["ram_style"] in ("distributed", "block")


def test_sp2_layer_is_lut_and_refused_by_strict_config(mnist):
    from ohq.models import load_model

    plan = Plan(QuantSpec(8, 8), {"features.1.0": QuantSpec(4, 8, "sp2")})
    q = quantize(load_model("mnist_cnn").model.eval(), plan, mnist[0][:32])
    with pytest.raises(OhqError, match=r"hls4ml cannot express layer 'features.1.0'.*'sp2'"):
        hls4ml_config(q, MNIST_SHAPE)
    assert finn_folding(q, MNIST_SHAPE, strict=False)["features.1.0"]["resType"] == "lut"
    loose = hls4ml_config(q, MNIST_SHAPE, strict=False)
    assert TYPE.match(loose["LayerName"]["features.1.0"]["Precision"]["weight"])
