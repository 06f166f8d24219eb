"""Plain supervised training: AdamW with a one-cycle schedule. Used to make the shipped weights."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ohq.errors import OhqError


def fit(
    model: nn.Module,
    train: TensorDataset,
    epochs: int,
    *,
    seed: int = 0,
    lr: float = 3e-3,
    batch_size: int = 128,
    weight_decay: float = 5e-4,
    on_step: Callable[[int, int, float], None] | None = None,
) -> nn.Module:
    """Train `model` in place for `epochs` passes over `train`; `on_step(step, total, loss)` reports progress."""
    if epochs < 1:
        raise OhqError(f"--epochs must be at least 1, got {epochs}")
    if len(train) == 0:
        raise OhqError("the training split is empty")
    torch.manual_seed(seed)
    loader = DataLoader(
        train, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    total = epochs * len(loader)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    model.train()
    step = 0
    for _ in range(epochs):
        for x, y in loader:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if on_step is not None:
                on_step(step, total, loss.item())
    return model.eval()
