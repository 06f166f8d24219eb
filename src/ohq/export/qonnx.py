"""`qonnx`: ONNX with QONNX `Quant` nodes (domain qonnx.custom_op.general), run by qonnx's executor.

Quant(x, scale, zeropt, bitwidth; signed, narrow, rounding_mode) computes
  y = (round(clamp(x/scale + zeropt, min_int, max_int)) - zeropt) · scale
with rounding_mode "ROUND" = numpy's round half to even, the rounding ohq's quantizer
(`torch.round`) uses; clamping before rounding equals clamping after, the bounds being integers.
- activations: Quant(x, s, 0, b; signed=0) for ohq's unsigned codes with zero point 0 (ReLU
  outputs); a tensor with zero point z > 0 (the model input, pre-add tensors) becomes
  Clip(x, −z·s, (2^b−1−z)·s) → Quant(x, s, 0, b+1; signed=1): the same values with zero point 0,
  which hls4ml's and FINN's QONNX readers need (a signed b+1-bit tensor).
- Relu/MaxPool are moved in front of the Quant that follows them in the traced graph (exact, see
  _qdq_layout), so the Quant sits after the activation and datatype inference sees its bits.
- weights: Quant(W, step per output channel, 0, b; signed=1, narrow=0) on the float weights
  codes·step, a no-op on values already on the grid (exact). Only fixed-point weights fit a Quant
  node (a uniform grid); pot, sp2 and rowmix layers are refused with the layer's name.
- bias: Quant(bias_int·s_in·step, s_in·step per channel, 0, 32; signed=1): ohq's integer bias.
- the model is written cleaned by qonnx (`cleanup_model`: shapes inferred, constants folded).
Between Quant nodes the ops run in float; ohq's dyadic requantization (round half up) can differ
by one code where a value sits on a rounding edge, hence the tolerance of docs/export.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from ohq.errors import OhqError
from ohq.export._graphcheck import require_input_shape
from ohq.export._module import export_module
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
        lo, hi = np.float32(-p.zero) * s, np.float32(p.qmax - p.zero) * s
        y = g.op("Clip", x, _const(g, lo), _const(g, hi))
        y.setType(x.type())
        return _quant(g, y, s, 0, p.bits + 1, 1)


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
        if not layer.integer_ok:
            return b
        return _QuantBias.apply(b, (layer.inp.scale * layer.step).numpy().astype(np.float32))


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
