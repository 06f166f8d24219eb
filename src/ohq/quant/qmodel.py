"""QuantModel (the fake-quant model) and IntegerEngine (integer-only inference).

`QuantModel(x)` returns fake-quant float logits. `qmodel.to_integer()` returns an IntegerEngine
that walks the same fx graph keeping every activation as integer codes (integer-valued float32,
exact below 2^24) and calls each module's `forward_int`; its output (the dequantized logits) equals `QuantModel(x)` bit for bit.
"""

from __future__ import annotations

import operator

import torch
from torch import Tensor, fx, nn

from ohq.errors import OhqError
from ohq.quant.layers import QuantLayer
from ohq.quant.qmodules import QOp
from ohq.quant.size import MIB, weights_mib  # noqa: F401  (MIB re-exported)
from ohq.quant.spec import Plan, QuantSpec, bits_label


class QuantModel(nn.Module):
    """A quantized model. `graph_module` is the fx graph; each layer node's target is its original name."""

    def __init__(self, graph_module: fx.GraphModule, plan: Plan, specs: dict[str, QuantSpec | None]) -> None:
        super().__init__()
        self.graph_module = graph_module
        self.plan = plan
        self.specs = dict(specs)
        self.eval()

    @property
    def layers(self) -> dict[str, QuantLayer]:
        return {name: self.graph_module.get_submodule(name) for name in self.specs}

    def forward(self, x: Tensor) -> Tensor:
        return self.graph_module(x)

    def to_integer(self) -> IntegerEngine:
        return IntegerEngine(self)

    def fastest(self) -> nn.Module:
        """The integer engine when it can run this model (the same logits bit for bit, several
        times faster than fake-quant), else the fake-quant model itself."""
        return self if self.integer_problems() else self.to_integer()

    def size_mib(self) -> float:
        """MiB of weights at their bit-widths (float weights at 32 bit) plus 32-bit biases."""
        return sum(
            weights_mib(layer.weight.numel(), layer.bias.numel() if layer.has_bias else 0, layer.w_bits)
            for layer in self.layers.values()
        )

    def summary(self) -> list[dict]:
        """One row per layer: name, bits, scheme, and the integer path's accumulator facts."""
        rows = []
        for name, layer in self.layers.items():
            spec = layer.spec
            rows.append({
                "name": name,
                "w_bits": None if spec is None else spec.w_bits,
                "a_bits": None if layer.inp is None else layer.inp.bits,
                "scheme": None if spec is None or spec.w_bits is None else spec.scheme,
                "label": bits_label(spec),
                "acc_int32": getattr(layer, "acc_int32", None),
                "conv_dtype": str(getattr(layer, "conv_dtype", None)).replace("torch.", ""),
            })
        return rows

    def integer_problems(self) -> list[str]:
        """Why the integer engine cannot run this model (empty when it can)."""
        problems = []
        modules = dict(self.graph_module.named_modules())
        for node in self.graph_module.graph.nodes:
            if node.op != "call_module":
                continue
            mod = modules[node.target]
            if isinstance(mod, QuantLayer | QOp) and not mod.integer_ok:
                problems.append(node.target)
            if isinstance(mod, QuantLayer) and mod.integer_ok and mod.out is None:
                if any(u.op != "output" and not _is_shape(u, modules) for u in node.users):
                    problems.append(node.target)
        return problems


def _is_shape(node: fx.Node, modules) -> bool:
    if node.op == "call_module":
        return isinstance(modules[node.target], nn.Flatten | nn.Identity)
    return node.target in (torch.flatten, operator.getitem) or node.op == "call_method"


class IntegerEngine:
    """Integer-only inference over a QuantModel's graph: integer codes (as exact float32 values),
    integer accumulation, dyadic requantization. Calling it returns the dequantized logits (float32)."""

    def __init__(self, qmodel: QuantModel) -> None:
        problems = qmodel.integer_problems()
        if problems:
            shown = ", ".join(problems[:5]) + (", …" if len(problems) > 5 else "")
            raise OhqError(f"the integer engine needs every layer and activation quantized; "
                           f"float at: {shown}")
        self.qmodel = qmodel
        gm = qmodel.graph_module
        modules = dict(gm.named_modules())
        self._steps = []
        for node in gm.graph.nodes:
            if node.op == "call_module":
                fn = integer_call(modules[node.target])
            elif node.op == "call_function":
                fn = node.target
            elif node.op == "call_method":
                fn = _method(node.target)
            elif node.op == "get_attr":
                fn = _attr(gm, node.target)
            else:
                fn = None
            self._steps.append((node, fn))

    @torch.no_grad()
    def __call__(self, x: Tensor) -> Tensor:
        env: dict[fx.Node, object] = {}
        for node, fn in self._steps:
            if node.op == "placeholder":
                env[node] = x
            elif node.op == "output":
                return fx.node.map_arg(node.args[0], lambda n: env[n])
            else:
                args = fx.node.map_arg(node.args, lambda n: env[n])
                kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
                env[node] = fn(*args, **kwargs)
        raise RuntimeError("graph without output")


def integer_call(module: nn.Module):
    """What the integer engine calls for a graph module: a quantized module's `forward_int` (codes
    in, codes out), any other module (shape ops, flatten) as it is."""
    return module.forward_int if isinstance(module, QuantLayer | QOp) else module


def _method(name: str):
    def call(self, *args, **kwargs):
        return getattr(self, name)(*args, **kwargs)
    return call


def _attr(gm: fx.GraphModule, target: str):
    def get():
        obj = gm
        for part in target.split("."):
            obj = getattr(obj, part)
        return obj
    return get
