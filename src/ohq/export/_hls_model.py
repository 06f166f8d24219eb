"""The float model hls4ml converts, built from a QuantModel, and the facts its config needs.

hls4ml's PyTorch front end traces a module with torch.fx and names each layer after its node:
a Sequential child "features_0_0" becomes hls4ml layer "features_0_0". So the model is an
nn.Sequential of plain torch layers named after ohq's modules (dots → underscores):
- QuantLayer → Conv2d/Linear with ohq's quantized weights codes·step and rounded bias
  bias_int·s_in·step (BatchNorm is already folded by ohq);
- QRelu → ReLU, QMaxPool → MaxPool2d, a global QAvgPool (AdaptiveAvgPool2d(1), mean) →
  AvgPool2d over the whole map, Flatten/Dropout/Identity → Flatten or nothing.
The model input is ohq's quantized input (feed hls4ml dequantized codes s·(q − z)); QInput and
QOutput vanish. A graph that is not such a chain (adds, concatenations, tables such as ReLU6) is
refused with the op's name. nn.Sequential has no annotated forward of ours, so hls4ml's YAML
writer never meets a `from __future__ import annotations` string annotation.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import fx, nn

from ohq.errors import OhqError
from ohq.export._module import bias_float, weight_float
from ohq.quant.dyadic import QParams
from ohq.quant.layers import QuantLayer
from ohq.quant.qmodules import QAvgPool, QInput, QMaxPool, QOp, QOutput, QRelu

_SHAPE = (nn.Flatten, nn.Dropout, nn.Identity)


@dataclass
class HlsLayer:
    """One layer of the hls4ml model: its hls4ml name, kind, ohq module and tensor quantizers."""

    name: str
    kind: str  # conv | dense | relu | maxpool | avgpool | flatten
    module: nn.Module
    inp: QParams | None
    out: QParams | None
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


def hls_name(target: str) -> str:
    """hls4ml's name for an ohq module: the fx node name (dots → underscores, no ohq_ops prefix)."""
    return target.removeprefix("ohq_ops.").replace(".", "_")


def _shapes(qmodel, input_shape: tuple[int, ...]) -> dict[str, tuple[tuple, tuple]]:
    seen: dict[str, tuple[tuple, tuple]] = {}
    hooks = [m.register_forward_hook(lambda m, a, o, n=n: seen.__setitem__(n, (tuple(a[0].shape), tuple(o.shape))))
             for n, m in qmodel.graph_module.named_modules() if n]
    try:
        with torch.no_grad():
            qmodel.graph_module(torch.zeros((1,) + tuple(input_shape[1:])))
    finally:
        for h in hooks:
            h.remove()
    return seen


def _kind(node: fx.Node, mod: nn.Module | None, shape_out: tuple) -> str | None:
    """The hls4ml kind of a graph node (None: it vanishes); OhqError for what hls4ml cannot run."""
    if mod is None:
        if node.op == "call_function" and getattr(node.target, "__name__", "") == "flatten":
            return "flatten"
        if node.op == "call_method" and node.target in ("flatten", "view", "reshape"):
            return "flatten"
        raise OhqError(f"hls4ml export cannot express op {node.name!r} ({node.target}): it takes "
                       "chains of conv/linear, ReLU, max/global-average pooling and flatten: use "
                       "--format onnx-qdq or qonnx")
    if isinstance(mod, QuantLayer):
        return "conv" if mod.is_conv else "dense"
    if isinstance(mod, QInput | QOutput) or isinstance(mod, nn.Dropout | nn.Identity):
        return None
    if isinstance(mod, nn.Flatten):
        return "flatten"
    if isinstance(mod, QRelu):
        return "relu"
    if isinstance(mod, QMaxPool):
        return "maxpool"
    if isinstance(mod, QAvgPool) and len(shape_out) == 4 and shape_out[2:] == (1, 1):
        return "avgpool"
    what = type(mod).__name__
    where = str(node.target).removeprefix("ohq_ops.")
    raise OhqError(f"hls4ml export cannot express {where!r} ({what}): it takes chains of "
                   "conv/linear, ReLU, max/global-average pooling and flatten; use --format onnx-qdq "
                   "or qonnx for this model")


def hls_layers(qmodel, input_shape: tuple[int, ...]) -> list[HlsLayer]:
    """The chain of layers hls4ml will see, in order; OhqError for a branch or unsupported op."""
    gm = qmodel.graph_module
    modules = dict(gm.named_modules())
    shapes = _shapes(qmodel, input_shape)
    layers: list[HlsLayer] = []
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output", "get_attr"):
            continue
        mod = modules.get(node.target) if node.op == "call_module" else None
        where = str(node.target).removeprefix("ohq_ops.") if node.op == "call_module" else node.name
        if len([a for a in node.all_input_nodes if a.op != "get_attr"]) > 1:
            raise OhqError(f"hls4ml export cannot express {where!r}: it joins two branches; "
                           "use --format onnx-qdq or qonnx for models with residual adds")
        shape_in, shape_out = shapes.get(node.target, ((), ()))
        kind = _kind(node, mod, shape_out)
        if kind is None:
            continue
        inp, out = _quantizers(mod)
        layers.append(HlsLayer(hls_name(str(node.target) if node.op == "call_module" else node.name),
                               kind, mod, inp, out, shape_in, shape_out))
    return layers


def _quantizers(mod: nn.Module | None) -> tuple[QParams | None, QParams | None]:
    if isinstance(mod, QuantLayer):
        return mod.inp, mod.out
    if isinstance(mod, QOp):
        return (mod.ins[0] if mod.ins else None), mod.out
    return None, None


def _torch_layer(layer: HlsLayer) -> nn.Module:
    mod = layer.module
    if layer.kind in ("conv", "dense"):
        w, b = weight_float(mod), bias_float(mod)
        if layer.kind == "conv":
            args = mod.conv_args
            new = nn.Conv2d(w.shape[1] * args["groups"], w.shape[0], tuple(w.shape[2:]), args["stride"],
                            args["padding"], args["dilation"], args["groups"], bias=True)
        else:
            new = nn.Linear(w.shape[1], w.shape[0], bias=True)
        with torch.no_grad():
            new.weight.copy_(w)
            new.bias.copy_(b)
        return new
    if layer.kind == "relu":
        return nn.ReLU()
    if layer.kind == "maxpool":
        return nn.MaxPool2d(**mod.kwargs)
    if layer.kind == "avgpool":
        return nn.AvgPool2d(tuple(layer.in_shape[2:]))
    return nn.Flatten(1)


def hls_model(layers: list[HlsLayer]) -> nn.Sequential:
    """The nn.Sequential hls4ml converts (eval mode, float32)."""
    return nn.Sequential(OrderedDict((layer.name, _torch_layer(layer)) for layer in layers)).eval()
