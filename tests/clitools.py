"""Helpers for end-to-end CLI tests: run the real entry point, check one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys


def run_cli(*args: str, expect: int = 0) -> subprocess.CompletedProcess:
    """Run the real `ohq` console entry point in a subprocess (exercises exit codes and stderr)."""
    proc = subprocess.run(
        [sys.executable, "-c", "from ohq.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    return proc


def run_json(*args: str) -> dict:
    return json.loads(run_cli(*args, "--json").stdout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """A user error: exit code 2, one line on stderr, no traceback."""
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert proc.returncode == 2
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]

