"""MQE, mask-guided quantization estimation (the OHQ paper Eqs. 6–9), the default sensitivity.

Quantize the whole model to 8 bits once (weights and activations, activations calibrated on the
same samples). For each layer i, zero a seeded random fraction α = 0.5 of its quantized weights
and measure ω_i = 1/N Σ_j KL(softmax(M^q(x_j)) ‖ softmax(M̃_i^q(x_j))), averaged over `n_masks`
masks. Every node of the 8-bit graph is evaluated once per batch and cached; for layer i only
the nodes that depend on it are re-run (`SuffixRunner`), so the sweep costs about L/2 forward
passes instead of L.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor, fx, nn

from ohq.errors import OhqError
from ohq.sensitivity._suffix import SuffixRunner
from ohq.sensitivity.base import (
    SensitivityMethod,
    check_positive_int,
    chunks,
    kl_per_sample,
    register_method,
)


@register_method("mqe")
class MQE(SensitivityMethod):
    """Mask-guided sensitivity of every layer of the `bits`-bit model.

    `rescale=True` (not in the paper) multiplies the kept weights by 1/(1 − α), so a mask adds
    zero-mean noise instead of also shrinking the layer's output.

    Learned: `scores_`, `quant_model_` (the quantized model, masks cleared) and `forward_equiv_`
    (nodes re-evaluated over the sweep, in units of one full forward pass).
    """

    def __init__(
        self,
        alpha: float = 0.5,
        bits: int = 8,
        n_masks: int = 4,  # the paper uses 1; averaging 4 measured better (docs/sensitivity.md)
        seed: int = 0,
        batch_size: int = 64,
        rescale: bool = False,
        callback: Callable[[int, int], None] | None = None,
    ) -> None:
        self.alpha = alpha
        self.bits = bits
        self.n_masks = n_masks
        self.seed = seed
        self.batch_size = batch_size
        self.rescale = rescale
        self.callback = callback

    def _scores(self, model: nn.Module, names: list[str], x: Tensor, y: Tensor | None) -> np.ndarray:
        from ohq.quant import Plan, QuantSpec, quantize

        check_positive_int(bits=self.bits, n_masks=self.n_masks, batch_size=self.batch_size)
        if not 0.0 < self.alpha <= 1.0:
            raise OhqError(f"the mask ratio alpha must be in (0, 1], got {self.alpha}")
        if len(x) < self.n_masks:
            raise OhqError(f"mqe averages {self.n_masks} masks but got only {len(x)} samples; "
                           f"give at least {self.n_masks} samples or fewer masks")
        modules = dict(model.named_modules())
        self._shapes = {n: tuple(modules[n].weight.shape) for n in names}
        qm = quantize(model, Plan(default=QuantSpec(w_bits=self.bits, a_bits=self.bits)), x)
        qm.eval()
        self.quant_model_ = qm
        runner = SuffixRunner(graph_module(qm))
        totals = np.zeros(len(names))
        done, total = 0, len(range(0, len(x), self.batch_size)) * len(names)
        with torch.no_grad():
            for s in chunks(len(x), self.batch_size):
                cache = runner.run_all(x[s])
                ref = runner.output(cache)
                for i, name in enumerate(names):
                    for k in range(self.n_masks):
                        with self._masked(name, i, k):
                            out = runner.rerun(cache, name)
                        totals[i] += float(kl_per_sample(ref, out).sum())
                    done += 1
                    self._tick(done, total)
        computed = [n for n in runner.nodes if n.op not in ("placeholder", "output", "get_attr")]
        self.forward_equiv_ = self.n_masks * sum(
            len([n for n in runner.suffix(name) if n.op != "get_attr"]) for name in names
        ) / max(len(computed), 1)
        return totals / (len(x) * self.n_masks)

    def _reference(self) -> np.ndarray:
        # zeroing a random fraction α of the weights removes, on average, α of their energy
        return np.full(len(self.layer_names_), self.alpha)

    def masked_top1(self, x: Tensor, y: Tensor, mask: int = 0) -> np.ndarray:
        """Top-1 accuracy on (x, y) of the quantized model with each layer masked (mask `mask`)."""
        if not hasattr(self, "quant_model_"):
            raise OhqError("call fit() before masked_top1()")
        runner = SuffixRunner(graph_module(self.quant_model_))
        correct = np.zeros(len(self.layer_names_))
        with torch.no_grad():
            for s in chunks(len(x), self.batch_size):
                cache = runner.run_all(x[s].float())
                for i, name in enumerate(self.layer_names_):
                    with self._masked(name, i, mask):
                        out = runner.rerun(cache, name)
                    correct[i] += float((out.argmax(dim=1) == y[s]).sum())
        return correct / len(x)

    def mask(self, name: str, index: int, k: int) -> Tensor:
        """Mask k of layer `name` (position `index`): exactly round(α·n) zeros, seeded; the rest 1
        (or 1/(1 − α) with `rescale`)."""
        shape = self._shapes[name]
        numel = int(np.prod(shape))
        state = np.random.SeedSequence([self.seed, index, k]).generate_state(1)[0]
        gen = torch.Generator().manual_seed(int(state))
        drop = torch.randperm(numel, generator=gen)[: round(self.alpha * numel)]
        keep = 1.0 / (1.0 - self.alpha) if self.rescale and self.alpha < 1.0 else 1.0
        m = torch.full((numel,), keep)
        m[drop] = 0.0
        return m.reshape(shape)

    @contextmanager
    def _masked(self, name: str, index: int, k: int) -> Iterator[None]:
        layer = self.quant_model_.layers[name]
        layer.weight_mask = self.mask(name, index, k)
        try:
            yield
        finally:
            layer.weight_mask = None


def graph_module(qm: nn.Module) -> fx.GraphModule:
    """The torch.fx graph of a quantized model (the model itself or its `.graph_module`)."""
    gm = getattr(qm, "graph_module", qm)
    if not isinstance(gm, fx.GraphModule):
        raise OhqError("MQE needs a quantized model that traces with torch.fx")
    return gm
