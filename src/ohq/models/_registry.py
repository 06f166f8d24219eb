"""Model registry in the timm style: `@register_model` on a builder, `create_model(name)` to build."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ohq.errors import OhqError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a model builder under its function name."""
    if fn.__name__ in _MODELS:
        raise RuntimeError(f"model {fn.__name__!r} registered twice")
    _MODELS[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """Names of every registered zoo model, sorted."""
    return sorted(_MODELS)


def create_model(name: str, **kwargs) -> nn.Module:
    """Build zoo model `name` (untrained) with builder keyword arguments such as `num_classes`."""
    if name not in _MODELS:
        raise OhqError(f"unknown model {name!r}; zoo models: {', '.join(list_models())}")
    return _MODELS[name](**kwargs)
