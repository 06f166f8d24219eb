"""The `ohq` command line (Typer + Rich). Each command lives in its own module of this package."""

from __future__ import annotations

import os
import sys
import tempfile
import traceback

from ohq.cli._common import app
from ohq.errors import OhqError

# Importing a command module registers its command on `app`.
from ohq.cli import graph  # noqa: E402,F401  isort: skip
from ohq.cli import train  # noqa: E402,F401  isort: skip
from ohq.cli import distill  # noqa: E402,F401  isort: skip
from ohq.cli import analyze  # noqa: E402,F401  isort: skip
from ohq.cli import hw  # noqa: E402,F401  isort: skip
from ohq.cli import eval  # noqa: E402,F401  isort: skip
from ohq.cli import export  # noqa: E402,F401  isort: skip
from ohq.cli import quantize  # noqa: E402,F401  isort: skip
from ohq.cli import compare  # noqa: E402,F401  isort: skip


def main() -> None:
    """Entry point of the `ohq` console script, and the one error boundary of the CLI.

    A user error (OhqError) is one line on stderr and exit code 2 (click already exits 2 on usage
    errors). Any other exception is a bug in ohq: one line naming it, the traceback saved to a
    file for the bug report, exit code 1.
    """
    from ohq.threads import default_threads_env

    default_threads_env()  # before torch is imported; --threads on a command overrides it
    try:
        app()
    except OhqError as exc:
        # Plain write, not Rich: a user error must stay one line whatever the terminal width.
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001  the boundary: everything else is ohq's bug
        path = save_traceback(exc)
        message = " ".join(str(exc).split()) or "(no message)"
        sys.stderr.write(f"ohq bug: {type(exc).__name__}: {message} (traceback saved to {path})\n")
        sys.exit(1)


def save_traceback(exc: BaseException) -> str:
    """Write `exc`'s traceback to a fresh file in the temp folder; return its path."""
    fd, path = tempfile.mkstemp(prefix="ohq-bug-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.write(f"ohq {' '.join(sys.argv[1:])}\n\n")
        f.write("".join(traceback.format_exception(exc)))
    return path


__all__ = ["app", "main"]
