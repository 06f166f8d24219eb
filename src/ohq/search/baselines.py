"""Reference allocations that use no sensitivity: seeded random ones and largest-layers-first.

Both fill the size budget the way a person would: no upgrade that still fits is left undone.

>>> import numpy as np
>>> from ohq.search import CostTable
>>> t = CostTable(["a", "b"], (4, 8), {"size_mib": np.array([[1., 2.], [3., 6.]])})
>>> largest_first(t, 6.0)
{'a': 8, 'b': 4}
"""

from __future__ import annotations

import numpy as np

from ohq.errors import OhqError
from ohq.search.ilp import CostTable


def _size(table: CostTable, cols: np.ndarray) -> float:
    return float(table.costs["size_mib"][np.arange(len(cols)), cols].sum())


def _check(table: CostTable, limit: float) -> np.ndarray:
    if table.mixed or list(table.bits) != sorted(set(table.bits)):
        raise OhqError("the random and largest-first baselines step through one scheme's bit-widths; "
                       f"these candidates mix schemes ({', '.join(map(str, table.keys))})")
    cols = np.zeros(len(table.names), dtype=int)
    if _size(table, cols) > limit + 1e-12:
        raise OhqError(f"the size budget {limit:.6g} MiB is below the all-{table.bits[0]}-bit size "
                       f"{_size(table, cols):.6g} MiB")
    return cols


def random_allocation(table: CostTable, limit: float, seed: int) -> dict[str, int]:
    """Start every layer at the lowest bits, then raise seeded random layers by one step while the
    size budget allows, until no single step fits (the budget is filled)."""
    cols = _check(table, limit)
    rng = np.random.default_rng(seed)
    size = table.costs["size_mib"]
    while True:
        used = _size(table, cols)
        room = [i for i in range(len(cols)) if cols[i] + 1 < len(table.bits)
                and used - size[i, cols[i]] + size[i, cols[i] + 1] <= limit + 1e-12]
        if not room:
            return {n: table.bits[c] for n, c in zip(table.names, cols, strict=True)}
        cols[rng.choice(room)] += 1


def largest_first(table: CostTable, limit: float) -> dict[str, int]:
    """Start every layer at the highest bits and lower the largest layer (most MiB at its present
    bits) one step at a time until the budget holds; then raise back what fits, smallest first."""
    cols = np.full(len(table.names), len(table.bits) - 1)
    _check(table, limit)
    size = table.costs["size_mib"]
    while _size(table, cols) > limit + 1e-12:
        current = np.where(cols > 0, size[np.arange(len(cols)), cols], -1.0)
        cols[int(np.argmax(current))] -= 1
    for i in np.argsort(size[:, -1], kind="stable"):
        while cols[i] + 1 < len(table.bits):
            cols[i] += 1
            if _size(table, cols) > limit + 1e-12:
                cols[i] -= 1
                break
    return {n: table.bits[c] for n, c in zip(table.names, cols, strict=True)}
