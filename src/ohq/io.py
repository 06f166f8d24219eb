"""Safe output: refuse to overwrite without `force`, and write atomically (temp file + rename)."""

from __future__ import annotations

import json
import os
import shutil
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
    probe_writable(path.parent)
    return path


def check_out_dir(path: str | Path, force: bool) -> Path:
    """Before long work: refuse an existing `path` without `force`, a non-folder in the way, and a
    place where no folder can be made (its nearest existing parent is tried for real)."""
    path = Path(path)
    if path.exists() and not force:
        raise OhqError(f"{path} exists; pass --force to replace it (nothing was touched)")
    if path.exists() and not path.is_dir():
        raise OhqError(f"{path} exists and is not a directory")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OhqError(f"cannot create {path}: {parent} is not a folder")
    probe_writable(parent)
    return path


def probe_writable(folder: Path) -> None:
    """Create and remove a temporary file in `folder`: permissions alone lie (root, /proc, read-only mounts)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".ohq-probe-", dir=folder)
    except OSError as exc:
        raise OhqError(f"cannot write in {folder}: {exc.strerror or exc}") from exc
    os.close(fd)
    os.unlink(tmp)


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


def write_dir_atomic(path: str | Path, fill: Callable[[Path], Any]) -> Any:
    """Build a folder with `fill(tmp_dir)` beside `path`, then swap it into place (replacing an
    existing folder or file only at the very end); returns what `fill` returns."""
    path = Path(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        result = fill(tmp)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink()
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def write_json(path: str | Path, doc: Any) -> Path:
    """Atomically write `doc` as indented JSON."""
    return write_atomic(path, lambda p: p.write_text(json.dumps(doc, indent=2) + "\n"))
