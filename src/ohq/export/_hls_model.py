"""The model hls4ml converts, built from a QuantModel: it computes on ohq's integer codes.

hls4ml's PyTorch front end traces a module with torch.fx and names each layer after its node:
a Sequential child "features_0_0" becomes hls4ml layer "features_0_0". So the model is an
nn.Sequential (float64: integer biases and 31-bit multipliers stay exact) of plain torch layers
named after ohq's modules (dots → underscores), holding what ohq's integer engine holds:
- QuantLayer → Conv2d/Linear with the integer weight codes and the integer bias bias_int (the
  accumulator acc = op(q - z_in, codes) + bias_int, exactly), then `<name>_requant`, a BatchNorm
  (mean 0, var 1, eps 0) with γ_c = m_c·2^-k (ohq's dyadic multiplier, an exact binary fraction)
  and β = z_out: rounded half up and clamped by its ap_ufixed<b, b, AP_RND, AP_SAT> result type,
  that is ohq's requantization (acc·m + 2^(k-1)) >> k + z_out, clamped to [0, 2^b - 1];
  the model's output layer gets `<name>_dequant` instead: γ_c = s_in·step_c, the logits;
- QRelu → ReLU, QMaxPool → MaxPool2d (both exact on codes), Flatten/Dropout/Identity → Flatten
  or nothing;
- a global QAvgPool → AvgPool2d over the whole map (hls4ml sums, then divides, truncating at its
  accumulator's LSB) and `<name>_requant` with γ = m·count·2^-k, β = z_out + 2^-(k+1): bit-exact
  with ohq's round-half-up of sum·m·2^-k when the accumulator has `avgpool_frac` fraction bits
  (the truncation error e·γ < 2^-(k+2) and the offset 2^-(k+1) cancel without crossing a code).
The model input is ohq's input codes minus their zero point, q - z (`model_input`); every tensor
after it must have zero point 0 (ReLU outputs), else the chain is refused naming the tensor: a
code q - z with z > 0 cannot be clamped to [-z, 2^b - 1 - z] by one ap_fixed type. A graph that is
not such a chain (adds, concatenations, tables such as ReLU6) is refused with the op's name.
nn.Sequential has no annotated forward of ours, so hls4ml's YAML writer never meets a
`from __future__ import annotations` string annotation.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import Tensor, fx, nn

from ohq.errors import OhqError
from ohq.export._ints import layer_ints
from ohq.quant.dyadic import QParams
from ohq.quant.layers import QuantLayer
from ohq.quant.qmodules import QAvgPool, QInput, QMaxPool, QOp, QOutput, QRelu


@dataclass
class HlsLayer:
    """One layer of the hls4ml model: its hls4ml name, kind, ohq module and tensor quantizers.

    kind: conv | dense | rescale | relu | maxpool | avgpool | flatten. A rescale (BatchNorm) has
    its per-channel `scale` and `bias` (float64, exact binary fractions with `frac` fraction bits
    when `exact`) and `out` (None: the dequantized model output)."""

    name: str
    kind: str
    module: nn.Module | None
    inp: QParams | None
    out: QParams | None
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    scale: Tensor | None = None
    bias: Tensor | None = None
    frac: int = 0


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


_CHAIN = "it takes chains of conv/linear, ReLU, max/global-average pooling and flatten"


def _kind(node: fx.Node, mod: nn.Module | None, shape_out: tuple) -> str | None:
    """The hls4ml kind of a graph node (None: it vanishes); OhqError for what hls4ml cannot run."""
    if mod is None:
        if node.op == "call_function" and getattr(node.target, "__name__", "") == "flatten":
            return "flatten"
        if node.op == "call_method" and node.target in ("flatten", "view", "reshape"):
            return "flatten"
        raise OhqError(f"hls4ml export cannot express op {node.name!r} ({node.target}): {_CHAIN}; use "
                       "--format onnx-qdq or qonnx")
    if isinstance(mod, QuantLayer):
        return "conv" if mod.is_conv else "dense"
    if isinstance(mod, QInput | QOutput) or isinstance(mod, nn.Dropout | nn.Identity):
        return None
    kinds = {nn.Flatten: "flatten", QRelu: "relu", QMaxPool: "maxpool"}
    for cls, kind in kinds.items():
        if isinstance(mod, cls):
            return kind
    if isinstance(mod, QAvgPool) and len(shape_out) == 4 and shape_out[2:] == (1, 1):
        return "avgpool"
    where = str(node.target).removeprefix("ohq_ops.")
    raise OhqError(f"hls4ml export cannot express {where!r} ({type(mod).__name__}): {_CHAIN}; use "
                   "--format onnx-qdq or qonnx for this model")


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
        name = hls_name(str(node.target) if node.op == "call_module" else node.name)
        layers.append(HlsLayer(name, kind, mod, inp, out, shape_in, shape_out))
        rescale = _rescale(layers[-1])
        if rescale is not None:
            layers.append(rescale)
    _check_codes(layers)
    return layers


def _check_codes(layers: list[HlsLayer]) -> None:
    """Every tensor between layers holds codes with zero point 0; a layer reads its producer's codes."""
    for layer in layers:
        if layer.kind in ("conv", "dense") and layer.module.src not in (None, layer.inp):
            raise OhqError(f"hls4ml export cannot express {layer.name!r}: it requantizes its input "
                           f"from {layer.module.src.bits} to {layer.inp.bits} bits; give it its producer's bits")
        p = layer.out if layer.kind in ("rescale", "relu") else None
        if p is not None and p.zero != 0:
            raise OhqError(f"hls4ml export cannot express the tensor after {layer.name!r}: its zero point "
                           f"is {p.zero}, and hls4ml's types clamp codes with zero point 0 only; put a ReLU "
                           "after it, or use --format onnx-qdq or qonnx")


