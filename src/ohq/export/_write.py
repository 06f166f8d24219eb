"""Atomic output for the formats: one file (ohq.io.write_atomic) or a whole folder (temp + rename)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ohq.io import check_writable, write_atomic


def write_output(out: str | Path, kind: str, force: bool, write: Callable[[Path], dict]) -> dict:
    """Refuse an existing `out` without `force`; call `write(tmp)` and move the result onto `out`."""
    out = check_writable(out, force)
    if kind == "file":
        if out.is_dir():
            from ohq.errors import OhqError

            raise OhqError(f"{out} is a folder; this format writes one file")
        facts: dict = {}
        write_atomic(out, lambda p: facts.update(write(p)))
        return facts
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        facts = write(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink()
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return facts


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
