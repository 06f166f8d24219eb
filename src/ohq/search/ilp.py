"""Bit allocation as a mixed-integer linear program, solved by HiGHS (`scipy.optimize.milp`).

One-hot variables x[i, b] = 1 when layer i gets candidate b: a bit-width, or a scheme config
(`FixedPoint(4)`, `SP2(4)`), so one solve picks each layer's scheme as well as its bits. Any
candidate set, any additive budget (size, latency, energy, on-chip BRAM), layers tied to one
candidate, and pinned layers all become linear constraints:

    maximise    Σ_i Σ_b value[i, b] · x[i, b]
    subject to  Σ_b x[i, b] = 1                       (one bit-width per layer)
                Σ_i Σ_b cost_m[i, b] · x[i, b] ≤ B_m  (each budget m)
                x[i, b] = x[j, b]                     (tied layers)
                x[i, b*] = 1                          (pinned layers)

>>> import numpy as np
>>> table = CostTable(["a", "b"], (4, 8), {"size_mib": np.array([[1., 2.], [1., 2.]])})
>>> solve(table, np.array([[4., 8.], [0., 0.]]), {"size_mib": 3.0}).bits
{'a': 8, 'b': 4}
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from ohq.errors import BudgetError, OhqError
from ohq.search._registry import register_search

METRICS = {"size_mib": "MiB", "latency_ms": "ms", "energy_mj": "mJ", "bram18k": "BRAM18K"}


@dataclass
class CostTable:
    """Per-layer, per-candidate costs: `costs[metric]` is an (L, C) array for layers × candidates.

    candidates: one per column, a scheme config (`FixedPoint(4)`, `SP2(4)`, …) or a plain
    bit-width (every column in one scheme). `bits` gives each column's weight bits; `keys` names
    the columns: their bits where those tell them apart, else labels such as 'sp2:4'.
    """

    names: list[str]
    candidates: tuple
    costs: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        self.candidates = tuple(self.candidates)
        if len(set(self.candidates)) != len(self.candidates):
            raise OhqError(f"the candidates must be distinct, got {self.candidates}")
        shape = (len(self.names), len(self.candidates))
        for metric, array in self.costs.items():
            if metric not in METRICS:
                raise OhqError(f"unknown budget metric {metric!r}; use {', '.join(METRICS)}")
            if np.shape(array) != shape:
                raise OhqError(f"cost table {metric!r} has shape {np.shape(array)}, expected {shape}")

    @property
    def bits(self) -> tuple[int, ...]:
        """The weight bits of each column."""
        return tuple(int(getattr(c, "bits", c)) for c in self.candidates)

    @property
    def schemes(self) -> tuple[str | None, ...]:
        """The scheme of each column (None: a plain bit-width, the run's one scheme)."""
        return tuple(getattr(c, "scheme", None) for c in self.candidates)

    @property
    def mixed(self) -> bool:
        """True when the columns do not all share one scheme (one search picks schemes too)."""
        return len(set(self.schemes)) > 1

    @property
    def keys(self) -> tuple:
        """Column names: the bits where they are distinct (one scheme), else 'scheme:bits' labels."""
        bits = self.bits
        return bits if len(set(bits)) == len(bits) else tuple(c.label for c in self.candidates)

    def column(self, key) -> int:
        """The column of a candidate, a key, or a bit-width that names one column only."""
        for seq in (self.candidates, self.keys):
            if key in seq:
                return seq.index(key)
        hits = [j for j, b in enumerate(self.bits) if b == key]
        if len(hits) == 1:
            return hits[0]
        shown = ", ".join(map(str, self.keys))
        raise BudgetError(f"{key!r} does not name one candidate ({'several' if hits else 'none'} of: {shown})")

    def pick(self, cols) -> tuple[dict[str, int], dict]:
        """(bits per layer, candidate per layer) for one column index per layer."""
        cols = [int(c) for c in cols]
        bits = {n: self.bits[c] for n, c in zip(self.names, cols, strict=True)}
        return bits, {n: self.candidates[c] for n, c in zip(self.names, cols, strict=True)}

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise OhqError(f"layer {name!r} is not in the model; layers: {', '.join(self.names)}") from None

    def total(self, metric: str, choice: dict) -> float:
        """The metric summed over layers, for a candidate (or key, or bit-width) per layer."""
        cols = [self.column(choice[n]) for n in self.names]
        return float(self.costs[metric][np.arange(len(self.names)), cols].sum())

    def uniform_total(self, metric: str, b) -> float:
        """The metric when every layer has candidate (or key) `b` (S_b for size)."""
        return float(self.costs[metric][:, self.column(b)].sum())

    def size_from_ratio(self, ratio: float, low: int = 4, high: int = 8) -> float:
        """The paper's size limit S_low + r·(S_high − S_low) (Table 3), in MiB."""
        if not 0 <= ratio <= 1:
            raise BudgetError(f"--size-ratio must lie in [0, 1], got {ratio}")
        for b in (low, high):
            if b not in self.bits:
                raise BudgetError(f"--size-ratio needs {low} and {high} among the candidate bits {self.bits}")
        # size depends on the bits alone, so any column with b bits gives S_b
        size = self.costs["size_mib"]
        s_low, s_high = (float(size[:, self.bits.index(b)].sum()) for b in (low, high))
        return s_low + ratio * (s_high - s_low)


@dataclass
class Allocation:
    """The solver's answer: bits per layer, the totals it reaches, and how long HiGHS took.

    `choice`: the candidate per layer (a scheme config where the table's columns are configs);
    empty where a search returns bits only (one scheme)."""

    bits: dict[str, int]
    totals: dict[str, float]
    objective: float
    solve_ms: float
    extra: dict = field(default_factory=dict)
    choice: dict = field(default_factory=dict)


@register_search("ilp")
def solve(
    table: CostTable,
    value: np.ndarray,
    budgets: dict[str, float],
    *,
    ties: list[list[str]] | None = None,
    pinned: dict[str, int] | None = None,
    time_limit_s: float = 60.0,
) -> Allocation:
    """Maximise Σ value[i, b]·x[i, b] under `budgets` ({metric: limit}); see the module docstring."""
    n_layers, n_bits = len(table.names), len(table.bits)
    value = np.asarray(value, dtype=float)
    if value.shape != (n_layers, n_bits):
        raise OhqError(f"objective has shape {value.shape}, expected {(n_layers, n_bits)}")
    for metric in budgets:
        if metric not in table.costs:
            raise BudgetError(f"no {metric} costs to budget against; measured: {', '.join(table.costs)}")
    structure = _structure(table, ties or [], pinned or {})
    rows = [LinearConstraint(table.costs[m].ravel(), -np.inf, limit) for m, limit in budgets.items()]
    start = time.perf_counter()
    result = milp(
        -value.ravel(),
        constraints=structure + rows,
        integrality=np.ones(n_layers * n_bits),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit_s},
    )
    solve_ms = (time.perf_counter() - start) * 1e3
    if result.x is None:
        _explain_infeasible(table, budgets, structure)
        raise OhqError(f"the bit-allocation ILP failed: {result.message}")
    x = np.round(result.x).reshape(n_layers, n_bits).astype(bool)
    bits, choice = table.pick(np.argmax(x, axis=1))
    totals = {m: table.total(m, choice) for m in table.costs}
    return Allocation(bits, totals, float(-result.fun), solve_ms, choice=choice)


