"""Distilled batches cached on disk, so that no stage or run distils the same batch twice.

Distillation is the slowest stage of a data-free run (ResNet-18 at 224: about 2 s of CPU per Adam
step on 32 images), and `ohq quantize`, `ohq compare` and repeated runs ask for the same batch.
The key is a SHA-256 of the model (its class, its printed structure and every tensor of its state
dict) and of every argument that changes the result; the file lives under
`$OHQ_CACHE/distill/<key>.npz` (default `~/.cache/ohq`). `OHQ_CACHE=off` disables the cache.

>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval()
>>> distill_key(net, 4, (1, 6, 6), steps=5) == distill_key(net, 4, (1, 6, 6), steps=5)
True
>>> distill_key(net, 4, (1, 6, 6), steps=5) == distill_key(net, 4, (1, 6, 6), steps=6)
False
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ohq.data.distill import DEFAULT_PLATEAU, DistilledData, Plateau, ProgressFn, distill_data

_VERSION = 1  # bump when distill_data's arithmetic changes: old files no longer match


def distill_key(model: nn.Module, n: int, shape: tuple[int, ...], *, steps: int, batch_size: int = 32,
                lr: float = 0.5, seed: int = 0, plateau: Plateau | None = None) -> str:
    """The cache key of one `distill_data` call (hex SHA-256)."""
    h = hashlib.sha256()
    args = (_VERSION, type(model).__qualname__, str(model), n, tuple(shape), steps, batch_size, lr, seed, plateau)
    h.update(repr(args).encode())
    for name, t in model.state_dict().items():
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()


def cache_dir() -> Path | None:
    """Where distilled batches are kept; None when `OHQ_CACHE=off`."""
    from ohq.io import cache_root

    if os.environ.get("OHQ_CACHE", "").lower() == "off":
        return None
    return cache_root() / "distill"


def cached_distill(model: nn.Module, n: int, shape: tuple[int, ...], *, steps: int, batch_size: int = 32,
                   lr: float = 0.5, seed: int = 0, plateau: Plateau | None = None,
                   callback: ProgressFn | None = None) -> tuple[DistilledData, bool]:
    """`distill_data(...)` through the disk cache; returns (data, whether it came from the cache)."""
    folder = cache_dir()
    key = distill_key(model, n, shape, steps=steps, batch_size=batch_size, lr=lr, seed=seed, plateau=plateau)
    path = None if folder is None else folder / f"{key}.npz"
    if path is not None and path.is_file():
        data = _read(path)
        if data is not None:
            return data, True
    data = distill_data(model, n, shape, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                        plateau=plateau, callback=callback)
    if path is not None:
        _write(path, data)
    return data, False


def _read(path: Path) -> DistilledData | None:
    try:
        with np.load(path, allow_pickle=False) as f:
            return DistilledData(torch.from_numpy(f["x"].copy()), float(f["loss_before"]),
                                 float(f["loss_after"]), int(f["steps"]))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):  # a damaged entry: distil again
        return None


def _write(path: Path, data: DistilledData) -> None:
    from ohq.io import write_atomic

    def save(p: Path) -> None:
        with p.open("wb") as f:  # a file object keeps numpy from appending ".npz"
            np.savez(f, x=data.x.numpy().astype(np.float32), loss_before=np.float64(data.loss_before),
                     loss_after=np.float64(data.loss_after), steps=np.int64(data.steps))

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, save)
    except OSError:  # a read-only cache only costs time, never the run
        pass


def distill_for(model: nn.Module, n: int, shape: tuple[int, ...], *, steps: int, seed: int = 0,
                callback: ProgressFn | None = None) -> tuple[DistilledData, str]:
    """The pipeline's distilled batch: batches of 32, lr 0.5, `DEFAULT_PLATEAU`, through the cache;
    returns (data, a few words on how it was made, for the run's data source)."""
    data, hit = cached_distill(model, n, shape, steps=steps, seed=seed, plateau=DEFAULT_PLATEAU, callback=callback)
    return data, "cached" if hit else f"{data.steps} Adam steps"
