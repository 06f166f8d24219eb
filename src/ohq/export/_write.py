"""Atomic output for the formats: one file or a whole folder (ohq.io)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ohq.errors import OhqError
from ohq.io import check_writable, write_atomic, write_dir_atomic


def write_output(out: str | Path, kind: str, force: bool, write: Callable[[Path], dict]) -> dict:
    """Refuse an existing `out` without `force`; call `write(tmp)` and move the result onto `out`."""
    out = check_writable(out, force)
    if kind != "file":
        return write_dir_atomic(out, write)
    if out.is_dir():
        raise OhqError(f"{out} is a folder; this format writes one file")
    facts: dict = {}
    write_atomic(out, lambda p: facts.update(write(p)))
    return facts
