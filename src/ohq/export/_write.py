"""Atomic output for the formats: one file or a whole folder (ohq.io)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ohq.errors import OhqError
from ohq.io import check_dir_writable, check_writable, write_atomic, write_dir_atomic


def write_output(out: str | Path, kind: str, force: bool, write: Callable[[Path], dict]) -> dict:
    """Refuse an existing `out` without `force` (a folder: unless it holds only ohq's own export);
    call `write(tmp)` and move the result onto `out`."""
    if kind != "file":
        return write_dir_atomic(check_dir_writable(out, force, "export"), write, kind="export", force=force)
    if Path(out).is_dir():
        raise OhqError(f"{out} is a folder; this format writes one file")
    out = check_writable(out, force)
    facts: dict = {}
    write_atomic(out, lambda p: facts.update(write(p)))
    return facts
