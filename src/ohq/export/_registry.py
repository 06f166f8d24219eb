"""The export format registry: `@register_format("name")` on a `Format` handler class.

A handler says what it writes (`kind`: "file" or "dir"), which layers it cannot express
(`check`, one OhqError naming the layer and why) and how it writes them (`write`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ohq.errors import OhqError
from ohq.registry import Registry


class Format:
    """Base handler: subclasses set `name`, `kind`, `suffix`, `description` and implement `write`."""

    name: str = ""
    kind: str = "file"  # "file": `out` is one file; "dir": `out` is a folder of files
    suffix: str = ""
    description: str = ""
    requires: tuple[str, ...] = ()  # modules of the [export] extra this format imports when it writes

    def check_installed(self) -> None:
        """One-line OhqError naming the pip command when a module this format needs is missing."""
        missing = [m for m in self.requires if _missing(m)]
        if missing:
            raise OhqError(f"export format {self.name!r} needs {', '.join(missing)}: "
                           "pip install 'ohq[export]'")

    def check(self, qmodel: Any) -> None:
        """Raise OhqError naming the first layer this format cannot express (and why)."""

    def write(self, qmodel: Any, out: Path, **opts: Any) -> dict[str, Any]:
        """Write `qmodel` to `out` (a fresh temporary path); return facts for the caller."""
        raise NotImplementedError


FORMATS: Registry[Format] = Registry("export format", instantiate=True, plural="formats")
register_format = FORMATS.register


def get_format(name: str) -> Format:
    """The handler of export format `name`; OhqError naming the known formats otherwise."""
    return FORMATS.get(name)


def list_formats() -> list[str]:
    return FORMATS.names()


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # ValueError: a module blocked in sys.modules
        return True
