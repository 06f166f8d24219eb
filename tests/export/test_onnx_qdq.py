"""onnx-qdq runs in onnxruntime and agrees with ohq's integer engine (tolerance: docs/export.md)."""

from __future__ import annotations

import onnx
import pytest
import torch
from conftest import MNIST_SHAPE, assert_agrees, needs_mnist_cnn, shipped_params

from ohq.errors import OhqError
from ohq.export.check import drift, ohq_last_input, ort_logits, ort_session, output_layer
from ohq.export.onnx_qdq import to_qdq
from ohq.quant import Plan, QuantSpec, quantize

N_ORT = 256  # test images per model/plan (bench/bench_export.py runs all 10,000)


@pytest.mark.parametrize(("model", "plan"), shipped_params())
def test_onnxruntime_agrees_with_integer_engine(model, plan, shipped_case, mnist):
    qmodel = shipped_case(model, plan)
    x = mnist[1].x[:N_ORT]
    with torch.no_grad():
        ref = qmodel.to_integer()(x)
    _, q_ref = ohq_last_input(qmodel, x)
    got, q_got = ort_logits(to_qdq(qmodel, MNIST_SHAPE), x, last_input=output_layer(qmodel))
    assert_agrees(model, qmodel, drift(qmodel, ref, got, q_ref, q_got), argmax=0.99)


INTEGER_KERNELS = {"QLinearConv", "ConvInteger", "QLinearMatMul", "MatMulInteger", "QGemm",
                   "MatMulIntegerToFloat"}


@pytest.mark.parametrize(("model", "plan"), shipped_params())
def test_onnxruntime_fuses_every_layer_into_an_integer_kernel(model, plan, shipped_case, tmp_path):
    """Read back the graph onnxruntime runs at ORT_ENABLE_EXTENDED: no float Conv/Gemm/MatMul is
    left, and every ohq layer is one integer kernel (residual adds fuse too)."""
    qmodel = shipped_case(model, plan)
    exported = to_qdq(qmodel, MNIST_SHAPE)
    ort_session(exported, optimized=tmp_path / "opt.onnx")
    ops = [n.op_type for n in onnx.load(str(tmp_path / "opt.onnx")).graph.node]
    assert not {"Conv", "Gemm", "MatMul"} & set(ops), ops
    assert sum(op in INTEGER_KERNELS for op in ops) == len(qmodel.layers)
    n_add = sum(n.op_type == "Add" for n in exported.graph.node)
    assert ops.count("QLinearAdd") == n_add


@needs_mnist_cnn
def test_graph_is_qdq_with_int8_weights_and_clip_for_4_bit(q48):
    model = to_qdq(q48, MNIST_SHAPE)
    ops = [n.op_type for n in model.graph.node]
    assert {"QuantizeLinear", "DequantizeLinear", "Conv", "Gemm", "Clip"} <= set(ops)
    producer = {o: n.op_type for n in model.graph.node for o in n.output}
    for node in model.graph.node:  # onnxruntime's layout: DQ → Conv/Gemm → [Relu] → Q
        if node.op_type in ("Conv", "Gemm"):
            assert all(producer[i] == "DequantizeLinear" for i in node.input), node.name
    inits = {i.name: i for i in model.graph.initializer}
    int8 = [i for i in inits.values() if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4]
    assert len(int8) == 4  # the four conv weight tensors
    codes = [onnx.numpy_helper.to_array(i) for i in int8]
    assert codes[1].min() >= -8 and codes[1].max() <= 7  # a 4-bit layer: codes of 4 bits in int8


@needs_mnist_cnn
def test_sixteen_bit_activations_are_refused(mnist):
    from ohq.models import load_model

    q = quantize(load_model("mnist_cnn").model.eval(), Plan(QuantSpec(8, 16)), mnist[0][:32])
    with pytest.raises(OhqError, match="features.0.0.*16 bits"):
        to_qdq(q, MNIST_SHAPE)


@needs_mnist_cnn
def test_codes_beyond_int8_are_refused(mnist):
    from ohq.models import load_model

    plan = Plan(QuantSpec(8, 8), {"features.1.0": QuantSpec(6, 8, "sp2")})
    q = quantize(load_model("mnist_cnn").model.eval(), plan, mnist[0][:32])
    with pytest.raises(OhqError, match=r"'features.1.0'.*sp2.*int8"):
        to_qdq(q, MNIST_SHAPE)


@needs_mnist_cnn
def test_session_config_asks_for_s8s8_only_where_u8s8_could_saturate(q8, mnist):
    """8-bit weights × 8-bit inputs can overflow u8·s8 int16 pair sums (AVX2): the model asks for
    S8S8 kernels; 7-bit activations cannot (2·127·127 < 2^15), so onnxruntime's default is exact."""
    import json

    from ohq.export.onnx_qdq import CONFIG_KEY, S8S8, session_config
    from ohq.models import load_model

    assert session_config(q8) == S8S8
    props = {p.key: p.value for p in to_qdq(q8, MNIST_SHAPE).metadata_props}
    assert json.loads(props[CONFIG_KEY]) == S8S8
    q7 = quantize(load_model("mnist_cnn").model.eval(), Plan(QuantSpec(8, 7)), mnist[0])
    assert session_config(q7) == {}
    x = mnist[1].x[:N_ORT]
    with torch.no_grad():
        ref = q7.to_integer()(x)
    _, q_ref = ohq_last_input(q7, x)
    got, q_got = ort_logits(to_qdq(q7, MNIST_SHAPE), x, last_input=output_layer(q7))
    assert_agrees("mnist_cnn", q7, drift(q7, ref, got, q_ref, q_got), argmax=0.99)
