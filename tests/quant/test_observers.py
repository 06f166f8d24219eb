"""The MSE activation observer: its float32 screen picks what a full float64 scan of the grid picks."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ohq.quant.observers import MSE, MSE_GRID, act_qparams, fake_act


def full_scan(x: torch.Tensor, bits: int) -> tuple[float, float]:
    """Every clip ratio of the grid in float64 by `fake_act`, the first least error wins."""
    a = x.to(torch.float64).reshape(-1)
    lo, hi = min(float(a.min()), 0.0), max(float(a.max()), 0.0)
    best, best_err = (lo, hi), float("inf")
    for ratio in MSE_GRID.tolist():
        scale, zero = act_qparams(lo * ratio, hi * ratio, bits)
        err = float((fake_act(a, scale, zero, bits) - a).pow(2).sum())
        if err < best_err:
            best, best_err = (lo * ratio, hi * ratio), err
    return best


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), bits=st.sampled_from([2, 3, 4, 5, 6]),
       kind=st.sampled_from(["relu", "heavy", "pixels", "signed"]), n=st.integers(1, 5000))
def test_mse_range_is_the_full_scans(seed, bits, kind, n):
    rng = np.random.default_rng(seed)
    if kind == "relu":  # half of them exact zeros, which the observer skips
        a = np.maximum(rng.normal(size=n), 0) * rng.uniform(0.01, 10)
    elif kind == "heavy":
        a = rng.standard_t(2, size=n)
    elif kind == "pixels":  # few distinct values: ties between ratios are likelier
        a = np.round(rng.uniform(-0.42, 2.8, size=n) * 255) / 255
    else:
        a = rng.normal(size=n) - rng.uniform(-1, 1)
    x = torch.from_numpy(a.astype(np.float32))
    assert MSE().act_range(x, bits) == full_scan(x, bits)
