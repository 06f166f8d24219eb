"""qonnx: Quant nodes with QONNX semantics, executed by qonnx's reference executor."""

from __future__ import annotations

import math

import pytest
from conftest import assert_agrees, needs_mnist_cnn, shipped_params

from ohq.export.check import drift, ohq_last_input, output_layer, qonnx_logits
from ohq.export.qonnx import to_qonnx

N = 32  # images per model/plan: qonnx's executor runs node by node in numpy (slow)


@pytest.mark.parametrize(("model", "plan"), shipped_params())
def test_qonnx_executor_agrees_with_fake_quant(model, plan, shipped_case, mnist):
    qmodel = shipped_case(model, plan)
    x = mnist[1].x[:N]
    ref, q_ref = ohq_last_input(qmodel, x)
    got, q_got = qonnx_logits(to_qonnx(qmodel, (N, 1, 28, 28)), x, last_input=output_layer(qmodel))
    assert_agrees(model, qmodel, drift(qmodel, ref, got, q_ref, q_got), argmax=0.96)


@needs_mnist_cnn
def test_quant_nodes_carry_bits_and_signedness(q48):
    from onnx import numpy_helper

    model = to_qonnx(q48, (1, 1, 28, 28))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    quants = [n for n in model.graph.node if n.op_type == "Quant"]
    assert all(n.domain == "qonnx.custom_op.general" for n in quants)
    attrs = [{a.name: a for a in n.attribute} for n in quants]
    assert all(a["rounding_mode"].s == b"ROUND" and a["narrow"].i == 0 for a in attrs)
    bits = sorted({(int(inits[n.input[3]]), a["signed"].i) for n, a in zip(quants, attrs, strict=True)})
    # 4/8-bit activations and weights, the input (zero point 27) as 9-bit signed, int32 biases
    assert bits == [(4, 0), (4, 1), (8, 0), (8, 1), (9, 1), (32, 1)]
    assert all(float(inits[n.input[2]]) == 0.0 for n in quants)  # zero point 0 everywhere
    producer = {o: n.op_type for n in model.graph.node for o in n.output}
    assert all(producer.get(n.input[0]) != "Quant" for n in model.graph.node if n.op_type == "Relu")
    assert all(d.dim_value > 0 for v in model.graph.value_info for d in v.type.tensor_type.shape.dim)


# mnist_mobilenet_v2 is left out: qonnx's inference_cost takes 200-280 s per plan on it (CI budget);
# its graph is checked by the executor test below.
@pytest.mark.parametrize(("model", "plan"), shipped_params(("mnist_cnn", "mnist_resnet")))
def test_inference_cost_sees_the_plans_bits(model, plan, shipped_case):
    """qonnx's inference_cost: no float MAC left; every MAC at the bits of ohq's plan (the input of
    a zero-point tensor as b+1 signed bits)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.inference_cost import inference_cost

    qmodel = shipped_case(model, plan)
    cost = inference_cost(ModelWrapper(to_qonnx(qmodel, (1, 1, 28, 28))), discount_sparsity=False)["total_cost"]
    macs = {k: v for k, v in cost.items() if k.startswith("op_mac_")}
    want: dict[str, float] = {}
    for layer in qmodel.layers.values():
        a = layer.inp.bits + (1 if layer.inp.zero else 0)
        key = f"op_mac_SCALEDINT<{a}>_SCALEDINT<{layer.w_bits}>"
        want[key] = want.get(key, 0) + layer.codes.numel() * _pixels(qmodel, layer)
    assert macs == pytest.approx(want)


def _pixels(qmodel, layer) -> int:
    """Output positions of a conv (each does codes[c].numel() MACs per output channel); 1 for linear."""
    from ohq.export.c_header import layer_shapes

    _, (_, _, *ohw) = layer_shapes(qmodel, (1, 1, 28, 28))[layer.name]
    return math.prod(ohw) if layer.is_conv else 1
