"""BatchNorm folding: conv/linear followed by BN becomes one conv/linear with a new bias.

W' = W · γ/σ (per output channel), b' = (b - μ)·γ/σ + β, σ = sqrt(running_var + eps). Works on an
fx graph: the BN node is removed and its users read the folded layer directly. A BatchNorm that
does not directly follow a conv/linear (with no other user) cannot be folded: OhqError.
"""

from __future__ import annotations

import copy

import torch
from torch import fx, nn

from ohq.errors import ModelError, OhqError, blame_user
from ohq.graph import TRACE_ERRORS

LAYERS = (nn.Conv2d, nn.Linear)
BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def trace(model: nn.Module) -> fx.GraphModule:
    """fx-trace a deep copy of `model` in eval mode; OhqError when it does not trace."""
    model = copy.deepcopy(model).eval()
    try:
        return fx.symbolic_trace(model)
    except TRACE_ERRORS as exc:
        err = blame_user(exc, ModelError, "quantization needs an fx-traceable model (torch.fx.symbolic_trace failed")
        raise ModelError(f"{err}); remove data-dependent control flow from forward()") from exc


def fold_layer(layer: nn.Module, bn: nn.Module) -> None:
    """Fold `bn` into `layer` in place (the layer gains a bias if it had none)."""
    with torch.no_grad():
        w = layer.weight.double()
        sigma = torch.sqrt(bn.running_var.double() + bn.eps)
        gamma = bn.weight.double() if bn.weight is not None else torch.ones_like(sigma)
        beta = bn.bias.double() if bn.bias is not None else torch.zeros_like(sigma)
        factor = gamma / sigma
        bias = layer.bias.double() if layer.bias is not None else torch.zeros_like(sigma)
        new_w = w * factor.reshape((-1,) + (1,) * (w.dim() - 1))
        new_b = (bias - bn.running_mean.double()) * factor + beta
        layer.weight.copy_(new_w.to(layer.weight.dtype))
        if layer.bias is None:
            layer.bias = nn.Parameter(new_b.to(layer.weight.dtype))
        else:
            layer.bias.copy_(new_b.to(layer.bias.dtype))


def fold_bn(model: nn.Module) -> fx.GraphModule:
    """A traced copy of `model` with every BatchNorm folded into the conv/linear before it."""
    gm = trace(model)
    modules = dict(gm.named_modules())
    for node in list(gm.graph.nodes):
        if node.op != "call_module" or not isinstance(modules[node.target], BATCHNORMS):
            continue
        prev = node.args[0]
        ok = (
            isinstance(prev, fx.Node)
            and prev.op == "call_module"
            and isinstance(modules[prev.target], LAYERS)
            and len(prev.users) == 1
        )
        if not ok:
            raise OhqError(
                f"BatchNorm {node.target!r} does not directly follow a conv/linear layer, so it "
                "cannot be folded; ohq quantizes conv/linear→BN pairs only"
            )
        bn = modules[node.target]
        if bn.running_mean is None or bn.running_var is None:
            raise OhqError(f"BatchNorm {node.target!r} tracks no running statistics; cannot fold it")
        fold_layer(modules[prev.target], bn)
        node.replace_all_uses_with(prev)
        gm.graph.erase_node(node)
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm
