"""Where a model will run and how its cost is measured: a device and a registered probe.

>>> FpgaModel("xc7z020")
Target(device='xc7z020', probe='fpga-model', options={})
>>> BoardFile("docs/examples/probe_small_cnn_xc7z020.csv").probe
'file'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """A device profile (name or alias) and a probe from `ohq.hw.PROBES`, with its options."""

    device: str = "xc7z020"
    probe: str = "fpga-model"
    options: dict[str, Any] = field(default_factory=dict)


def FpgaModel(device: str = "xc7z020") -> Target:  # noqa: N802  (reads as a type at call sites)
    """The cycle-level accelerator model (the OHQ paper appendix B) on `device`."""
    return Target(device, "fpga-model")


def HostCpu(device: str = "xc7z020", **options: Any) -> Target:  # noqa: N802
    """Each layer timed on this host's CPU (options: threads, warmup, repeats)."""
    return Target(device, "cpu", dict(options))


def BoardFile(path: str, device: str = "xc7z020") -> Target:  # noqa: N802
    """Per-layer figures measured on a board, read from a CSV/JSON probe file."""
    return Target(device, "file", {"path": path})
