"""How many CPU threads torch uses. On a shared or small machine torch's default (one per core,
plus OpenMP's own pool) over-subscribes the cores and every command runs many times slower.

Default: `OMP_NUM_THREADS` when set (respected as it is), else min(usable cores, 4). `--threads N`
on every heavy command overrides both.
"""

from __future__ import annotations

import os

from ohq.errors import OhqError

MAX_DEFAULT = 4


def default_threads() -> int:
    """OMP_NUM_THREADS if set and valid, else min(cores this process may use, 4)."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT))


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to `threads` (None: `default_threads()`); return the number."""
    if threads is not None and threads < 1:
        raise OhqError(f"--threads must be at least 1, got {threads}")
    import torch

    n = default_threads() if threads is None else threads
    torch.set_num_threads(n)
    return n


def default_threads_env() -> None:
    """Set OMP_NUM_THREADS to `default_threads()` unless the user set it: torch reads it when it is
    first imported, so the CLI calls this before any command imports torch."""
    os.environ.setdefault("OMP_NUM_THREADS", str(default_threads()))
