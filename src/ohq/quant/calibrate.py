"""Activation statistics of the float (BN-folded) graph on calibration inputs.

Every floating tensor an fx node produces gets its min, max and — when an observer needs the
distribution (percentile, mse) — a random subsample of at most `SAMPLE` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, fx

from ohq.errors import MODEL_RUN_ERRORS, ModelError, OhqError, blame_user
from ohq.quant.weights import check_finite

SAMPLE = 1 << 18
CHUNK = 256


@dataclass
class Stats:
    lo: float = float("inf")
    hi: float = float("-inf")
    samples: list[Tensor] = field(default_factory=list)
    shape: tuple[int, ...] = ()
    ranges: dict[tuple, tuple[float, float]] = field(default_factory=dict)  # fitted ranges, memoised

    def values(self, limit: int | None = None) -> Tensor:
        """The subsample plus the exact extremes: min-max is then exact whether or not another
        quantizer of the plan made calibration keep samples (a W8A8 tensor's range must not
        depend on whether some other layer is at 2 bits). `limit`: at most about that many of the
        samples, evenly strided (they are a random pick already)."""
        ends = torch.tensor([self.lo, self.hi], dtype=torch.float64)
        if not self.samples:
            return ends
        kept = torch.cat(self.samples)
        if limit is not None and len(kept) > limit:
            kept = kept[:: -(-len(kept) // limit)]
        return torch.cat([kept, ends])

    def fit_range(self, observer, bits: int, limit: int | None = None) -> tuple[float, float]:
        """`observer.act_range` on `values(limit)`, computed once per (observer, bits, limit): the
        plans built from one calibration (qmqe's candidates, then the pipeline's plan) share it."""
        key = (observer.name, bits, limit)
        if key not in self.ranges:
            self.ranges[key] = observer.act_range(self.values(limit), bits)
        return self.ranges[key]


def check_calib(calib: object) -> Tensor:
    if not isinstance(calib, Tensor):
        raise OhqError(f"calibration data must be a float tensor batch, got {type(calib).__name__}")
    if calib.dim() == 0 or calib.shape[0] == 0 or calib.numel() == 0:
        raise OhqError("calibration data is empty; give at least one input sample")
    if not calib.is_floating_point():
        raise OhqError(f"calibration data must be floating point, got {calib.dtype}")
    check_finite(calib, "calibration data")
    return calib.to(torch.float32)


class _Recorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule, stats: dict[fx.Node, Stats], keep: bool, gen: torch.Generator):
        super().__init__(gm)
        self.stats, self.keep, self.gen = stats, keep, gen

    def run_node(self, n: fx.Node):
        out = super().run_node(n)
        if isinstance(out, Tensor) and out.is_floating_point():
            s = self.stats.setdefault(n, Stats())
            lo, hi = torch.aminmax(out.detach())
            s.lo, s.hi = min(s.lo, float(lo)), max(s.hi, float(hi))
            s.shape = tuple(out.shape[1:])
            if self.keep:
                flat = out.detach().reshape(-1)
                if flat.numel() > SAMPLE // 4:  # pick, then widen: 10x cheaper than widening all
                    pick = torch.randint(flat.numel(), (SAMPLE // 4,), generator=self.gen)
                    flat = flat.index_select(0, pick)  # = flat[pick], 3x faster
                s.samples.append(flat.to(torch.float64))
        return out


def calibrate(gm: fx.GraphModule, calib: Tensor, keep_samples: bool) -> dict[fx.Node, Stats]:
    """Run `gm` on `calib` in chunks, recording per-node statistics."""
    stats: dict[fx.Node, Stats] = {}
    gen = torch.Generator().manual_seed(0)
    rec = _Recorder(gm, stats, keep_samples, gen)
    with torch.no_grad():
        for start in range(0, calib.shape[0], CHUNK):
            try:
                rec.run(calib[start:start + CHUNK])
            except OhqError:
                raise
            except MODEL_RUN_ERRORS as exc:
                raise blame_user(exc, ModelError, "the model cannot run on calibration data of shape "
                                 f"{tuple(calib.shape)}") from exc
    for s in stats.values():
        if len(s.samples) > 4:
            allv = torch.cat(s.samples)
            s.samples = [allv[torch.randperm(allv.numel(), generator=gen)[:SAMPLE]]]
    bad = [n.name for n, s in stats.items() if not (abs(s.lo) < float("inf") and abs(s.hi) < float("inf"))]
    if bad:
        raise OhqError(f"the model produces NaN/Inf on the calibration data (at {bad[0]})")
    return stats
