"""`qonnx`: ONNX with QONNX `Quant` nodes (domain qonnx.custom_op.general), run by qonnx's executor.

Quant(x, scale, zeropt, bitwidth; signed, narrow, rounding_mode) computes
  y = (round(clamp(x/scale + zeropt, min_int, max_int)) - zeropt) · scale
with rounding_mode "ROUND" = numpy's round half to even, the rounding ohq's quantizer
(`torch.round`) uses; clamping before rounding equals clamping after, the bounds being integers.
- activations: Quant(x, s, 0, b; signed=0) for ohq's unsigned codes with zero point 0 (ReLU
  outputs); a tensor with zero point z > 0 (the model input, pre-add tensors) becomes
  Quant(x, s, z, b; signed=0) → Quant(·, s, 0, b+1; signed=1): ohq's quantizer, then the same
  values as a zero-point-0 signed b+1-bit tensor (the second is exact: a no-op on its grid), which
  is what the conv reads: hls4ml's QONNX reader moves only zero-offset scales across a Conv, and
  qonnx's datatype inference sees INT(b+1).
- Relu/MaxPool/Flatten are moved in front of the Quant that follows them in the traced graph
  (exact, see _qdq_layout), so the Quant sits after the activation and datatype inference sees its bits.
- an integer conv/linear layer (layer_op): Conv/Gemm(x, Quant(codes, 1, 0, b; signed=1),
  Quant(bias_int·s_in, s_in, 0, 32; signed=1)) — integer weight codes and ohq's integer bias — then
  the per-channel step: BatchNormalization(γ = step, mean 0, var 1, ε 0) after a Conv, Mul after a
  Gemm. Exactly ohq's layer, and the layout hls4ml 1.3.0's QONNX reader converts (docs/export.md
  says which of its passes rule out the others). Only fixed-point weights fit a Quant node (a
  uniform grid); pot, sp2 and rowmix layers are refused with the layer's name. A layer with float
  inputs keeps Quant(codes·step, step per channel) weights and its float bias.
- a global average pool (avgpool_fn): a depthwise Conv with unit INT2 weights times 1/(H·W).
- the model is written cleaned by qonnx (`cleanup_model`: shapes inferred, constants folded).
Between Quant nodes the ops run in float; ohq's dyadic requantization (round half up) can differ
by one code where a value sits on a rounding edge, hence the tolerance of docs/export.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ohq.errors import OhqError
from ohq.export._graphcheck import require_input_shape
from ohq.export._module import apply_layer, export_module
from ohq.export._registry import Format, register_format
from ohq.quant.dyadic import QParams
from ohq.quant.layers import QuantLayer

if TYPE_CHECKING:
    import onnx

DOMAIN = "qonnx.custom_op.general"
OPSET = 13


def _const(g, value, dtype=torch.float32):
    return g.op("Constant", value_t=torch.as_tensor(np.asarray(value)).to(dtype))


def _quant(g, x, scale, zero, bits: int, signed: int):
    y = g.op(f"{DOMAIN}::Quant", x, _const(g, scale), _const(g, float(zero)), _const(g, float(bits)),
             signed_i=signed, narrow_i=0, rounding_mode_s="ROUND")
    y.setType(x.type())
    return y


class _QuantAct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, p: QParams) -> Tensor:
        return x.clone()  # only traced for shapes: the ONNX node comes from `symbolic`

    @staticmethod
    def symbolic(g, x, p: QParams):
        s = np.float32(p.scale)
        if p.zero == 0:
            return _quant(g, x, s, 0, p.bits, 0)
        # ohq's asymmetric quantizer, then the same values as a zero-point-0 signed b+1-bit tensor
        return _quant(g, _quant(g, x, s, p.zero, p.bits, 0), s, 0, p.bits + 1, 1)


class _QuantBias(torch.autograd.Function):
    @staticmethod
    def forward(ctx, b: Tensor, scale: np.ndarray) -> Tensor:
        return b.clone()

    @staticmethod
    def symbolic(g, b, scale: np.ndarray):
        return _quant(g, b, scale, 0, 32, 1)


class _QuantWeight(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w: Tensor, step: np.ndarray, bits: int) -> Tensor:
        return w.clone()

    @staticmethod
    def symbolic(g, w, step: np.ndarray, bits: int):
        return _quant(g, w, step, 0, bits, 1)


class QonnxQuantizers:
    def act(self, x: Tensor, p: QParams) -> Tensor:
        return _QuantAct.apply(x, p)

    def weight(self, layer: QuantLayer, w: Tensor) -> Tensor:
        if layer.w_bits is None:
            return w
        shape = (-1,) + (1,) * (layer.weight.dim() - 1)
        step = layer.step.numpy().astype(np.float32).reshape(shape)
        return _QuantWeight.apply(w, step, int(layer.w_bits))

    def bias(self, layer: QuantLayer, b: Tensor) -> Tensor:
        return b  # float layers only: an integer layer's bias is in layer_op

    def layer_op(self, layer: QuantLayer, x: Tensor) -> Tensor:
        """op(x, codes, bias_int·s_in) times step per channel: ohq's integer layer in real values."""
        codes = layer.codes.to(torch.float32)
        if layer.weight_mask is not None:
            codes = codes * layer.weight_mask.to(torch.float32)
        s_in = np.float32(layer.inp.scale)
        bias = (layer.bias_int.to(torch.float64) * float(s_in)).to(torch.float32)
        y = apply_layer(layer, x, _QuantWeight.apply(codes, np.float32(1.0), int(layer.w_bits)),
                        _QuantBias.apply(bias, s_in))
        step = layer.step.to(torch.float32)
        if not layer.is_conv:
            return y * step
        # a conv's step as BatchNormalization(mean 0, var 1, eps 0): exactly y·step, and the per-channel
        # form hls4ml's QONNX reader takes after qonnx's channels-last pass (a Mul's (1, C, 1, 1)
        # constant it cannot broadcast)
        zeros = torch.zeros_like(step)
        return F.batch_norm(y, zeros, torch.ones_like(step), step, zeros, training=False, eps=0.0)


    def avgpool_fn(self, mod) -> Callable[[Tensor], Tensor]:
        """A global average pool as a depthwise Conv with unit weights (INT2 Quant) times 1/(H·W):
        qonnx's channels-last pass handles Conv but not GlobalAveragePool, whose NCHW Transpose
        hls4ml's channels-last pooling then misreads."""
        def fn(x: Tensor) -> Tensor:
            y = mod.op(x)
            if tuple(y.shape[2:]) != (1, 1):
                return y
            c, h, w = (int(d) for d in x.shape[1:])  # the export traces static shapes
            ones = _QuantWeight.apply(torch.from_numpy(np.ones((c, 1, h, w), np.float32)), np.float32(1.0), 2)
            return F.conv2d(x, ones, groups=c) * float(np.float32(1.0 / (h * w)))

        return fn


