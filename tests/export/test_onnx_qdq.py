"""onnx-qdq runs in onnxruntime and agrees with ohq's integer engine (tolerance: docs/export.md)."""

from __future__ import annotations

import onnx
import pytest
import torch
from conftest import MNIST_SHAPE, needs_mnist_cnn

from ohq.errors import OhqError
from ohq.export.check import agreement, ort_logits
from ohq.export.onnx_qdq import to_qdq
from ohq.quant import Plan, QuantSpec, quantize

pytestmark = needs_mnist_cnn


def test_onnxruntime_agrees_with_integer_engine(qmodel, mnist):
    x = mnist[1].x[:1000]
    model = to_qdq(qmodel, MNIST_SHAPE)
    with torch.no_grad():
        ref = qmodel.to_integer()(x)
    got = ort_logits(model, x)
    facts = agreement(qmodel, ref, got)
    assert facts["argmax_agreement"] >= 0.995
    assert facts["within_1_unit"] >= 0.95
    # one code of difference at every input of the last layer moves logit c by sum_j |code_cj| LSB
    fc = qmodel.layers["fc"]
    assert facts["max_abs_diff_units"] <= float(fc.codes.abs().sum(dim=1).min())


def test_graph_is_qdq_with_int8_weights_and_clip_for_4_bit(q48):
    model = to_qdq(q48, MNIST_SHAPE)
    ops = [n.op_type for n in model.graph.node]
    assert {"QuantizeLinear", "DequantizeLinear", "Conv", "Gemm", "Clip"} <= set(ops)
    inits = {i.name: i for i in model.graph.initializer}
    int8 = [i for i in inits.values() if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4]
    assert len(int8) == 4  # the four conv weight tensors
    codes = [onnx.numpy_helper.to_array(i) for i in int8]
    assert codes[1].min() >= -8 and codes[1].max() <= 7  # a 4-bit layer: codes of 4 bits in int8


def test_sixteen_bit_activations_are_refused(mnist):
    from ohq.models import load_model

    q = quantize(load_model("mnist_cnn").model.eval(), Plan(QuantSpec(8, 16)), mnist[0][:32])
    with pytest.raises(OhqError, match="features.0.0.*16 bits"):
        to_qdq(q, MNIST_SHAPE)


def test_codes_beyond_int8_are_refused(mnist):
    from ohq.models import load_model

    plan = Plan(QuantSpec(8, 8), {"features.1.0": QuantSpec(6, 8, "sp2")})
    q = quantize(load_model("mnist_cnn").model.eval(), plan, mnist[0][:32])
    with pytest.raises(OhqError, match=r"'features.1.0'.*sp2.*int8"):
        to_qdq(q, MNIST_SHAPE)
