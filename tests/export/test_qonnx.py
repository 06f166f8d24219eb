"""qonnx: Quant nodes with QONNX semantics, executed by qonnx's reference executor."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_agrees, needs_mnist_cnn, shipped_params

from ohq.export.check import drift, ohq_last_input, output_layer, qonnx_logits
from ohq.export.qonnx import to_qonnx

N = 32  # images per model/plan: qonnx's executor runs node by node in numpy (slow)


# mnist_mobilenet_v2 is left out: with the QONNX layout hls4ml converts (per-channel steps after the
# op, the pool as a depthwise Conv) qonnx's executor ran past 20 min on its three plans (CI budget)
@pytest.mark.parametrize(("model", "plan"), shipped_params(("mnist_cnn", "mnist_resnet")))
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
    # 4/8-bit activations and weight codes, the input (zero point 33) then as 9-bit signed, int32
    # biases, the global pool's unit weights as INT2
    assert bits == [(2, 1), (4, 0), (4, 1), (8, 0), (8, 1), (9, 1), (32, 1)]
    producer = {o: n for n in model.graph.node for o in n.output}
    readers = {i: n for n in model.graph.node for i in n.input}
    zero = [n for n in quants if float(inits[n.input[2]]) != 0.0]
    assert len(zero) == 1 and float(inits[zero[0].input[2]]) == q48.layers["features.0.0"].inp.zero
    # what a Conv/Gemm reads has zero point 0: the input's asymmetric Quant feeds a zero-point-0 one
    assert readers[zero[0].output[0]].op_type == "Quant" and float(inits[readers[zero[0].output[0]].input[2]]) == 0
    assert all(float(inits[producer[n.input[0]].input[2]]) == 0.0 for n in model.graph.node
               if n.op_type in ("Conv", "Gemm") and producer[n.input[0]].op_type == "Quant")
    producer = {o: n.op_type for n in model.graph.node for o in n.output}
    assert all(producer.get(n.input[0]) != "Quant" for n in model.graph.node if n.op_type == "Relu")
    assert all(d.dim_value > 0 for v in model.graph.value_info for d in v.type.tensor_type.shape.dim)


# mnist_mobilenet_v2 is left out: qonnx's inference_cost takes 200-280 s per plan on it (CI budget)
@pytest.mark.parametrize(("model", "plan"), shipped_params(("mnist_cnn", "mnist_resnet")))
def test_inference_cost_sees_the_plans_bits(model, plan, shipped_case):
    """qonnx's inference_cost: no float MAC left; every MAC at the bits of ohq's plan (the input of
    a zero-point tensor as b+1 signed bits; integer weight codes, INT<w>), and the global average
    pool as C·H·W MACs with INT2 unit weights (its depthwise-Conv form)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.inference_cost import inference_cost

    qmodel = shipped_case(model, plan)
    cost = inference_cost(ModelWrapper(to_qonnx(qmodel, (1, 1, 28, 28))), discount_sparsity=False)["total_cost"]
    macs = {k: v for k, v in cost.items() if k.startswith("op_mac_")}
    want: dict[str, float] = {}
    for layer in qmodel.layers.values():
        a = layer.inp.bits + (1 if layer.inp.zero else 0)
        key = f"op_mac_SCALEDINT<{a}>_INT{layer.w_bits}"
        want[key] = want.get(key, 0) + layer.codes.numel() * _pixels(qmodel, layer)
    bits, numel = _global_pool(qmodel)
    want[f"op_mac_SCALEDINT<{bits}>_INT2"] = want.get(f"op_mac_SCALEDINT<{bits}>_INT2", 0) + numel
    assert macs == pytest.approx(want)


def _global_pool(qmodel) -> tuple[int, int]:
    """(input bits, input elements) of the model's global average pool."""
    from ohq.quant.qmodules import QAvgPool

    seen = {}
    pools = [m for m in qmodel.graph_module.modules() if isinstance(m, QAvgPool)]
    hooks = [m.register_forward_hook(lambda m, a, o: seen.update(n=a[0][0].numel())) for m in pools]
    try:
        qmodel.graph_module(torch.zeros(1, 1, 28, 28))
    finally:
        for h in hooks:
            h.remove()
    assert len(pools) == 1
    return pools[0].ins[0].bits + (1 if pools[0].ins[0].zero else 0), seen["n"]


def _pixels(qmodel, layer) -> int:
    """Output positions of a conv (each does codes[c].numel() MACs per output channel); 1 for linear."""
    from ohq.export.c_header import layer_shapes

    _, (_, _, *ohw) = layer_shapes(qmodel, (1, 1, 28, 28))[layer.name]
    return math.prod(ohw) if layer.is_conv else 1
