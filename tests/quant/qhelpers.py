"""Helpers of the quantization tests: small zoo models whose BN statistics make folding matter."""

from __future__ import annotations

import inspect

import torch
from torch import nn

from ohq.models import create_model
from ohq.models._registry import MODELS

# width knobs that keep every zoo model small and fast at 1x32x32
SMALL = {
    "resnet18": {"width": 8},
    "resnet50": {"width": 8},
    "mobilenet_v2": {"width_mult": 0.25},
    "mobilenet_v3_large": {"width_mult": 0.25},
}


def randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)
    return model.eval()


def small_model(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    kwargs = {"num_classes": 10, "in_channels": 1, **SMALL.get(name, {})}
    if "small_input" in inspect.signature(_builder(name)).parameters:
        kwargs["small_input"] = True
    model = create_model(name, **kwargs)
    return randomize_bn(model, seed)


def _builder(name: str):
    return MODELS.get(name)
