"""Distilled data (the OHQ paper Eq. 2, ZeroQ): synthetic inputs whose BatchNorm statistics match.

Starting from N(0, 1) noise, the input is optimised so that at every BatchNorm layer the
per-channel mean and standard deviation of the layer's input match the stored running mean and
sqrt(running_var + eps):

    L_prep = sum_i ||mean_c(x_i) - running_mean_i||^2 + ||std_c(x_i) - sqrt(running_var_i + eps)||^2

ZeroQ's recipe: Adam with lr 0.5, up to 500 steps per batch of 32, learning rate reduced on a
plateau. Nothing here prints; pass `callback(step, total, loss)` to show progress.

**Stopping on a plateau** (`Plateau(window, rel)`): the BN loss falls steadily on a log scale for
hundreds of steps, but on a linear scale it flattens early, and calibration and sensitivity stop
changing long before it does (docs/pipeline.md). A batch therefore stops at step t when its last
`window` steps lowered its best loss by less than `rel` of the whole drop since it started:
best(t − window) − best(t) < rel·(L_0 − best(t)), with L_0 the loss of the starting noise.
`steps` stays the cap.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ohq.errors import FILE_ERRORS, MODEL_RUN_ERRORS, DataError, ModelError, OhqError, blame_user

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
ProgressFn = Callable[[int, int, float], None]


@dataclass
class DistilledData:
    """Synthetic inputs and the BN-statistics loss (mean over batches) before and after."""

    x: Tensor
    loss_before: float
    loss_after: float
    steps: int  # optimiser steps taken, summed over batches


@dataclass(frozen=True)
class Plateau:
    """Stop once the last `window` steps lowered the best loss by less than `rel` of the drop so far."""

    window: int = 20
    rel: float = 0.05

    def __post_init__(self) -> None:
        if self.window < 1 or not 0.0 <= self.rel < 1.0:
            raise OhqError(f"a plateau needs window >= 1 and 0 <= rel < 1 (got {self.window}, {self.rel})")

    def reached(self, best: list[float]) -> bool:
        """`best[0]`: the starting loss; `best[t]`: the best loss after step t (non-increasing)."""
        if len(best) <= self.window:
            return False
        return best[-1 - self.window] - best[-1] < self.rel * (best[0] - best[-1])


DEFAULT_PLATEAU = Plateau()  # the pipeline's criterion (measured in docs/pipeline.md)


def batchnorm_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The BatchNorm layers of `model` that carry running statistics, in definition order."""
    return [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, _BN) and m.running_mean is not None and m.running_var is not None
    ]


def bn_statistics_loss(model: nn.Module, x: Tensor) -> float:
    """Eq. 2 for inputs `x` (no gradient); the model is run in eval mode."""
    with _BNStats(model) as stats, torch.no_grad():
        model(x)
        return float(stats.loss())


