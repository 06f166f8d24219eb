"""Read-only accessors for what an export needs from a QuantModel's layers and ops.

ohq.quant keeps these facts as QuantLayer attributes (codes, step, bias_int, m, k); this module
collects them in one place so the formats never poke at private state themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, fx

from ohq.errors import OhqError
from ohq.quant.dyadic import QParams
from ohq.quant.layers import QuantLayer
from ohq.quant.qmodules import QOp, QOutput


@dataclass(frozen=True)
class LayerInts:
    """One layer's integer datapath: acc = op(q_in - z_in, codes) + bias_int; out = requant(acc)."""

    name: str
    is_conv: bool
    codes: Tensor  # int64, weight-shaped (weight_mask applied)
    step: Tensor  # float64 per output channel: weight = codes * step
    bias_int: Tensor  # int64 per output channel, in units of inp.scale * step
    inp: QParams
    out: QParams | None  # None: the dequantized accumulator (a model output)
    m: Tensor | None  # int64 per output channel (None when out is None)
    k: int | None
    acc_bound: int
    w_bits: int
    scheme: str
    conv_args: dict

    @property
    def acc_scale(self) -> Tensor:
        """Real value of one accumulator unit per output channel (float64)."""
        return self.inp.scale * self.step

    @property
    def code_range(self) -> tuple[int, int]:
        return int(self.codes.min()), int(self.codes.max())


def layer_ints(layer: QuantLayer) -> LayerInts:
    """The integer facts of `layer`; OhqError when it has no integer form (float weights/inputs)."""
    if not layer.integer_ok:
        why = "weights" if layer.w_bits is None else "input activations"
        raise OhqError(f"layer {layer.name!r} keeps its {why} in float, so it has no integer form")
    codes = layer.codes.to(torch.int64)
    if layer.weight_mask is not None:
        codes = codes * layer.weight_mask.to(torch.int64)
    out = layer.out
    return LayerInts(
        name=layer.name, is_conv=layer.is_conv, codes=codes, step=layer.step.to(torch.float64),
        bias_int=layer.bias_int.to(torch.int64), inp=layer.inp, out=out,
        m=None if out is None else layer.m.reshape(-1).to(torch.int64),
        k=None if out is None else int(layer.k), acc_bound=int(layer.acc_bound),
        w_bits=int(layer.w_bits), scheme=layer.spec.scheme,
        conv_args=dict(getattr(layer, "conv_args", {})),
    )


def output_units(qmodel, example: Tensor) -> Tensor:
    """The size of one output LSB, broadcastable to the model's output (for tolerances).

    A QOutput output is in units of its scale; a dequantized accumulator (the usual logits) in
    units of inp.scale·step per output channel.
    """
    gm = qmodel.graph_module
    modules = dict(gm.named_modules())
    out_node = next(n for n in gm.graph.nodes if n.op == "output")
    src = out_node.args[0]
    if not isinstance(src, fx.Node) or src.op != "call_module":
        raise OhqError("the model output is not a single quantized tensor")
    mod = modules[src.target]
    if isinstance(mod, QOutput | QOp) and mod.out is not None:
        return torch.full((1,), mod.out.scale, dtype=torch.float64)
    if isinstance(mod, QuantLayer) and mod.integer_ok and mod.out is None:
        shape = (1, -1) + (1,) * max(example.dim() - 2, 0)
        return (mod.inp.scale * mod.step).to(torch.float64).reshape(shape)
    raise OhqError(f"the model output {src.target!r} is not quantized")
