"""Budgets as typed objects: each names the cost-table metric it bounds and its limit.

>>> Size(ratio=0.5).metric, Latency(ms=2.0).limit(None)
('size_mib', 2.0)
"""

from __future__ import annotations

from dataclasses import dataclass

from ohq.errors import BudgetError
from ohq.search.ilp import CostTable


@dataclass(frozen=True)
class Size:
    """MiB of weights: `mib` directly, or the paper's `ratio` r: S_low + r·(S_high − S_low)."""

    mib: float | None = None
    ratio: float | None = None
    metric = "size_mib"

    def __post_init__(self) -> None:
        if (self.mib is None) == (self.ratio is None):
            raise BudgetError("give a size budget as either mib or ratio (--size-mib or --size-ratio), not both")

    def limit(self, table: CostTable) -> float:
        if self.mib is not None:
            return float(self.mib)
        return table.size_from_ratio(self.ratio, min(table.bits), max(table.bits))


@dataclass(frozen=True)
class Latency:
    """Modelled latency of one inference, in ms."""

    ms: float
    metric = "latency_ms"

    def limit(self, table: CostTable | None) -> float:
        return float(self.ms)


@dataclass(frozen=True)
class Energy:
    """Modelled energy of one inference, in mJ."""

    mj: float
    metric = "energy_mj"

    def limit(self, table: CostTable | None) -> float:
        return float(self.mj)


@dataclass(frozen=True)
class Bram18k:
    """18 Kb BRAM blocks holding all weights on chip."""

    blocks: float
    metric = "bram18k"

    def limit(self, table: CostTable | None) -> float:
        return float(self.blocks)


Budget = Size | Latency | Energy | Bram18k


def limits(budgets: Budget | list[Budget] | tuple[Budget, ...], table: CostTable) -> dict[str, float]:
    """{metric: limit} for the search; BudgetError when none is given or one metric twice."""
    items = list(budgets) if isinstance(budgets, list | tuple) else [budgets]
    if not items:
        raise BudgetError("give a budget: Size, Latency, Energy or Bram18k "
                          "(--size-mib, --size-ratio, --latency-ms, --energy-mj or --bram18k)")
    out: dict[str, float] = {}
    for b in items:
        if not isinstance(b, Size | Latency | Energy | Bram18k):
            raise BudgetError(f"a budget must be Size, Latency, Energy or Bram18k, got {type(b).__name__}")
        if b.metric in out:
            raise BudgetError(f"two budgets on {b.metric}")
        out[b.metric] = b.limit(table)
    return out
