"""QatNet: a QuantModel's own graph made trainable, and back to a QuantModel.

The PTQ `QuantModel` fixes everything QAT keeps: which tensors are quantized, at how many bits,
with which zero point, and each layer's spec (BatchNorm is already folded, so training updates
the folded weights and biases with the statistics frozen — see docs/train.md). Each `QuantLayer`
and graph op of a deep copy is wrapped:

- a layer computes  A_out(conv(A_in(x), Wq(w)) + b)  with a trainable float `w`, `b`;
- a graph op runs its float operation and then A_out.

One activation quantizer A stands for each distinct `QParams` of the graph (the same object is
shared by a producer, the ReLU after it and its readers, so they share A). `to_quant_model()`
writes the trained weights and the quantizers' new `QParams` back into the original modules
(`QuantLayer.requantize`, `QOp.set_qparams`): the result is an ordinary QuantModel whose integer
engine agrees with its fake-quant forward bit for bit, and which exports like a PTQ one.

`masks` (layer → keep-mask, from `ohq.quant.prune`) keeps pruned weights at zero: the forward
uses weight × mask, so a pruned weight gets no gradient and, starting at zero, Adam never moves it.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, fx, nn

from ohq.errors import OhqError
from ohq.quant.dyadic import QParams
from ohq.quant.layers import QuantLayer
from ohq.quant.qmodel import QuantModel
from ohq.quant.qmodules import QInput, QMaxPool, QOp, QOutput, QRelu
from ohq.train.methods import Method
from ohq.train.quantizers import ActQuant


class TrainLayer(nn.Module):
    """A QuantLayer's training form: float weight and bias, weight quantizer, activation quantizers."""

    def __init__(self, layer: QuantLayer, wq: nn.Module | None, a_in: ActQuant | None,
                 a_out: ActQuant | None, mask: Tensor | None = None) -> None:
        super().__init__()
        self.orig = [layer]  # a list: not a registered submodule (its buffers are not trained)
        self.weight = nn.Parameter(layer.weight.detach().clone())
        # a layer without a bias keeps its zero bias (sizes and exports count no bias for it)
        self.bias = nn.Parameter(layer.bias.detach().clone(), requires_grad=layer.has_bias)
        self.wq, self.a_in, self.a_out = wq, a_in, a_out
        self.conv_args = layer.conv_args if layer.is_conv else None
        # pruning keep-mask: a plain attribute, not state (the weights it zeroes stay zero)
        self.mask = None if mask is None else mask.to(self.weight.dtype)
        if self.mask is not None:
            with torch.no_grad():
                self.weight.mul_(self.mask)  # pruned weights start at zero, so they stay there

    def masked_weight(self) -> Tensor:
        return self.weight if self.mask is None else self.weight * self.mask

    def forward(self, x: Tensor) -> Tensor:
        if self.a_in is not None:
            x = self.a_in(x)
        w = self.masked_weight()
        w = w if self.wq is None else self.wq(w)
        b = self.bias
        y = F.conv2d(x, w, b, **self.conv_args) if self.conv_args is not None else F.linear(x, w, b)
        return y if self.a_out is None else self.a_out(y)


class TrainOp(nn.Module):
    """A graph op's training form: its float operation, then the output quantizer."""

    def __init__(self, op: QOp, a_out: ActQuant | None) -> None:
        super().__init__()
        self.orig = [op]
        self.a_out = a_out

    def forward(self, *xs: Tensor) -> Tensor:
        op = self.orig[0]
        if isinstance(op, QOutput):
            return xs[0]
        if isinstance(op, QRelu):
            return torch.relu(xs[0])  # the input is already on the shared quantizer's grid
        if isinstance(op, QMaxPool):
            return F.max_pool2d(xs[0], **op.kwargs)
        y = xs[0] if isinstance(op, QInput) else op.float_forward(*xs)
        return y if self.a_out is None else self.a_out(y)


