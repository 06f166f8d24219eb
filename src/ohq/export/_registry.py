"""The export format registry: a name → handler dict filled by a class decorator.

A handler says what it writes (`kind`: "file" or "dir"), which layers it cannot express
(`check`, one OhqError naming the layer and why) and how it writes them (`write`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from ohq.errors import OhqError

T = TypeVar("T")
_FORMATS: dict[str, Format] = {}


class Format:
    """Base handler: subclasses set `name`, `kind`, `suffix`, `description` and implement `write`."""

    name: str = ""
    kind: str = "file"  # "file": `out` is one file; "dir": `out` is a folder of files
    suffix: str = ""
    description: str = ""

    def check(self, qmodel: Any) -> None:
        """Raise OhqError naming the first layer this format cannot express (and why)."""

    def write(self, qmodel: Any, out: Path, **opts: Any) -> dict[str, Any]:
        """Write `qmodel` to `out` (a fresh temporary path); return facts for the caller."""
        raise NotImplementedError


def register_format(cls: type[T]) -> type[T]:
    handler = cls()
    if handler.name in _FORMATS:
        raise RuntimeError(f"export format {handler.name!r} registered twice")
    _FORMATS[handler.name] = handler
    return cls


def get_format(name: str) -> Format:
    """The handler of export format `name`; OhqError naming the known formats otherwise."""
    if name not in _FORMATS:
        raise OhqError(f"unknown export format {name!r}; known formats: {', '.join(list_formats())}")
    return _FORMATS[name]


def list_formats() -> list[str]:
    return sorted(_FORMATS)
