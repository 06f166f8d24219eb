"""Safe output: refuse to overwrite without `force`, and write atomically (temp file + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ohq.errors import OhqError


def check_writable(path: str | Path, force: bool) -> Path:
    """Raise OhqError if `path` exists and `force` is not set; return it as a Path."""
    path = Path(path)
    if path.exists() and not force:
        raise OhqError(f"{path} exists; pass --force to overwrite it")
    if path.parent and not path.parent.exists():
        raise OhqError(f"folder {path.parent} does not exist")
    return path


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` then rename onto `path`, so a crash never leaves half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | Path, doc: Any) -> Path:
    """Atomically write `doc` as indented JSON."""
    return write_atomic(path, lambda p: p.write_text(json.dumps(doc, indent=2) + "\n"))
