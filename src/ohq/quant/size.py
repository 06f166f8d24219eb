"""Model size as the papers count it: MiB of weights at their bit-widths, biases at 32 bit.

`weights_mib` is the one formula; the QuantModel, the float model, the hardware cost table and
the baselines all call it, so their sizes cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from ohq.quant.fold import LAYERS, fold_bn

if TYPE_CHECKING:
    from ohq.graph import LayerGraph
    from ohq.quant.spec import Plan

MIB = float(1 << 20)
BIAS_BITS = 32


def weights_mib(n_weights: int, n_biases: int, w_bits: int | None) -> float:
    """MiB of one layer's weights at `w_bits` (None: float, 32 bit) plus its 32-bit biases."""
    return (n_weights * (32 if w_bits is None else w_bits) + n_biases * BIAS_BITS) / 8 / MIB


def layer_counts(model: nn.Module, graph: LayerGraph) -> dict[str, tuple[int, int]]:
    """(weights, biases) per layer as deployed: folding a BatchNorm gives its conv a bias."""
    out = {}
    for layer in graph.layers:
        m = model.get_submodule(layer.name)
        has_bias = m.bias is not None or layer.bn is not None
        out[layer.name] = (m.weight.numel(), layer.out_channels if has_bias else 0)
    return out


def model_size_mib(model: nn.Module, plan: Plan | None = None) -> float:
    """Size of `model` under `plan` (float model: 32-bit weights when plan is None).

    Biases count once per output channel of every layer that has one after BN folding.
    """
    from ohq.quant.qmodel import QuantModel

    if isinstance(model, QuantModel):
        return model.size_mib()
    gm = fold_bn(model)
    modules = dict(gm.named_modules())
    names = [n.target for n in gm.graph.nodes if n.op == "call_module" and isinstance(modules[n.target], LAYERS)]
    specs = plan.resolve(names) if plan is not None else dict.fromkeys(names)
    total = 0.0
    for name in names:
        layer, spec = modules[name], specs[name]
        n_bias = 0 if layer.bias is None else layer.bias.numel()
        total += weights_mib(layer.weight.numel(), n_bias, None if spec is None else spec.w_bits)
    return total