class QatNet(nn.Module):
    """The trainable copy of `qmodel` for `method`; `to_quant_model()` gives the trained QuantModel."""

    def __init__(self, qmodel: QuantModel, method: Method, masks: dict[str, Tensor] | None = None) -> None:
        super().__init__()
        masks = masks or {}
        self.plan, self.specs = qmodel.plan, dict(qmodel.specs)
        gm = copy.deepcopy(qmodel.graph_module)
        quant: dict[int, ActQuant] = {}

        def act(p: QParams | None) -> ActQuant | None:
            if p is None:
                return None
            if id(p) not in quant:
                quant[id(p)] = method.act_quant(p)
            return quant[id(p)]

        for target, mod in _wrapped(gm):
            if isinstance(mod, QuantLayer):
                wq = None if mod.w_bits is None else method.weight_quant(mod.spec, mod.weight)
                a_in = None if mod.inp is None or mod.inp is mod.src else act(mod.inp)
                new: nn.Module = TrainLayer(mod, wq, a_in, act(mod.out), _mask(masks, target, mod.weight))
            else:
                for p in mod.ins:
                    act(p)
                new = TrainOp(mod, act(mod.out))
            _set_module(gm, target, new)
        self.gm = gm
        self.quantizers = nn.ModuleList(quant.values())

    def forward(self, x: Tensor) -> Tensor:
        return self.gm(x)

    def float_weights(self) -> dict[str, tuple[Tensor, Tensor]]:
        """Layer name → (trained float weight, bias) of the BN-folded model."""
        return {t: (m.masked_weight().detach().clone(), m.bias.detach().clone())
                for t, m in self.gm.named_modules() if isinstance(m, TrainLayer)}

    @torch.no_grad()
    def to_quant_model(self) -> QuantModel:
        """A QuantModel with the trained weights and quantizers (this net is left unchanged)."""
        net = copy.deepcopy(self)  # one deepcopy: QParams identities stay consistent within it
        remap = {id(q.params): q.qparams() for q in net.quantizers}

        def new(p: QParams | None) -> QParams | None:
            return None if p is None else remap.get(id(p), p)

        for target, mod in list(net.gm.named_modules()):
            if isinstance(mod, TrainLayer):
                layer = mod.orig[0]
                w = mod.masked_weight()
                codes, step = (None, None) if mod.wq is None else mod.wq.export(w)
                layer.requantize(w, mod.bias, new(layer.src), new(layer.inp), new(layer.out),
                                 codes, step)
                _set_module(net.gm, target, layer)
            elif isinstance(mod, TrainOp):
                op = mod.orig[0]
                op.set_qparams([new(p) for p in op.ins], new(op.out))
                _set_module(net.gm, target, op)
        return QuantModel(net.gm, net.plan, net.specs)


def _wrapped(gm: fx.GraphModule) -> list[tuple[str, nn.Module]]:
    """The call_module targets of `gm` that QAT wraps, in graph order."""
    modules = dict(gm.named_modules())
    return [(n.target, modules[n.target]) for n in gm.graph.nodes
            if n.op == "call_module" and isinstance(modules[n.target], QuantLayer | QOp)]


def _mask(masks: dict[str, Tensor], name: str, weight: Tensor) -> Tensor | None:
    """Layer `name`'s keep-mask, checked against its weight; None when the layer is not pruned."""
    if name not in masks:
        return None
    mask = masks[name]
    if tuple(mask.shape) != tuple(weight.shape):
        raise OhqError(f"the pruning mask of layer {name!r} has shape {tuple(mask.shape)}, "
                       f"its weight {tuple(weight.shape)}")
    return mask.detach().bool()


def _set_module(gm: fx.GraphModule, target: str, module: nn.Module) -> None:
    parent, _, attr = target.rpartition(".")
    setattr(gm.get_submodule(parent) if parent else gm, attr, module)
