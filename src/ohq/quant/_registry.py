"""The scheme and observer registries: a handler instance per name.

>>> get_scheme("sp2").resource
<Resource.SHIFT_ADD: 'shift-add'>
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ohq.registry import Registry

if TYPE_CHECKING:
    from ohq.quant.observers import Observer
    from ohq.quant.scheme import Scheme

SCHEMES: Registry[Scheme] = Registry("scheme", instantiate=True)
OBSERVERS: Registry[Observer] = Registry("observer", instantiate=True)
register_scheme = SCHEMES.register
register_observer = OBSERVERS.register


def get_scheme(name: str) -> Scheme:
    """The handler of number scheme `name`; OhqError naming the known schemes otherwise."""
    return SCHEMES.get(name)


def list_schemes() -> list[str]:
    return SCHEMES.names()


def get_observer(name: str) -> Observer:
    return OBSERVERS.get(name)


def list_observers() -> list[str]:
    return OBSERVERS.names()


__all__: list[Any] = ["OBSERVERS", "SCHEMES", "get_observer", "get_scheme", "list_observers",
                      "list_schemes", "register_observer", "register_scheme"]
