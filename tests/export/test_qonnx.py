"""qonnx: Quant nodes with QONNX semantics, executed by qonnx's reference executor."""

from __future__ import annotations

import pytest
from conftest import assert_agrees, needs_mnist_cnn, shipped_params

from ohq.errors import OhqError
from ohq.export.check import drift, ohq_last_input, output_layer, qonnx_logits
from ohq.export.qonnx import to_qonnx
from ohq.quant import Plan, QuantSpec, quantize

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
    assert bits == [(4, 0), (4, 1), (8, 0), (8, 1)]


@needs_mnist_cnn
def test_non_uniform_scheme_is_refused_naming_the_layer(mnist):
    from ohq.models import load_model

    plan = Plan(QuantSpec(8, 8), {"features.2.0": QuantSpec(4, 8, "pot")})
    q = quantize(load_model("mnist_cnn").model.eval(), plan, mnist[0][:32])
    with pytest.raises(OhqError, match=r"qonnx cannot express layer 'features.2.0'.*'pot'"):
        to_qonnx(q, (1, 1, 28, 28))