def check_qonnx(qmodel) -> None:
    for name, layer in qmodel.layers.items():
        if layer.w_bits is not None and layer.spec.scheme != "uniform":
            raise OhqError(
                f"qonnx cannot express layer {name!r}: its weights use scheme {layer.spec.scheme!r}, "
                "whose levels are not a uniform grid, and a QONNX Quant node is a uniform quantizer; "
                "use --format onnx-qdq or c, or scheme uniform")


def to_qonnx(qmodel, input_shape: tuple[int, ...]) -> onnx.ModelProto:
    """The QONNX model; shapes are static (`input_shape`, batch included), as FINN expects."""
    from ohq.export._onnx import constants_to_initializers, trace_to_onnx
    from ohq.export._qdq_layout import hoist

    check_qonnx(qmodel)
    module = export_module(qmodel, QonnxQuantizers())
    model = trace_to_onnx(module, torch.zeros(tuple(input_shape)), OPSET, {DOMAIN: 1}, dynamic=False)
    model = hoist(constants_to_initializers(model))
    model.producer_name = "ohq"
    model.doc_string = "ohq quantized model, QONNX Quant nodes (docs/export.md)"
    return clean(model)


def clean(model: onnx.ModelProto) -> onnx.ModelProto:
    """qonnx's own cleanup (shape inference, constant folding, readable names), as FINN runs it."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    return cleanup_model(ModelWrapper(model)).model


@register_format("qonnx")
class Qonnx(Format):
    kind = "file"
    requires = ("onnx",)  # the [export] extra, imported only when this format writes
    suffix = ".onnx"
    description = "ONNX with QONNX Quant nodes (FINN / hls4ml front end)"

    def check(self, qmodel: Any) -> None:
        check_qonnx(qmodel)

    def write(self, qmodel: Any, out: Path, **opts: Any) -> dict[str, Any]:
        import onnx

        model = to_qonnx(qmodel, require_input_shape(opts, self.name))
        onnx.save(model, str(out))
        return {"nodes": len(model.graph.node), "opset": OPSET}
