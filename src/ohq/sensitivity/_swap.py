"""What qmqe substitutes in the cached W8A8 graph so that layer i runs exactly as a plan builds it.

The truth qmqe predicts is `quantize(model, Plan(QuantSpec(8, 8), {name: QuantSpec(b, b)}), calib)`.
Against the W8A8 model that plan changes two things (ohq.quant.convert):

- layer i itself: b-bit weight codes, its input read at b bits, integer accumulation with the
  bias on the accumulator grid and a dyadic requantization to the unchanged output quantizer;
- the tensor layer i reads, when layer i is its only reader (through ReLU, max-pool and shape
  ops): the producer quantizes straight to b bits. Requantizing the cached 8-bit codes instead
  would round twice. A tensor with other readers stays at 8 bits and layer i requantizes it.

Every other quantizer is calibrated on the same float statistics and does not change. The b-bit
quantizers are those of the model quantized to W_b A_b (`Calibration.layers`, its QuantLayers
with their input quantizers): there the same tensor, read by the same layers, gets the same b-bit
range. So a `Swap` is: the producer re-run with its output at b bits (only in the sole-reader
case), layer i as that b-bit QuantLayer rewired to the W8A8 neighbours, and the suffix re-run
from the producer's node.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, fx, nn

from ohq.quant.dyadic import QParams
from ohq.quant.graphops import _SHAPE_MODULES, is_shape_call, readers
from ohq.quant.layers import QuantLayer
from ohq.quant.qmodules import QMaxPool, QOp, QRelu, fake
from ohq.sensitivity._suffix import SuffixRunner

_PASS_MODULES = (QRelu, QMaxPool, *_SHAPE_MODULES)  # keep their input's quantizer


@dataclass
class Swap:
    """Modules to substitute (fx target → module) and the target whose suffix is re-run."""

    start: str
    modules: dict[str, nn.Module]


class _Swapped(nn.Module):
    """α < 1: layer i with a float mix of 8-bit and b-bit weights (no integer grid), its input at
    `inp` and its float bias; the one perturbation no plan builds, so it runs in float."""

    def __init__(self, layer8: QuantLayer, layer_b: QuantLayer, keep: Tensor, inp: QParams | None) -> None:
        super().__init__()
        w8 = layer8.codes * layer8._shape_w(layer8.step)
        wb = layer_b.codes * layer_b._shape_w(layer_b.step)
        self.weight = torch.where(keep, w8, wb).float()
        self.bias, self.inp, self.out, self.layer = layer8.bias.float(), inp, layer8.out, layer8

    def forward(self, x: Tensor) -> Tensor:
        y = self.layer._op(fake(x, self.inp), self.weight, self.bias)
        return fake(y, self.out)


def plan_swap(runner: SuffixRunner, layer8: QuantLayer, layer_b: QuantLayer, keep: Tensor | None = None) -> Swap:
    """The swap for `layer8` (a layer of the W8A8 graph `runner` evaluates) at `layer_b`'s bits.

    `keep` (α < 1): where the 8-bit weights stay; the layer then runs in float (`_Swapped`).
    `layer_b` is rewired in place (its own model is not run again).
    """
    modules = runner.modules
    node = runner.by_target(layer8.name)
    producer = _producer(node.args[0], modules)
    sole = producer is not None and readers(producer, lambda u: _is_pass(u, modules)) == [node]
    swap = Swap(layer8.name, {})
    src = layer8.src
    if sole and layer_b.inp != src:
        src = layer_b.inp  # the producer quantizes straight to b bits
        swap = Swap(producer.target, {producer.target: _with_out(modules[producer.target], src)})
    if keep is not None:
        inp = layer_b.inp if layer_b.inp is not None else layer8.inp
        swap.modules[layer8.name] = _Swapped(layer8, layer_b, keep, inp)
    else:
        layer_b.rewire(src, layer8.out)
        swap.modules[layer8.name] = layer_b
    return swap


def _is_pass(node: fx.Node, modules: dict[str, nn.Module]) -> bool:
    """Keeps its input's quantizer (size() included: its users are looked through too)."""
    if node.op == "call_module":
        return isinstance(modules[node.target], _PASS_MODULES)
    return is_shape_call(node)


def _producer(arg: object, modules: dict[str, nn.Module]) -> fx.Node | None:
    """The module node whose output quantizer layer i's input carries (None: not a module we can
    requantize, e.g. an unquantized input)."""
    while isinstance(arg, fx.Node) and _is_pass(arg, modules):
        arg = arg.all_input_nodes[0]
    if isinstance(arg, fx.Node) and arg.op == "call_module" and isinstance(modules[arg.target], QOp | QuantLayer):
        return arg
    return None


def _with_out(module: nn.Module, out: QParams) -> nn.Module:
    """A copy of a producer module whose output quantizer is `out` (integer constants re-derived)."""
    if isinstance(module, QuantLayer):
        new = copy.copy(module)  # share the weight tensors; own buffer/module dicts
        new._buffers, new._modules, new._parameters = dict(module._buffers), {}, {}
        new.rewire(module.src, out)
        return new
    new = copy.deepcopy(module)  # graph ops are small (a LUT of 2^b entries at most)
    new.set_qparams(new.ins, out)
    return new
