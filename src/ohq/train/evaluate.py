"""Top-1 accuracy of a model on a labelled data set."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import TensorDataset


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits of `model` on every row of `x`, in batches (model put in eval mode)."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def top1(model: nn.Module | Callable[[torch.Tensor], torch.Tensor], data: TensorDataset,
         batch_size: int = 1000) -> float:
    """Fraction of samples whose arg-max logit is the label (`model`: a module or any callable)."""
    x, y = data.tensors[:2]
    correct = 0
    with torch.no_grad():
        if isinstance(model, nn.Module):
            model.eval()
        for i in range(0, len(x), batch_size):
            correct += (model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum().item()
    return correct / max(len(x), 1)
