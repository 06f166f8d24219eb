"""The search and objective registries.

A search is a function `search(table, value, budgets, *, ties, pinned) -> Allocation` that picks
one candidate per layer (`ilp`: the exact one-hot ILP on HiGHS). An objective is a class whose
instance turns what allocation measured into the value matrix a search maximises.
"""

from __future__ import annotations

from typing import Any

from ohq.registry import Registry

SEARCHES: Registry[Any] = Registry("search", plural="searches")
OBJECTIVES: Registry[Any] = Registry("objective")
register_search = SEARCHES.register
register_objective = OBJECTIVES.register
