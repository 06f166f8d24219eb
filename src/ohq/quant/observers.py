"""Scale fitting ("observers"): min-max, percentile and MSE-optimal, for weights and activations.

Weights: one scale S per output channel such that w ≈ S·level (level normalised to [-1, 1]).
Activations: one range [lo, hi] per tensor (always containing 0), turned by `act_qparams` into the
asymmetric unsigned quantizer q = clamp(round(x/s) + z, 0, 2^b - 1) of docs/design.md (z = 0 after a
ReLU, so such tensors are plain unsigned integers).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ohq.quant._registry import register_observer
from ohq.quant.scheme import Scheme

PERCENTILE = 0.999  # share of |values| kept inside the range by the percentile observer
# Clip ratios tried by "mse": a/256 with a odd (0.30 … 0.98), and 1. Why odd numerators: two
# quantizers of one tensor (8-bit min-max and b-bit MSE, e.g. a ReLU6 range [0, 6] at 8 and 4 bits, or
# an 8-bit tensor requantized at a 4-bit layer's input) have scales s_8 = R/255 and s_b = r·R/(2^b - 1),
# so requantizing code q gives q·(2^b - 1)/(255·r). With r = a/256 and a odd this is never n + 1/2
# (2·q·256·(2^b - 1) is even, a·255·(2n + 1) odd) and stays ≥ 1/(2·255·a) away from every tie; with
# even numerators (the former 0.30, 0.32, … grid) it hits exact ties, which ohq (round half up) and
# float32 runtimes (round half to even after float32 error) break differently (docs/export.md).
MSE_GRID = torch.tensor([a / 256 for a in range(77, 256, 6)] + [1.0], dtype=torch.float64)
_TINY = 1e-12


def act_qparams(lo: float, hi: float, bits: int, po2: bool = False) -> tuple[float, int]:
    """(scale, zero point) of the unsigned b-bit quantizer covering [lo, hi] ∪ {0}.

    The scale is rounded to float32 so that it is the same number in every dtype ohq uses;
    `po2` rounds it up to a power of two (quant/po2.py).
    """
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    qmax = (1 << bits) - 1
    scale = (hi - lo) / qmax
    if not scale > _TINY:
        return 1.0, 0
    if po2:
        from ohq.quant.po2 import po2_act

        return po2_act(lo, hi, scale, bits)
    scale = float(np.float32(scale))  # round to nearest, as torch's cast (a tensor per call cost 6 µs)
    zero = int(min(max(round(-lo / scale), 0), qmax))
    return scale, zero


def fake_act(x: Tensor, scale: float, zero: int, bits: int) -> Tensor:
    """x quantized and dequantized by the activation quantizer (float64 helper for fitting)."""
    q = torch.clamp(torch.round(x / scale) + zero, 0, (1 << bits) - 1)
    return (q - zero) * scale


class Observer:
    """Base: subclasses set `name` and implement the two fits."""

    name = ""
    needs_samples = True  # activations: whether the fit needs the value distribution, not just min/max

    def for_bits(self, bits: int, weights: bool) -> Observer:
        """The observer that actually fits at `bits` (itself; `auto` picks one per bit-width)."""
        return self

    def weight_scale(self, w: Tensor, scheme: Scheme, bits: int) -> Tensor:
        raise NotImplementedError

    def act_range(self, x: Tensor, bits: int) -> tuple[float, float]:
        raise NotImplementedError


def _minmax_scale(w: Tensor, scheme: Scheme, bits: int) -> Tensor:
    top = w.abs().amax(dim=1) if w.shape[1] else torch.zeros(w.shape[0], dtype=w.dtype)
    return (top / scheme.max_positive(bits)).clamp_min(_TINY)


@register_observer("minmax")
class MinMax(Observer):
    """Cover the whole observed range: max|w| per row, [min, max] per activation tensor."""

    needs_samples = False

    def weight_scale(self, w: Tensor, scheme: Scheme, bits: int) -> Tensor:
        return _minmax_scale(w, scheme, bits)

    def act_range(self, x: Tensor, bits: int) -> tuple[float, float]:
        return float(x.min()), float(x.max())


@register_observer("percentile")
class Percentile(Observer):
    """Clip to the 99.9th percentile of |w| per row; to the 0.1/99.9 percentiles of activations."""


    def weight_scale(self, w: Tensor, scheme: Scheme, bits: int) -> Tensor:
        top = torch.quantile(w.abs(), PERCENTILE, dim=1)
        return (top / scheme.max_positive(bits)).clamp_min(_TINY)

    def act_range(self, x: Tensor, bits: int) -> tuple[float, float]:
        x = x.to(torch.float64)
        return float(torch.quantile(x, 1 - PERCENTILE)), float(torch.quantile(x, PERCENTILE))


@register_observer("mse")
class MSE(Observer):
    """Shrink the min-max range by the ratio (of `MSE_GRID`) with the least squared error."""


    def weight_scale(self, w: Tensor, scheme: Scheme, bits: int) -> Tensor:
        base = _minmax_scale(w, scheme, bits)
        best, best_err = base.clone(), torch.full_like(base, float("inf"))
        for ratio in MSE_GRID:
            scale = base * ratio
            codes = scheme.project(w / scale[:, None], bits)
            err = (w - codes * (scale * 2.0 ** -scheme.shift(bits))[:, None]).pow(2).sum(dim=1)
            better = err < best_err
            best, best_err = torch.where(better, scale, best), torch.where(better, err, best_err)
        return best

    def act_range(self, x: Tensor, bits: int) -> tuple[float, float]:
        a = x.to(torch.float64).contiguous().numpy().reshape(-1)
        lo, hi = min(float(a.min()), 0.0), max(float(a.max()), 0.0)
        n, a = max(a.size, 1), a[a != 0]  # zeros (ReLU's) quantize exactly at every ratio: skip them
        grid = MSE_GRID.tolist()
        best, best_err, buf = (lo, hi), float("inf"), np.empty_like(a)
        for j in _shortlist(a, lo, hi, bits, grid):  # grid order: ties go to the first, as a full scan
            err = _squared_error(a, lo * grid[j], hi * grid[j], bits, buf) / n
            if err < best_err:
                best, best_err = (lo * grid[j], hi * grid[j]), err
        return best


# A float32 estimate of every ratio's error is within ~1e-5 of the float64 one (the values are float32
# already); the ratios within SCREEN_TOL of the smallest estimate are evaluated exactly, so the pick is
# the full float64 scan's, at about half its cost (it is the default below 8 bits: every tensor pays it).
SCREEN_TOL = 1e-3


def _squared_error(a: np.ndarray, lo: float, hi: float, bits: int, buf: np.ndarray) -> float:
    """Σ (fake_act(a) − a)² for the b-bit quantizer of [lo, hi], in place on `buf` (a's dtype).
    fake_act's arithmetic on one numpy buffer: ~10x faster than torch temporaries."""
    scale, zero = act_qparams(lo, hi, bits)
    np.divide(a, a.dtype.type(scale), out=buf)
    np.round(buf, out=buf)  # half to even, as torch.round
    np.clip(buf, -zero, (1 << bits) - 1 - zero, out=buf)  # = clip(q + zero, 0, qmax) - zero: exact
    buf *= a.dtype.type(scale)
    buf -= a
    return float(np.dot(buf, buf))


def _shortlist(a: np.ndarray, lo: float, hi: float, bits: int, grid: list[float]) -> np.ndarray:
    """Indices of the clip ratios whose float32 error estimate is within SCREEN_TOL of the least."""
    a32 = a.astype(np.float32)
    buf = np.empty_like(a32)
    est = np.array([_squared_error(a32, lo * r, hi * r, bits, buf) for r in grid])
    return np.flatnonzero(est <= est.min() * (1 + SCREEN_TOL))


# Measured defaults (docs/quant.md, "Observer defaults"): below 8 bits min-max activation ranges
# are set by rare outliers (mnist_cnn W8A3: 50.2 % min-max, 98.6 % MSE); at 8 bits all tie.
AUTO_ACT = {8: "minmax", 16: "minmax"}  # a_bits → observer; other bit-widths: "mse"
AUTO_WEIGHT: dict[int, str] = {}  # w_bits → observer; other bit-widths: "minmax"


@register_observer("auto")
class Auto(Observer):
    """The measured default per bit-width: activations MSE below 8 bits, min-max at 8 and 16;
    weights min-max (no other observer won at every bit-width on every model)."""

    def for_bits(self, bits: int, weights: bool) -> Observer:
        from ohq.quant._registry import get_observer

        table, other = (AUTO_WEIGHT, "minmax") if weights else (AUTO_ACT, "mse")
        return get_observer(table.get(int(bits), other))

    def weight_scale(self, w: Tensor, scheme: Scheme, bits: int) -> Tensor:
        return self.for_bits(bits, True).weight_scale(w, scheme, bits)

    def act_range(self, x: Tensor, bits: int) -> tuple[float, float]:
        return self.for_bits(bits, False).act_range(x, bits)
