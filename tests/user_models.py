"""User-style models for tests: loaded through `--model tests/user_models.py:function`."""

from __future__ import annotations

import torch
from torch import nn


class GroupedConcat(nn.Module):
    """Grouped convs, a concat and a residual add: the layer types a user model mixes."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.branch_a = nn.Conv2d(16, 16, 3, padding=1, groups=4)
        self.branch_b = nn.Conv2d(16, 16, 1)
        self.merge = nn.Conv2d(32, 16, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn(self.stem(x)))
        y = torch.cat([self.relu(self.branch_a(x)), self.relu(self.branch_b(x))], dim=1)
        x = x + self.merge(y)
        return self.head(self.flatten(self.pool(x)))


class DataDependent(nn.Module):
    """Control flow on tensor values: torch.fx cannot trace it, forward hooks must be used."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        if x.sum() > 0:
            x = x * 2
        return self.fc(x.mean(dim=(2, 3)))


class WithUnsupported(nn.Module):
    """A Conv1d and a LayerNorm: weights ohq does not quantize, which must be named in a warning."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.norm = nn.LayerNorm(26)
        self.conv1d = nn.Conv1d(4, 4, 3)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.conv(x))
        x = self.conv1d(x.flatten(2))
        return self.fc(x.mean(dim=2))


def grouped_concat() -> nn.Module:
    return GroupedConcat()


def data_dependent() -> nn.Module:
    return DataDependent()


def with_unsupported() -> nn.Module:
    return WithUnsupported()


def not_a_module() -> str:
    return "nope"


def broken() -> nn.Module:
    raise RuntimeError("cannot build")
