"""Model size as the papers count it: MiB of weights at their bit-widths, biases at 32 bit."""

from __future__ import annotations

from torch import nn

from ohq.quant.fold import LAYERS, fold_bn
from ohq.quant.qmodel import MIB, QuantModel
from ohq.quant.spec import Plan


def model_size_mib(model: nn.Module | QuantModel, plan: Plan | None = None) -> float:
    """Size of `model` under `plan` (float model: 32-bit weights when plan is None).

    Biases count once per output channel of every layer that has one after BN folding.
    """
    if isinstance(model, QuantModel):
        return model.size_mib()
    gm = fold_bn(model)
    modules = dict(gm.named_modules())
    names = [n.target for n in gm.graph.nodes if n.op == "call_module" and isinstance(modules[n.target], LAYERS)]
    specs = plan.resolve(names) if plan is not None else dict.fromkeys(names)
    bits = 0
    for name in names:
        layer, spec = modules[name], specs[name]
        w_bits = spec.w_bits if spec is not None and spec.w_bits is not None else 32
        bits += layer.weight.numel() * w_bits
        if layer.bias is not None:
            bits += layer.bias.numel() * 32
    return bits / 8 / MIB