def distill_data(
    model: nn.Module,
    n: int,
    shape: tuple[int, ...],
    *,
    steps: int = 500,
    batch_size: int = 32,
    lr: float = 0.5,
    seed: int = 0,
    tol: float = 0.0,
    plateau: Plateau | None = None,
    callback: ProgressFn | None = None,
) -> DistilledData:
    """Generate `n` inputs of per-sample `shape` (C, H, W) that match `model`'s BN statistics.

    Batches of `batch_size` are optimised independently for up to `steps` Adam steps each (fewer
    if the loss drops to `tol` or reaches `plateau`). `callback(step, total_steps, loss)` is called
    after every step.
    """
    if n <= 0:
        raise OhqError(f"the number of distilled samples must be positive, got {n}")
    if steps < 0 or batch_size <= 0 or lr <= 0:
        raise OhqError(f"need steps >= 0, batch > 0 and lr > 0 (got {steps}, {batch_size}, {lr})")
    shape = tuple(int(d) for d in shape)
    if not shape or any(d <= 0 for d in shape):
        raise OhqError(f"the sample shape must be positive integers (C, H, W), got {shape}")
    if not batchnorm_layers(model):
        raise OhqError(
            "the model has no BatchNorm layer, so data cannot be distilled from it; "
            "pass real calibration data instead (--data)"
        )
    gen = torch.Generator().manual_seed(seed)
    n_batches = math.ceil(n / batch_size)
    total = n_batches * steps
    was_training = model.training
    grads = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    out, before, after, taken = [], [], [], 0
    try:
        with _BNStats(model) as stats:
            for b in range(n_batches):
                size = min(batch_size, n - b * batch_size)
                x = torch.randn((size, *shape), generator=gen).requires_grad_(True)
                opt = torch.optim.Adam([x], lr=lr)
                sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=100, min_lr=1e-4)
                with torch.no_grad():
                    _first_forward(model, x)
                    before.append(float(stats.loss()))
                best = [before[-1]]
                for _ in range(steps):
                    opt.zero_grad(set_to_none=True)
                    model(x)
                    loss = stats.loss()
                    loss.backward()
                    opt.step()
                    value = loss.item()
                    sched.step(value)
                    taken += 1
                    best.append(min(value, best[-1]))
                    if callback is not None:
                        callback(taken, total, value)
                    if value <= tol or (plateau is not None and plateau.reached(best)):
                        break
                with torch.no_grad():
                    model(x)
                    after.append(float(stats.loss()))
                out.append(x.detach())
    finally:
        model.train(was_training)
        for p, g in zip(model.parameters(), grads, strict=True):
            p.requires_grad_(g)
    return DistilledData(torch.cat(out), float(np.mean(before)), float(np.mean(after)), taken)


def save_distilled(path: str | Path, data: DistilledData) -> Path:
    """Write `x` (first array, shape (N, C, H, W)) and the losses to an `.npz` file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:  # a file object keeps numpy from appending ".npz"
        np.savez(
            f,
            x=data.x.numpy().astype(np.float32),
            loss_before=np.float64(data.loss_before),
            loss_after=np.float64(data.loss_after),
        )
    return path


def load_inputs(path: str | Path) -> Tensor:
    """The first array of an `.npz` file as a float tensor (distilled or user data)."""
    path = Path(path)
    if not path.is_file():
        raise OhqError(f"data file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not npz.files:
                raise OhqError(f"{path} holds no arrays")
            x = np.asarray(npz[npz.files[0]])
    except OhqError:
        raise
    except (*FILE_ERRORS, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read {path} as an .npz file: {type(exc).__name__}") from exc
    if x.ndim < 2 or x.shape[0] == 0:
        raise OhqError(f"{path}: expected a first array of shape (N, C, H, W), got {x.shape}")
    return torch.from_numpy(x.astype(np.float32))


def _first_forward(model: nn.Module, x: Tensor) -> None:
    try:
        model(x)
    except MODEL_RUN_ERRORS as exc:  # the sample shape does not fit the model
        raise blame_user(exc, ModelError, f"the model cannot take inputs of shape {tuple(x.shape)} (pass --input)") from exc


class _BNStats:
    """Forward pre-hooks that record each BN input's per-channel mean and std against its targets."""

    def __init__(self, model: nn.Module) -> None:
        self.bns = [m for _, m in batchnorm_layers(model)]
        self.terms: list[Tensor] = []
        self.handles: list = []

    def __enter__(self) -> _BNStats:
        self.handles = [bn.register_forward_pre_hook(self._hook) for bn in self.bns]
        return self

    def __exit__(self, *exc) -> None:
        for h in self.handles:
            h.remove()

    def _hook(self, bn: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        x = inputs[0]
        dims = [d for d in range(x.dim()) if d != 1]
        mean = x.mean(dim=dims)
        std = torch.sqrt(x.var(dim=dims, unbiased=False) + bn.eps)
        target_std = torch.sqrt(bn.running_var + bn.eps)
        term = (mean - bn.running_mean).pow(2).sum() + (std - target_std).pow(2).sum()
        self.terms.append(term)

    def loss(self) -> Tensor:
        """Sum of the terms recorded since the last call (one forward pass), then reset."""
        terms, self.terms = self.terms, []
        return torch.stack(terms).sum() if terms else torch.zeros(())
