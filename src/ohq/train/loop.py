"""The QAT training loop: Adam with a cosine schedule, DDP-aware sampling, per-epoch checkpoints.

One `Schedule` describes a whole run (possibly several progressive stages) in optimiser steps,
so that an interrupted run resumes at the exact step: a checkpoint holds the stage, the step,
the trainable net's state, the optimiser's and the scheduler's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from ohq.errors import OhqError
from ohq.train import ddp
from ohq.train.methods import Method

LR, WARMUP = 5e-4, 0.0  # QAT defaults of `ohq.train.qat` and `ohq train --qat`; measured in docs/train.md
StepCallback = Callable[[int, int, float, float], None]  # (step, total, loss, running accuracy)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of QAT. `batch_size` is global: each of N ranks takes batch_size / N."""

    epochs: float = 1.0
    lr: float = LR
    batch_size: int = 128
    seed: int = 0
    weight_decay: float = 0.0
    warmup: float = WARMUP  # share of each stage's steps with a linear warm-up before the cosine decay

    def __post_init__(self) -> None:
        if not self.epochs > 0:
            raise OhqError(f"--epochs must be positive, got {self.epochs}")
        if self.batch_size < 1:
            raise OhqError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not self.lr > 0:
            raise OhqError(f"--lr must be positive, got {self.lr}")
        if not 0 <= self.warmup < 1:
            raise OhqError(f"--warmup must be in [0, 1), got {self.warmup}")


def lr_factor(step: int, span: int, warmup: int) -> float:
    """The learning rate's share at `step` of a `span`-step stage: linear from 1/(warmup+1) to 1
    over the first `warmup` steps, then a cosine decay to 0 at `span`."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    done = min(step - warmup, span - warmup) / max(span - warmup, 1)
    return 0.5 * (1 + math.cos(math.pi * done))


def loader(data: TensorDataset, cfg: TrainConfig) -> DataLoader:
    """Shuffled batches of this rank's shard (the same global batches for any number of ranks)."""
    world = ddp.world_size()
    if cfg.batch_size % world:
        raise OhqError(f"--batch-size {cfg.batch_size} does not split over {world} processes")
    sampler = DistributedSampler(data, num_replicas=world, rank=ddp.rank(), shuffle=True, seed=cfg.seed)
    return DataLoader(data, batch_size=cfg.batch_size // world, sampler=sampler, drop_last=True)


def steps_per_epoch(data: TensorDataset, cfg: TrainConfig) -> int:
    n = -(-len(data) // ddp.world_size())  # DistributedSampler pads every shard to this
    steps = n // (cfg.batch_size // ddp.world_size())
    if steps < 1:
        raise OhqError(f"the training split ({len(data)} samples) is smaller than one batch of {cfg.batch_size}")
    return steps


def run_steps(net: nn.Module, data: TensorDataset, cfg: TrainConfig, method: Method, *,
              first: int, last: int, stage_first: int, state: dict | None = None,
              on_step: StepCallback | None = None,
              on_checkpoint: Callable[[int, dict], None] | None = None) -> None:
    """Train `net` from global step `first` to `last` (this stage began at `stage_first`).

    `state` (from a checkpoint) restores the optimiser and scheduler. `on_checkpoint(step, state)`
    is called at every epoch boundary and at `last`; it must write only on rank 0.
    """
    model = ddp.wrap(net)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    span = max(last - stage_first, 1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, span, int(cfg.warmup * span)))
    if state is not None:
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
    per_epoch = steps_per_epoch(data, cfg)
    loss_fn = nn.CrossEntropyLoss()
    batches = loader(data, cfg)
    step, correct, seen = first, 0, 0
    net.train()
    while step < last:
        epoch = step // per_epoch
        batches.sampler.set_epoch(epoch)
        skip = step - epoch * per_epoch  # resuming mid-epoch: skip the batches already seen
        for i, (x, y) in enumerate(batches):
            if i < skip:
                continue
            if step >= last or i >= per_epoch:
                break
            method.on_step(net, step - stage_first, span)
            opt.zero_grad(set_to_none=True)
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            if on_step is not None:
                on_step(step, last, loss.item(), correct / seen)
            if on_checkpoint is not None and (step % per_epoch == 0 or step == last):
                on_checkpoint(step, {"net": net.state_dict(), "opt": opt.state_dict(),
                                     "sched": sched.state_dict()})
    method.on_step(net, span, span)
    net.eval()
