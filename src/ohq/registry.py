"""One generic registry for every extension point: models, schemes, observers, probes,
sensitivity methods, objectives, searches, trainers and export formats.

A registry maps a short name to one registered object (a class, a builder function or a handler
instance). Every registry is decorated the same way, `@REGISTRY.register("name")`, and every
registry is listed in `REGISTRIES`, so tests loop over all of them without naming any entry.

>>> colours = Registry("colour")
>>> @colours.register("red")
... class Red:
...     pass
>>> colours.names(), colours.get("red").name
(['red'], 'red')
>>> colours.get("blue")
Traceback (most recent call last):
ohq.errors.OhqError: unknown colour 'blue'; known colours: red
>>> del REGISTRIES["colour"]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from ohq.errors import OhqError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → object. `instantiate=True` stores `cls()` (a stateless handler) instead of the class.

    kind: what an entry is, in error messages ("scheme", "export format").
    sort: list names sorted (True) or in registration order (False, e.g. probes: default first).
    """

    def __init__(self, kind: str, *, instantiate: bool = False, sort: bool = True, plural: str = "") -> None:
        if kind in REGISTRIES:
            raise RuntimeError(f"a registry of {kind!r} exists already")
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self.instantiate = instantiate
        self.sort = sort
        self._entries: dict[str, T] = {}
        REGISTRIES[kind] = self

    def register(self, name: str) -> Callable[[Any], Any]:
        """Decorator: register the decorated class or function under `name` (sets its `.name`)."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"register a {self.kind} with its name: @register({self.kind!r}-name)")

        def deco(obj: Any) -> Any:
            if name in self._entries:
                raise RuntimeError(f"{self.kind} {name!r} registered twice")
            if isinstance(obj, type):
                obj.name = name
            self._entries[name] = obj() if self.instantiate else obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """The entry registered as `name`; OhqError listing the known names otherwise."""
        if not isinstance(name, str) or name not in self._entries:
            raise OhqError(f"unknown {self.kind} {name!r}; known {self.plural}: {', '.join(self.names())}")
        return self._entries[name]

    def create(self, name: str, **options: Any) -> Any:
        """A new object from the class or builder registered as `name`, with its options."""
        return self.get(name)(**options)  # type: ignore[operator]

    def names(self) -> list[str]:
        return sorted(self._entries) if self.sort else list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._entries[n]) for n in self.names()]

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register a toy one clean up with this)."""
        self._entries.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"


REGISTRIES: dict[str, Registry[Any]] = {}


def all_registries() -> dict[str, Registry[Any]]:
    """Every registry ohq defines, filled (importing the packages registers their entries)."""
    import ohq.export  # noqa: F401
    import ohq.hw  # noqa: F401
    import ohq.models  # noqa: F401
    import ohq.quant  # noqa: F401
    import ohq.search  # noqa: F401
    import ohq.sensitivity  # noqa: F401
    import ohq.train._registry  # noqa: F401

    return dict(REGISTRIES)
