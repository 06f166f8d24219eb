"""`onnx-qdq`: an ONNX model in QDQ form that onnxruntime runs on the CPU.

Traced by torch.onnx from the QuantModel's graph (see _module.py). The mapping, also in
docs/export.md:
- weights: DequantizeLinear(int8 codes, per-channel step, axis 0). A b-bit fixed-point layer
  (b ≤ 8) keeps its codes in [-2^(b-1), 2^(b-1)-1] inside the int8 container: exact. PoT and SP2
  codes are integers too and fit int8 up to pot 4 bit and sp2 5 bit; larger code sets (and
  16-bit layers) cannot be held and are refused with the layer's name.
- bias: DequantizeLinear(int32 bias_int, s_in·step, axis 0): ohq's rounded integer bias.
- activations: QuantizeLinear/DequantizeLinear with an int8 zero point z - 128 (codes q - 128: the
  same real values). onnxruntime on x86 turns them into u8·s8 kernels, which saturate on AVX2 for
  8-bit weights × 8-bit inputs; such a model carries `session.qdqisint8allowed=1` (exact S8S8
  kernels) in its metadata_props (`session_config`), which check.ort_session applies. A b < 8-bit activation keeps scale and zero point and is clamped to its 2^b
  codes by DQ → Clip → Q → DQ after the 8-bit Q/DQ pair: exactly the b-bit quantizer's values.
- layout (_qdq_layout.hoist): onnxruntime's own, `DQ → Conv → Relu → Q`, shape ops between Q and
  DQ, so every Conv/Gemm/Add fuses into QLinearConv/QGemm/QLinearAdd (tests/export).
- ohq requantizes with a dyadic m·2^-k and rounds half up; ONNX rescales in float32 and rounds half
  to even: the two can differ by one code at a tie or where float32 rounding crosses one, hence a
  tolerance (docs/export.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from ohq.errors import OhqError
from ohq.export._graphcheck import quantizers_in, require_input_shape
from ohq.export._module import export_module
from ohq.export._registry import Format, register_format
from ohq.quant._registry import get_scheme
from ohq.quant.dyadic import QParams
from ohq.quant.layers import QuantLayer

if TYPE_CHECKING:
    import onnx

OPSET = 17
_INT32 = (1 << 31) - 1


def _const(g, value: np.ndarray | float, dtype: torch.dtype):
    return g.op("Constant", value_t=torch.as_tensor(np.asarray(value)).to(dtype))


class _QdqAct(torch.autograd.Function):
    """QuantizeLinear → DequantizeLinear (int8), and for b < 8 bits a Clip re-quantized by a second
    Q/DQ pair, so that every DequantizeLinear feeds its Conv/Gemm directly (_qdq_layout)."""

    @staticmethod
    def forward(ctx, x: Tensor, p: QParams) -> Tensor:
        return x.clone()  # only traced for shapes: the ONNX nodes come from `symbolic`

    @staticmethod
    def symbolic(g, x, p: QParams):
        s, z = _const(g, p.scale, torch.float32), _const(g, p.zero - 128, torch.int8)
        y = g.op("DequantizeLinear", g.op("QuantizeLinear", x, s, z), s, z)
        if p.bits < 8:
            s32 = np.float32(p.scale)
            lo, hi = np.float32(-p.zero) * s32, np.float32(p.qmax - p.zero) * s32
            y = g.op("Clip", y, _const(g, lo, torch.float32), _const(g, hi, torch.float32))
            y = g.op("DequantizeLinear", g.op("QuantizeLinear", y, s, z), s, z)
        y.setType(x.type())
        return y


class _DqWeight(torch.autograd.Function):
    """DequantizeLinear(int8 codes, per-channel step, zero 0, axis 0)."""

    @staticmethod
    def forward(ctx, w: Tensor, codes: np.ndarray, step: np.ndarray) -> Tensor:
        return w.clone()

    @staticmethod
    def symbolic(g, w, codes: np.ndarray, step: np.ndarray):
        c = _const(g, codes, torch.int8)
        zero = _const(g, np.zeros(step.shape, np.int8), torch.int8)
        return g.op("DequantizeLinear", c, _const(g, step, torch.float32), zero, axis_i=0)


class _DqBias(torch.autograd.Function):
    """DequantizeLinear(int32 bias, s_in·step, zero 0, axis 0)."""

    @staticmethod
    def forward(ctx, b: Tensor, bias_int: np.ndarray, scale: np.ndarray) -> Tensor:
        return b.clone()

    @staticmethod
    def symbolic(g, b, bias_int: np.ndarray, scale: np.ndarray):
        zero = _const(g, np.zeros(scale.shape, np.int32), torch.int32)
        return g.op("DequantizeLinear", _const(g, bias_int, torch.int32), _const(g, scale, torch.float32),
                    zero, axis_i=0)


class QdqQuantizers:
    def act(self, x: Tensor, p: QParams) -> Tensor:
        return _QdqAct.apply(x, p)

    def weight(self, layer: QuantLayer, w: Tensor) -> Tensor:
        if layer.w_bits is None:
            return w
        codes = layer.codes if layer.weight_mask is None else layer.codes * layer.weight_mask
        return _DqWeight.apply(w, codes.numpy().astype(np.int8), layer.step.numpy().astype(np.float32))

    def bias(self, layer: QuantLayer, b: Tensor) -> Tensor:
        if not layer.integer_ok:
            return b
        scale = (layer.inp.scale * layer.step).numpy().astype(np.float32)
        return _DqBias.apply(b, layer.bias_int.numpy().astype(np.int32), scale)


def check_qdq(qmodel) -> None:
    """OhqError naming the first layer or tensor onnx-qdq cannot hold."""
    for name, layer in qmodel.layers.items():
        if layer.w_bits is not None:
            codes = get_scheme(layer.spec.scheme).codes(layer.w_bits)
            if min(codes) < -128 or max(codes) > 127:
                raise OhqError(
                    f"onnx-qdq cannot express layer {name!r}: its {layer.spec.scheme} weights at "
                    f"{layer.w_bits} bits have integer codes in [{min(codes)}, {max(codes)}], beyond "
                    "DequantizeLinear's int8; use --format c, or at most 8-bit uniform, 4-bit pot, 5-bit sp2")
        if layer.integer_ok and int(layer.bias_int.abs().max()) > _INT32:
            raise OhqError(f"onnx-qdq cannot express layer {name!r}: its integer bias exceeds int32")
    for where, p in quantizers_in(qmodel):
        if p.bits > 8:
            raise OhqError(f"onnx-qdq cannot express {where}: its activation has {p.bits} bits and "
                           "onnxruntime's QuantizeLinear holds at most 8 (uint8); use 8-bit activations")


_PAIR_MAX = (1 << 15) - 1
S8S8 = {"session.qdqisint8allowed": "1"}
CONFIG_KEY = "ohq.onnxruntime_session_config"


def u8s8_exact(qmodel) -> bool:
    """Whether onnxruntime's x86 u8·s8 kernels are exact for every layer: on AVX2 without VNNI they
    add pairs of u8·s8 products in int16 (vpmaddubsw), which saturates above 2^15 - 1."""
    for layer in qmodel.layers.values():
        if layer.integer_ok and 2 * int(layer.codes.abs().max()) * layer.inp.qmax > _PAIR_MAX:
            return False
    return True


def session_config(qmodel) -> dict[str, str]:
    """The onnxruntime session config entries the model needs to run exactly (also written into
    the model's metadata_props as JSON under CONFIG_KEY): S8S8 kernels where u8·s8 would saturate."""
    return {} if u8s8_exact(qmodel) else dict(S8S8)


def to_qdq(qmodel, input_shape: tuple[int, ...]) -> onnx.ModelProto:
    import onnx

    from ohq.export._onnx import constants_to_initializers, finish, trace_to_onnx
    from ohq.export._qdq_layout import hoist

    check_qdq(qmodel)
    module = export_module(qmodel, QdqQuantizers())
    model = trace_to_onnx(module, torch.zeros((1,) + tuple(input_shape[1:])), OPSET)
    model = hoist(constants_to_initializers(model))
    onnx.helper.set_model_props(model, {CONFIG_KEY: json.dumps(session_config(qmodel))})
    return finish(model, "ohq quantized model, ONNX QDQ (docs/export.md)")


@register_format("onnx-qdq")
class OnnxQdq(Format):
    kind = "file"
    requires = ("onnx",)  # the [export] extra, imported only when this format writes
    suffix = ".onnx"
    description = "ONNX with QuantizeLinear/DequantizeLinear pairs, for onnxruntime"

    def check(self, qmodel: Any) -> None:
        check_qdq(qmodel)

    def write(self, qmodel: Any, out: Path, **opts: Any) -> dict[str, Any]:
        import onnx

        shape = require_input_shape(opts, self.name)
        model = to_qdq(qmodel, shape)
        onnx.save(model, str(out))
        return {"nodes": len(model.graph.node), "opset": OPSET,
                "onnxruntime_session_config": session_config(qmodel)}
