"""Model registry in the timm style: `@register_model("name")` on a builder, `create_model(name)`."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ohq.registry import Registry

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")
register_model = MODELS.register


def list_models() -> list[str]:
    """Names of every registered zoo model, sorted."""
    return MODELS.names()


def create_model(name: str, **kwargs) -> nn.Module:
    """Build zoo model `name` (untrained) with builder keyword arguments such as `num_classes`."""
    return MODELS.create(name, **kwargs)
