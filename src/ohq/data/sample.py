"""The one sampler: a seeded random subset of a split (calibration, sensitivity, evaluation).

>>> from ohq.data import load_dataset
>>> x, y = sample(load_dataset("digits", "train"), 4, seed=0)
>>> x.shape, y.shape
(torch.Size([4, 1, 8, 8]), torch.Size([4]))
"""

from __future__ import annotations

import torch

from ohq.data.datasets import LabeledData


def sample_order(n_items: int, seed: int) -> torch.Tensor:
    """A seeded permutation of range(n_items): the first k of it are `sample(…, k, seed)`."""
    return torch.randperm(n_items, generator=torch.Generator().manual_seed(seed))


def sample(split: LabeledData, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) of `n` samples of `split` drawn without replacement (all of it when n ≥ its size);
    the same seed gives the same samples, and a smaller n a prefix of a larger one."""
    pick = sample_order(len(split), seed)[:n]
    return split.x[pick], split.y[pick]
