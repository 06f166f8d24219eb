"""BatchNorm in QAT: trained with batch statistics for the first steps, then frozen and folded.

The default (`bn_steps=0`) folds BN up front: the PTQ model's folded weights are trained with the
statistics frozen from step 0. With `bn_steps=N > 0` the first stage keeps each conv/linear → BN
pair unfolded for N training steps, as PyTorch's ConvBn QAT modules and Jacob et al. (2018) do:

    s = γ / sqrt(running_var + ε)          (per output channel)
    y = BN_batch( conv(x, Q(W·s)) / s + b )

so the quantizer always sees the weights that will be deployed (folded with the running
statistics), while the output is normalised with the batch's own statistics, which also update
the running ones. After N steps the statistics freeze: y = conv(x, Q(W·s)) + (b − μ)·s + β,
which is exactly the folded layer. At the end of the stage each pair becomes an ordinary folded
`TrainLayer` (`fold_into`), so checkpoints of later stages, `to_quant_model` and `load_trained`
see the same net as with up-front folding.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, fx, nn

from ohq.quant.fold import BATCHNORMS, LAYERS, trace


def bn_pairs(model: nn.Module) -> dict[str, tuple[nn.Module, nn.Module]]:
    """Layer name → (copy of the unfolded conv/linear, copy of the BN after it), as `fold_bn` pairs them."""
    gm = trace(model)
    modules = dict(gm.named_modules())
    pairs = {}
    for node in gm.graph.nodes:
        if node.op == "call_module" and isinstance(modules[node.target], BATCHNORMS):
            prev = node.args[0]
            if isinstance(prev, fx.Node) and prev.op == "call_module" and isinstance(modules[prev.target], LAYERS):
                pairs[prev.target] = (copy.deepcopy(modules[prev.target]), copy.deepcopy(modules[node.target]))
    return pairs


class BnTrainLayer(nn.Module):
    """A conv/linear → BN pair trained unfolded; statistics freeze after `steps` training forwards."""

    def __init__(self, layer: nn.Module, bn: nn.Module, wq: nn.Module | None, a_in: nn.Module | None,
                 a_out: nn.Module | None, conv_args: dict | None, orig: nn.Module, steps: int,
                 mask: Tensor | None = None) -> None:
        super().__init__()
        self.orig = [orig]  # the QuantLayer the folded result goes back into (not a submodule)
        self.weight = nn.Parameter(layer.weight.detach().clone())
        bias = layer.bias.detach().clone() if layer.bias is not None else torch.zeros(len(self.weight))
        self.bias = nn.Parameter(bias, requires_grad=layer.bias is not None)
        self.bn = bn.train()
        self.wq, self.a_in, self.a_out, self.conv_args = wq, a_in, a_out, conv_args
        self.register_buffer("seen", torch.tensor(0))
        self.steps = steps
        self.mask = mask  # pruning keep-mask (as TrainLayer's): pruned weights start and stay at zero
        if mask is not None:
            with torch.no_grad():
                self.weight.mul_(mask.to(self.weight.dtype))

    def _shape(self, t: Tensor) -> Tensor:
        return t.reshape((-1,) + (1,) * (self.weight.dim() - 1))

    def factor(self) -> Tensor:
        gamma = self.bn.weight if self.bn.weight is not None else torch.ones_like(self.bn.running_var)
        return gamma / torch.sqrt(self.bn.running_var + self.bn.eps)

    def folded(self) -> tuple[Tensor, Tensor]:
        """The folded weight and bias with the running statistics (what is deployed)."""
        s = self.factor()
        beta = self.bn.bias if self.bn.bias is not None else torch.zeros_like(s)
        w = self.weight if self.mask is None else self.weight * self.mask.to(self.weight.dtype)
        return w * self._shape(s), (self.bias - self.bn.running_mean) * s + beta

    def _conv(self, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        return F.conv2d(x, w, b, **self.conv_args) if self.conv_args is not None else F.linear(x, w, b)

    def forward(self, x: Tensor) -> Tensor:
        if self.a_in is not None:
            x = self.a_in(x)
        w_fold, b_fold = self.folded()
        w = w_fold if self.wq is None else self.wq(w_fold)
        batch_stats = self.training and int(self.seen) < self.steps
        if self.training:
            self.seen += 1
        if batch_stats:
            per_channel = (1, -1, 1, 1) if self.conv_args is not None else (1, -1)
            y = (self._conv(x, w, None) / self.factor().detach().reshape(per_channel)
                 + self.bias.reshape(per_channel))
            y = F.batch_norm(y, self.bn.running_mean, self.bn.running_var, self.bn.weight, self.bn.bias,
                             True, self.bn.momentum if self.bn.momentum is not None else 0.1, self.bn.eps)
        else:
            y = self._conv(x, w, b_fold)
        return y if self.a_out is None else self.a_out(y)


@torch.no_grad()
def fold_into(net: nn.Module, make_layer) -> None:
    """Replace every BnTrainLayer of `net.gm` by `make_layer(pair, folded weight, folded bias)`."""
    for target, mod in list(net.gm.named_modules()):
        if isinstance(mod, BnTrainLayer):
            w, b = mod.folded()
            parent, _, attr = target.rpartition(".")
            setattr(net.gm.get_submodule(parent) if parent else net.gm, attr, make_layer(mod, w, b))
