"""Checks that data fits the model it is used with, before any work is spent on it."""

from __future__ import annotations

import torch
from torch import nn

from ohq.errors import MODEL_RUN_ERRORS, DataError, ModelError, blame_user


def check_labels(model: nn.Module, input_shape: tuple[int, ...], data) -> None:
    """DataError when `data`'s labels name classes the model's outputs cannot (top-1 would be
    silently meaningless); `data` is a LabeledData."""
    try:
        with torch.no_grad():
            out = model(torch.zeros((1, *input_shape[1:])))
    except MODEL_RUN_ERRORS as exc:
        raise blame_user(exc, ModelError, f"the model cannot take {data.name}'s inputs of shape "
                         f"{tuple(input_shape[1:])}") from exc
    n_out = out.shape[-1] if out.dim() >= 2 else 0
    top = int(data.y.max()) if len(data.y) else -1
    if n_out and top >= n_out:
        raise DataError(f"{data.name}: labels run up to {top} but the model has {n_out} outputs; "
                        "give data whose classes the model predicts")
