"""Safe output: refuse to overwrite without `force`, and write atomically (temp file + rename).

Folders ohq writes (run directories, hls4ml/C exports) carry a marker file, `.ohq-run` or
`.ohq-export`, listing the files ohq put there. `--force` replaces such a folder only while it holds
nothing else; a folder with any other file is refused, naming the files in the way, and left alone.
"""

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
    """Raise OhqError if file `path` exists and `force` is not set; return it as a Path. With
    `force` only this one file is replaced (by `write_atomic`), never a folder."""
    path = Path(path)
    if path.is_dir():
        raise OhqError(f"{path} is a folder; give a file name (nothing was touched)")
    if path.exists() and not force:
        raise OhqError(f"{path} exists; pass --force to overwrite it")
    if path.parent and not path.parent.exists():
        raise OhqError(f"folder {path.parent} does not exist")
    probe_writable(path.parent)
    return path


def check_out_dir(path: str | Path, force: bool, kind: str = "run") -> Path:
    """Before long work: `check_dir_writable` where the parent exists, and a real write in the
    nearest existing folder (where `path` and its missing parents would be made)."""
    path = Path(path)
    if path.parent.exists():
        check_dir_writable(path, force, kind)
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


MARKER_VERSION = 1


def marker_name(kind: str) -> str:
    """The marker file of an ohq folder of `kind` ("run" or "export")."""
    return f".ohq-{kind}"


def _files(folder: Path) -> list[str]:
    """Every file (and empty folder) under `folder`, as sorted relative POSIX paths."""
    out = []
    for p in folder.rglob("*"):
        if p.is_file() or p.is_symlink() or (p.is_dir() and not any(p.iterdir())):
            out.append(p.relative_to(folder).as_posix())
    return sorted(out)


def _marked_files(folder: Path, kind: str) -> set[str] | None:
    """The files the `kind` marker in `folder` says ohq wrote, or None without a valid marker."""
    marker = folder / marker_name(kind)
    try:
        doc = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("type") != f"ohq.{kind}" or not isinstance(doc.get("files"), list):
        return None
    return {str(f) for f in doc["files"]} | {marker_name(kind)}


def foreign_files(folder: str | Path, kind: str) -> list[str]:
    """Files in `folder` that ohq did not write there (all of them, if it carries no `kind` marker)."""
    folder = Path(folder)
    mine = _marked_files(folder, kind) or set()
    return [f for f in _files(folder) if f not in mine]


def check_dir_writable(path: str | Path, force: bool, kind: str) -> Path:
    """Raise OhqError unless folder `path` may be (re)written: absent, empty, or, with `force`, a
    folder holding only what ohq wrote there. Cheap, so callers check before long work."""
    path = Path(path)
    if not path.parent.exists():
        raise OhqError(f"folder {path.parent} does not exist")
    if not path.exists() and not path.is_symlink():
        return path
    if not path.is_dir() or path.is_symlink():
        raise OhqError(f"{path} exists and is not a folder; choose another --out (nothing was touched)")
    if not any(path.iterdir()):
        return path
    in_way = foreign_files(path, kind)
    if in_way:
        shown = ", ".join(in_way[:5]) + (f" and {len(in_way) - 5} more" if len(in_way) > 5 else "")
        raise OhqError(
            f"{path} holds files ohq did not write ({shown}); --force replaces only a folder ohq "
            f"marked as its own ({marker_name(kind)}): move them or choose another --out (nothing was touched)"
        )
    if not force:
        raise OhqError(f"{path} exists; pass --force to replace it (nothing was touched)")
    return path


def write_dir_atomic(path: str | Path, fill: Callable[[Path], Any], *, kind: str = "export",
                     force: bool = False) -> Any:
    """Build a folder with `fill(tmp_dir)` beside `path`, mark it as ohq's (`kind` marker listing its
    files), then swap it into place; returns what `fill` returns. An existing `path` is replaced only
    if `check_dir_writable` allows it, checked before and again just before the swap."""
    path = check_dir_writable(path, force, kind)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        result = fill(tmp)
        marker = {"type": f"ohq.{kind}", "version": MARKER_VERSION, "files": _files(tmp)}
        (tmp / marker_name(kind)).write_text(json.dumps(marker, indent=2) + "\n")
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        check_dir_writable(path, force, kind)  # a file the user added meanwhile still stops us
        if path.exists():  # only ohq's own files are in it (checked): swap, then drop the old one
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def write_json(path: str | Path, doc: Any) -> Path:
    """Atomically write `doc` as indented JSON."""
    return write_atomic(path, lambda p: p.write_text(json.dumps(doc, indent=2) + "\n"))


def cache_root() -> Path:
    """Where ohq caches builds (Verilator harnesses, hls4ml compiles): $OHQ_CACHE or ~/.cache/ohq."""
    root = os.environ.get("OHQ_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "ohq"
