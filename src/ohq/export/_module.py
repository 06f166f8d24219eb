"""The float graph an ONNX exporter traces: a copy of the QuantModel's fx graph whose quantized
modules become plain torch ops plus format-specific quantizer calls.

A format supplies a `Quantizers` object with three hooks, each an autograd Function whose
`symbolic` emits that format's nodes (QuantizeLinear/DequantizeLinear, or QONNX Quant):
  act(x, p)      quantize a tensor with the per-tensor asymmetric quantizer p (forward: ohq's fake)
  weight(layer, w)  the layer's weights; w = codes·step, the fake-quant model's float weights
  bias(layer, b)    the layer's bias; b = bias_int·s_in·step, ohq's rounded bias
and may define `layer_op(layer, x)`: the whole conv/linear of an integer layer in its own layout
(QONNX: integer weight codes and bias, then the per-channel step), and `avgpool_fn(mod)`: the
float function a QAvgPool becomes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, fx, nn

from ohq.quant.dyadic import QParams
from ohq.quant.layers import QuantLayer
from ohq.quant.qmodules import QAdd, QAvgPool, QInput, QLut, QMaxPool, QOp, QOutput, QRelu


class Quantizers(Protocol):
    def act(self, x: Tensor, p: QParams) -> Tensor: ...

    def weight(self, layer: QuantLayer, w: Tensor) -> Tensor: ...

    def bias(self, layer: QuantLayer, b: Tensor) -> Tensor: ...


class ExportLayer(nn.Module):
    """conv/linear in float between quantizers: [requant input] → op(x, W, b) → [quantize output]."""

    def __init__(self, layer: QuantLayer, q: Quantizers) -> None:
        super().__init__()
        self.layer, self.q = layer, q
        self.register_buffer("w", weight_float(layer))
        self.register_buffer("b", bias_float(layer))

    def forward(self, x: Tensor) -> Tensor:
        layer, q = self.layer, self.q
        if layer.inp is not None and layer.src != layer.inp:
            x = q.act(x, layer.inp)
        layer_op = getattr(q, "layer_op", None)
        if layer_op is not None and layer.integer_ok:
            y = layer_op(layer, x)
        else:
            y = apply_layer(layer, x, q.weight(layer, self.w), q.bias(layer, self.b))
        return y if layer.out is None else q.act(y, layer.out)


def apply_layer(layer: QuantLayer, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """The layer's conv2d/linear on x with weights w and bias b."""
    if layer.is_conv:
        return F.conv2d(x, w, b, **layer.conv_args)
    return F.linear(x, w, b)


class ExportOp(nn.Module):
    """A graph op computed in float, its output quantized (adds, pools, cat, mul, tables)."""

    def __init__(self, fn: Callable[..., Tensor], out: QParams | None, q: Quantizers) -> None:
        super().__init__()
        self.fn, self.out, self.q = fn, out, q

    def forward(self, *xs: Tensor) -> Tensor:
        y = self.fn(*xs)
        return y if self.out is None else self.q.act(y, self.out)


class ExportMaxPool(nn.Module):
    def __init__(self, kwargs: dict) -> None:
        super().__init__()
        self.kwargs = kwargs

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, **self.kwargs)


def _replacement(mod: nn.Module, q: Quantizers) -> nn.Module | None:
    """The export module standing in for one module of the quantized graph (None: keep it)."""
    if isinstance(mod, QuantLayer):
        return ExportLayer(mod, q)
    if isinstance(mod, QInput):
        return ExportOp(lambda x: x, mod.out, q)
    if isinstance(mod, QOutput):
        return nn.Identity()
    if isinstance(mod, QRelu):
        return nn.ReLU()
    if isinstance(mod, QMaxPool):
        return ExportMaxPool(mod.kwargs)
    if isinstance(mod, QLut):
        return ExportOp(mod.fn, mod.out, q)
    if isinstance(mod, QAvgPool) and hasattr(q, "avgpool_fn"):
        return ExportOp(q.avgpool_fn(mod), mod.out, q)
    if isinstance(mod, QAdd):  # one Add per pair (QAdd's float path starts from 0: an extra Add)
        return ExportOp(_signed_sum(mod.signs), mod.out, q)
    if isinstance(mod, QOp):
        return ExportOp(mod.float_forward, mod.out, q)
    return None


def _signed_sum(signs: list[int]) -> Callable[..., Tensor]:
    def fn(*xs: Tensor) -> Tensor:
        y = xs[0] if signs[0] > 0 else -xs[0]
        for s, x in zip(signs[1:], xs[1:], strict=True):
            y = y + x if s > 0 else y - x
        return y

    return fn


def export_module(qmodel, q: Quantizers) -> fx.GraphModule:
    """A traceable float module equivalent to `qmodel` with `q`'s quantizers at every quantized tensor."""
    gm = copy.deepcopy(qmodel.graph_module)
    modules = dict(gm.named_modules())
    for node in gm.graph.nodes:
        if node.op != "call_module":
            continue
        new = _replacement(modules[node.target], q)
        if new is not None:
            parent, _, attr = node.target.rpartition(".")
            setattr(gm.get_submodule(parent) if parent else gm, attr, new)
    gm.recompile()
    return gm.eval()


def weight_float(layer: QuantLayer) -> Tensor:
    """The layer's weights as ohq's fake-quant model uses them (float32)."""
    if layer.w_bits is None:
        w = layer.weight
    else:
        shape = (-1,) + (1,) * (layer.weight.dim() - 1)
        w = layer.codes * layer.step.reshape(shape)
    if layer.weight_mask is not None:
        w = w * layer.weight_mask.to(w.dtype)
    return w.to(torch.float32)


def bias_float(layer: QuantLayer) -> Tensor:
    """The layer's bias as the integer path adds it: bias_int·s_in·step (float32)."""
    if layer.integer_ok:
        return (layer.bias_int.to(torch.float64) * layer.inp.scale * layer.step).to(torch.float32)
    return layer.bias.to(torch.float32)
