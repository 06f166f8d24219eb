"""Bit allocation that knows partial reconfiguration (LHA): a per-switch penalty in the ILP.

Beside the one-hot x[i, b], a switch variable s_i ∈ [0, 1] for each pair of consecutive layers is
forced to 1 when they differ (s_i ≥ x[i, b] − x[i+1, b] for every b). Then

    maximise   Σ value[i, b]·x[i, b] − π·Σ s_i
    subject to the budgets of `ohq.search.ilp`, where a latency budget reads
               Σ latency_pr[i, b]·x[i, b] + t_rc·Σ s_i ≤ B   (latency on specialised modules + swaps)

π prices one reconfiguration at the share of the objective that its time is of the whole
inference: π = weight · t_rc / Σ_i latency[i, b_max] · Σ_i max_b value[i, b]. This is a penalty
inside the ILP, not a grouping pass after it, so the allocation trades bits against swaps.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from ohq.errors import OhqError
from ohq.search.ilp import Allocation, CostTable, _explain_infeasible, _structure


def _widen(c: LinearConstraint, n_s: int) -> LinearConstraint:
    """A constraint on x alone, with zero columns for the switch variables."""
    a = np.atleast_2d(np.asarray(c.A.todense() if hasattr(c.A, "todense") else c.A))
    return LinearConstraint(np.hstack([a, np.zeros((a.shape[0], n_s))]), c.lb, c.ub)


def switch_penalty(table: CostTable, value: np.ndarray, reconfig_ms: float, weight: float = 1.0) -> float:
    """π: one reconfiguration's share of the inference, in objective units."""
    top = table.costs["latency_ms"][:, -1].sum()
    return float(weight * reconfig_ms / max(top, 1e-12) * np.abs(value).max(axis=1).sum())


def solve_pr(
    table: CostTable, value: np.ndarray, budgets: dict[str, float], reconfig_ms: float, *,
    penalty: float | None = None, ties=None, pinned=None, time_limit_s: float = 60.0,
) -> Allocation:
    """The ILP with switch variables; `extra` holds the switches and π."""
    n, nb = len(table.names), len(table.bits)
    value = np.asarray(value, dtype=float)
    pi = switch_penalty(table, value, reconfig_ms) if penalty is None else float(penalty)
    n_s = max(0, n - 1)
    width = n * nb + n_s
    pad = np.zeros(n_s)
    constraints = [_widen(c, n_s) for c in _structure(table, ties or [], pinned or {})]
    rows = []
    for i in range(n_s):
        for b in range(nb):
            row = np.zeros(width)
            row[n * nb + i], row[i * nb + b], row[(i + 1) * nb + b] = 1, -1, 1
            rows.append(row)
    if rows:
        constraints.append(LinearConstraint(np.array(rows), 0, np.inf))
    for metric, limit in budgets.items():
        if metric not in table.costs:
            raise OhqError(f"no {metric} costs to budget against; measured: {', '.join(table.costs)}")
        extra = np.full(n_s, reconfig_ms) if metric == "latency_ms" else pad
        constraints.append(LinearConstraint(np.concatenate([table.costs[metric].ravel(), extra]), -np.inf, limit))
    c = np.concatenate([-value.ravel(), np.full(n_s, pi)])
    integrality = np.concatenate([np.ones(n * nb), np.zeros(n_s)])
    start = time.perf_counter()
    res = milp(c, constraints=constraints, integrality=integrality, bounds=Bounds(0, 1),
               options={"time_limit": time_limit_s})
    solve_ms = (time.perf_counter() - start) * 1e3
    if res.x is None:
        _explain_infeasible(table, {k: v for k, v in budgets.items() if k != "latency_ms"}, _structure(table, ties or [], pinned or {}))
        raise OhqError(f"the PR-aware allocation ILP failed: {res.message} (reconfigurations count "
                       f"{reconfig_ms:.3g} ms each against --latency-ms)")
    x = np.round(res.x[: n * nb]).reshape(n, nb).astype(bool)
    cols = np.argmax(x, axis=1)
    bits, choice = table.pick(cols)
    switches = int(sum(cols[i] != cols[i + 1] for i in range(n_s)))
    totals = {m: table.total(m, choice) for m in table.costs}
    totals["latency_ms"] = totals.get("latency_ms", 0.0) + switches * reconfig_ms
    obj = float(value[np.arange(n), cols].sum() - pi * switches)
    return Allocation(bits, totals, obj, solve_ms, {"switches": switches, "switch_penalty": pi}, choice)
