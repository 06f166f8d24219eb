"""Budget sweeps: ohq's accuracy–size and accuracy–latency fronts against uniform baselines.

One preparation (graph, data, cost table) and one sensitivity fit serve every point: the size
budget runs from all-low to all-high bits (ratios 0…1), the latency budget over the range the
device allows between those two plans. Each point is a real PTQ model, evaluated on the test split.

>>> points = sweep(Request("digits_cnn", data="digits", size_ratio=0.5), sizes=5, latencies=4)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ohq.errors import OhqError
from ohq.pipeline import Reporter, Request, prepare


def sweep(req: Request, sizes: int = 5, latencies: int = 4, reporter: Reporter | None = None) -> list[dict[str, Any]]:
    """Points {label, family, top1, size_mib, latency_ms} (+ budget): uniform low/high-bit baselines, then
    ohq at `sizes` size budgets and `latencies` latency budgets (infeasible ones are skipped)."""
    rep = reporter or Reporter()
    prep = prepare(req, rep)
    if prep.test is None:
        raise OhqError("a sweep measures top-1: give --data (or use a shipped model)")
    method = prep.sensitivity(req.sensitivity, rep)
    lo, hi = min(req.bits), max(req.bits)
    act = (lambda b: b) if req.a_bits is None else (lambda b: req.a_bits)  # noqa: E731
    points = []
    for b in (lo, hi):
        net = prep.quantize(prep.plan(b))
        points.append(_point(f"uniform W{b}A{act(b)}", "uniform", prep.top1(net), prep.totals(b)))
    budgets = [("size", {"size_mib": prep.table.size_from_ratio(float(r), lo, hi)}, req.objective)
               for r in np.linspace(0, 1, sizes)] if sizes else []
    lat_lo, lat_hi = points[0]["latency_ms"], points[1]["latency_ms"]
    if latencies:  # latency budgets from the low-bit plan's latency to the high-bit plan's
        budgets += [("latency", {"latency_ms": float(t)}, "min-sensitivity")
                    for t in np.linspace(min(lat_lo, lat_hi), max(lat_lo, lat_hi), latencies)]
    rep.stage("sweep", len(budgets))
    for i, (family, budget, objective) in enumerate(budgets):
        if family == "latency" or objective == "min-sensitivity":
            objective = "min-sensitivity"  # the paper's objective needs a size budget
        try:
            alloc, _ = prep.allocate(method, budget, objective=objective)
        except OhqError:  # a budget no plan meets: not a point
            rep.advance(i + 1, len(budgets))
            continue
        choice = alloc.choice or alloc.bits  # a config per layer: its scheme as well as its bits
        net = prep.quantize(prep.plan(choice))
        key, value = next(iter(budget.items()))
        label = f"ohq {key.split('_')[0]} ≤ {value:.3g}"
        points.append(_point(label, f"ohq {family}", prep.top1(net), prep.totals(choice)) | {"budget": value})
        rep.advance(i + 1, len(budgets), label)
    rep.end()
    return points


def _point(label: str, family: str, top1: float | None, totals: dict[str, float]) -> dict[str, Any]:
    return {"label": label, "family": family, "top1": top1, "size_mib": totals["size_mib"],
            "latency_ms": totals["latency_ms"]}
