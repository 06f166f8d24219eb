"""Run exported models in their real runtimes and measure agreement with ohq (tests, bench).

agreement(qmodel, ref, got): argmax agreement, the largest |got - ref| in output-scale units (one
LSB of the output: the QOutput scale, or s_in·step_c for a dequantized-accumulator output), and
the share of samples within one unit.

drift(qmodel, ref, got, q_ref, q_got): where the difference comes from. With the codes q of the
last layer's input on both sides (`ohq_last_input`, and the runners' `last_input=True`), the
logits differ by exactly op(q_got - q_ref, codes) LSB (the last layer is linear in its input
codes) up to float32 rounding of the exported Gemm/Conv; `unexplained` is what is left beyond
that, and `over_bound` is the most any logit c exceeds max_j|Δq_j|·Σ_j|code_cj|, what the input-code
differences can cause (≤ 0 up to float rounding), `bound` the largest such bound.
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import Tensor

from ohq.errors import OhqError
from ohq.export._ints import output_units
from ohq.quant.dyadic import recover, rescale
from ohq.quant.layers import QuantLayer


def output_layer(qmodel) -> QuantLayer:
    """The QuantLayer whose dequantized accumulator is the model output."""
    gm = qmodel.graph_module
    src = next(n for n in gm.graph.nodes if n.op == "output").args[0]
    mod = gm.get_submodule(src.target) if getattr(src, "op", None) == "call_module" else None
    if not isinstance(mod, QuantLayer) or mod.out is not None or not mod.integer_ok:
        raise OhqError("the model output is not a layer's dequantized accumulator")
    return mod


def ohq_last_input(qmodel, x: Tensor, batch: int = 1000) -> tuple[Tensor, Tensor]:
    """(logits, codes of the output layer's input quantizer) of ohq's fake-quant model on x."""
    layer = output_layer(qmodel)
    seen: list[Tensor] = []
    hook = layer.register_forward_hook(lambda m, a, o: seen.append(a[0]))
    try:
        with torch.no_grad():
            logits = torch.cat([qmodel(x[i:i + batch]) for i in range(0, x.shape[0], batch)])
    finally:
        hook.remove()
    inp = torch.cat(seen)
    codes = rescale(recover(inp, layer.src), layer.src, layer.inp) if layer.src is not None else None
    if codes is None:
        raise OhqError("the output layer's input is not quantized")
    return logits, codes


def _last_input_name(model: onnx.ModelProto) -> str:
    """The data input of the last Gemm/Conv (behind QONNX's step Mul/BatchNormalization, if any)."""
    producer = {o: n for n in model.graph.node for o in n.output}
    node = producer[model.graph.output[0].name]
    while node.op_type not in ("Gemm", "Conv", "MatMul"):
        node = producer[node.input[0]]
    return node.input[0]


def _codes(values: np.ndarray, layer: QuantLayer) -> Tensor:
    return recover(torch.from_numpy(np.ascontiguousarray(values, np.float32)), layer.inp)


def ort_session(model: onnx.ModelProto, level: str = "ORT_ENABLE_EXTENDED", optimized: str | None = None,
                threads: int | None = None, config: dict[str, str] | None = None):
    """An onnxruntime CPU session of `model` with the session config ohq wrote into its metadata
    (onnx_qdq.session_config) unless `config` is given; `optimized`: where to save the graph
    onnxruntime actually runs (its fused integer kernels); `threads`: intra-op threads."""
    import json

    import onnxruntime as ort

    from ohq.export.onnx_qdq import CONFIG_KEY

    if config is None:
        props = {p.key: p.value for p in model.metadata_props}
        config = json.loads(props.get(CONFIG_KEY, "{}"))
    so = ort.SessionOptions()
    for key, value in config.items():
        so.add_session_config_entry(key, value)
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    if threads is not None:
        so.intra_op_num_threads = threads
    if optimized is not None:
        so.optimized_model_filepath = str(optimized)
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _int_feed(model: onnx.ModelProto) -> tuple[str, int]:
    """The int8 tensor behind the last layer's DequantizeLinear: read there, the DQ → Gemm group
    still fuses (reading the DQ's float output would keep the Gemm in float)."""
    feed = _last_input_name(model)
    dq = next((n for n in model.graph.node if feed in n.output), None)
    if dq is not None and dq.op_type == "DequantizeLinear":
        return dq.input[0], onnx.TensorProto.INT8
    return feed, onnx.TensorProto.FLOAT


def ort_logits(model, x: Tensor, batch: int = 1000, last_input: QuantLayer | None = None):
    """Run an ONNX ModelProto in onnxruntime on the CPU (logits; with `last_input`, also the
    codes of that layer's input, read from the int8 tensor feeding the last Gemm/Conv)."""
    if last_input is not None:
        model = onnx.ModelProto.FromString(model.SerializeToString())
        feed, dtype = _int_feed(model)
        model.graph.output.append(onnx.helper.make_tensor_value_info(feed, dtype, None))
    sess = ort_session(model)
    name = sess.get_inputs()[0].name
    runs = [sess.run(None, {name: x[i:i + batch].numpy()}) for i in range(0, x.shape[0], batch)]
    logits = torch.from_numpy(np.concatenate([r[0] for r in runs]))
    if last_input is None:
        return logits
    raw = np.concatenate([r[1] for r in runs])
    if raw.dtype == np.int8:  # int8 code c holds ohq's code c + 128 (zero point z - 128)
        return logits, torch.from_numpy(raw.astype(np.float32) + 128.0)
    return logits, _codes(raw, last_input)


def qonnx_logits(model, x: Tensor, last_input: QuantLayer | None = None):
    """Run a QONNX ModelProto (static batch = len(x)) in qonnx's reference executor."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    feed = _last_input_name(model) if last_input is not None else None
    wrapped = cleanup_model(ModelWrapper(model))
    inp, out = wrapped.graph.input[0].name, wrapped.graph.output[0].name
    ctx = execute_onnx(wrapped, {inp: x.numpy()}, return_full_exec_context=last_input is not None)
    logits = torch.from_numpy(ctx[out])
    if last_input is None:
        return logits
    if feed not in ctx:  # cleanup renamed it: take the data input of the output's producer again
        feed = _last_input_name(wrapped.model)
    return logits, _codes(ctx[feed], last_input)


def agreement(qmodel, ref: Tensor, got: Tensor) -> dict[str, float]:
    units = output_units(qmodel, ref)
    diff = (got.to(torch.float64) - ref.to(torch.float64)).abs() / units
    per_sample = diff.reshape(diff.shape[0], -1).amax(dim=1)
    return {
        "samples": int(ref.shape[0]),
        "argmax_agreement": float((got.argmax(1) == ref.argmax(1)).double().mean()),
        "max_abs_diff_units": float(diff.max()),
        "within_1_unit": float((per_sample < 1).double().mean()),
    }


def drift(qmodel, ref: Tensor, got: Tensor, q_ref: Tensor, q_got: Tensor) -> dict[str, float]:
    """`agreement` plus how much of the difference the last layer's input codes explain."""
    layer = output_layer(qmodel)
    units = output_units(qmodel, ref)
    dq = (q_got - q_ref).to(torch.float64)
    codes = layer.codes.to(torch.float64)
    if layer.weight_mask is not None:
        codes = codes * layer.weight_mask.to(torch.float64)
    caused = F.conv2d(dq, codes, **layer.conv_args) if layer.is_conv else F.linear(dq, codes)
    delta = (got.to(torch.float64) - ref.to(torch.float64)) / units
    d = (q_got - q_ref).abs().reshape(q_ref.shape[0], -1).amax(dim=1).to(torch.float64)  # per sample
    rows = codes.abs().reshape(codes.shape[0], -1).sum(dim=1)  # Σ_j |code_cj| per output c
    bound = d.reshape((-1,) + (1,) * (delta.dim() - 1)) * rows.reshape((1, -1) + (1,) * (delta.dim() - 2))
    return {
        **agreement(qmodel, ref, got),
        "input_codes_differing": float((q_got != q_ref).double().mean()),
        "max_input_code_diff": int(d.max()),
        "unexplained_units": float((delta - caused.reshape(delta.shape)).abs().max()),
        "over_bound_units": float((delta.abs() - bound).max()),
        "bound_units": float(bound.max()),
    }