def _quantizers(mod: nn.Module | None) -> tuple[QParams | None, QParams | None]:
    if isinstance(mod, QuantLayer):
        return mod.inp, mod.out
    if isinstance(mod, QOp):
        return (mod.ins[0] if mod.ins else None), mod.out
    return None, None


def avgpool_frac(mod: QAvgPool, count: int) -> tuple[int, int, int]:
    """(m, k, accumulator fraction bits) of a global average pool over `count` values."""
    m = round(mod.ratio / count * 2.0**mod.k)  # ohq's multiplier for this window (QAvgPool)
    return m, mod.k, mod.k + 2 + max(math.ceil(math.log2(m * count * 2.0**-mod.k)), 0)


def _rescale(layer: HlsLayer) -> HlsLayer | None:
    """The BatchNorm that requantizes (or dequantizes) a layer's integer result, or None."""
    shape = layer.out_shape
    if layer.kind in ("conv", "dense"):
        li = layer_ints(layer.module)
        if li.out is None:  # the model output: the logits acc·s_in·step_c
            return HlsLayer(f"{layer.name}_dequant", "rescale", None, None, None, shape, shape,
                            li.acc_scale, torch.zeros_like(li.acc_scale), 0)
        scale = li.m.to(torch.float64) * 2.0**-li.k
        return HlsLayer(f"{layer.name}_requant", "rescale", None, None, li.out, shape, shape, scale,
                        torch.full_like(scale, float(li.out.zero)), li.k)
    if layer.kind == "avgpool":
        count = layer.in_shape[2] * layer.in_shape[3]
        m, k, _ = avgpool_frac(layer.module, count)
        channels = layer.in_shape[1]
        scale = torch.full((channels,), m * count * 2.0**-k, dtype=torch.float64)
        bias = torch.full((channels,), layer.out.zero + 2.0 ** -(k + 1), dtype=torch.float64)
        return HlsLayer(f"{layer.name}_requant", "rescale", None, None, layer.out, shape, shape, scale,
                        bias, k + 1)
    return None


def _torch_layer(layer: HlsLayer) -> nn.Module:
    mod = layer.module
    if layer.kind in ("conv", "dense"):
        li = layer_ints(mod)
        w, b = li.codes.to(torch.float64), li.bias_int.to(torch.float64)
        if layer.kind == "conv":
            args = li.conv_args
            new = nn.Conv2d(w.shape[1] * args["groups"], w.shape[0], tuple(w.shape[2:]), args["stride"],
                            args["padding"], args["dilation"], args["groups"], bias=True, dtype=torch.float64)
        else:
            new = nn.Linear(w.shape[1], w.shape[0], bias=True, dtype=torch.float64)
        with torch.no_grad():
            new.weight.copy_(w)
            new.bias.copy_(b)
        return new
    if layer.kind == "rescale":
        bn_cls = nn.BatchNorm2d if len(layer.out_shape) == 4 else nn.BatchNorm1d
        bn = bn_cls(layer.scale.numel(), eps=0.0, dtype=torch.float64)
        with torch.no_grad():
            bn.weight.copy_(layer.scale)
            bn.bias.copy_(layer.bias)
        return bn
    if layer.kind == "relu":
        return nn.ReLU()
    if layer.kind == "maxpool":
        return nn.MaxPool2d(**mod.kwargs)
    if layer.kind == "avgpool":
        return nn.AvgPool2d(tuple(layer.in_shape[2:]))
    return nn.Flatten(1)


def hls_model(layers: list[HlsLayer]) -> nn.Sequential:
    """The nn.Sequential hls4ml converts (eval mode, float64)."""
    return nn.Sequential(OrderedDict((layer.name, _torch_layer(layer)) for layer in layers)).eval()
