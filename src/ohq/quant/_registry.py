"""The scheme and observer registries: a name → handler dict each, filled by decorators.

>>> get_scheme("sp2").resource
<Resource.SHIFT_ADD: 'shift-add'>
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from ohq.errors import OhqError

if TYPE_CHECKING:
    from ohq.quant.observers import Observer
    from ohq.quant.scheme import Scheme

_SCHEMES: dict[str, Scheme] = {}
_OBSERVERS: dict[str, Observer] = {}
T = TypeVar("T")


def register_scheme(cls: type[T]) -> type[T]:
    """Class decorator: instantiate the scheme handler and register it under its `name`."""
    handler = cls()
    if handler.name in _SCHEMES:
        raise RuntimeError(f"scheme {handler.name!r} registered twice")
    _SCHEMES[handler.name] = handler
    return cls


def register_observer(cls: type[T]) -> type[T]:
    """Class decorator: instantiate the scale-fitting observer and register it under its `name`."""
    handler = cls()
    if handler.name in _OBSERVERS:
        raise RuntimeError(f"observer {handler.name!r} registered twice")
    _OBSERVERS[handler.name] = handler
    return cls


def get_scheme(name: str) -> Scheme:
    """The handler of number scheme `name`; OhqError naming the known schemes otherwise."""
    if name not in _SCHEMES:
        raise OhqError(f"unknown scheme {name!r}; known schemes: {', '.join(list_schemes())}")
    return _SCHEMES[name]


def list_schemes() -> list[str]:
    return sorted(_SCHEMES)


def get_observer(name: str) -> Observer:
    if name not in _OBSERVERS:
        raise OhqError(f"unknown observer {name!r}; known observers: {', '.join(list_observers())}")
    return _OBSERVERS[name]


def list_observers() -> list[str]:
    return sorted(_OBSERVERS)
