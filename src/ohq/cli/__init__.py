"""The `ohq` command line (Typer + Rich). Each command lives in its own module of this package."""

from __future__ import annotations

import sys

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
    """Entry point of the `ohq` console script: a user error is one line on stderr and exit code 2
    (click already exits 2 on usage errors)."""
    from ohq.threads import set_threads

    set_threads()  # a sane default before any work; --threads on a command overrides it
    try:
        app()
    except OhqError as exc:
        # Plain write, not Rich: a user error must stay one line whatever the terminal width.
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")
        sys.exit(2)


__all__ = ["app", "main"]