def reachable(table: CostTable, metric: str, *, ties=None, pinned=None) -> tuple[float, float]:
    """Smallest and largest value of `metric` that any allocation (respecting ties/pins) reaches."""
    structure = _structure(table, ties or [], pinned or {})
    return _extremes(table, metric, structure)


def _extremes(table: CostTable, metric: str, structure) -> tuple[float, float]:
    n = len(table.names) * len(table.bits)
    out = []
    for sign in (1.0, -1.0):
        r = milp(sign * table.costs[metric].ravel(), constraints=structure, integrality=np.ones(n), bounds=Bounds(0, 1))
        if r.x is None:
            raise BudgetError("the tied and pinned layers contradict each other")
        out.append(sign * r.fun)
    return out[0], out[1]


def _structure(table: CostTable, ties: list[list[str]], pinned: dict[str, int]) -> list[LinearConstraint]:
    n_layers, n_bits = len(table.names), len(table.bits)
    one_hot = np.kron(np.eye(n_layers), np.ones(n_bits))
    constraints = [LinearConstraint(one_hot, 1, 1)]
    tie_rows = []
    for group in ties:
        first = table.index(group[0])
        for other in group[1:]:
            j = table.index(other)
            for b in range(n_bits):
                row = np.zeros(n_layers * n_bits)
                row[first * n_bits + b], row[j * n_bits + b] = 1, -1
                tie_rows.append(row)
    if tie_rows:
        constraints.append(LinearConstraint(np.array(tie_rows), 0, 0))
    for name, b in pinned.items():
        i = table.index(name)
        if b not in table.candidates and b not in table.bits:
            raise BudgetError(f"layer {name!r} is pinned to {b} bits, which is not a candidate {table.keys}")
        row = np.zeros(n_layers * n_bits)
        row[i * n_bits + table.column(b)] = 1
        constraints.append(LinearConstraint(row, 1, 1))
    return constraints


def _explain_infeasible(table: CostTable, budgets: dict[str, float], structure) -> None:
    for metric, limit in budgets.items():
        low, high = _extremes(table, metric, structure)
        if limit < low - 1e-12:
            unit = METRICS[metric]
            raise BudgetError(
                f"the {metric} budget {limit:.6g} {unit} cannot be met: reachable values run from "
                f"{low:.6g} to {high:.6g} {unit}"
            )
    if len(budgets) > 1:
        ranges = ", ".join(
            f"{m} {lo:.4g}–{hi:.4g}" for m in budgets for lo, hi in [_extremes(table, m, structure)]
        )
        raise BudgetError(f"no allocation meets all budgets {budgets} at once (each alone is reachable: {ranges})")
