"""Bit allocation: Ω (Eq. 10) and the one-hot ILP (Eq. 11 and budgeted variants) on HiGHS."""

from ohq.search._registry import OBJECTIVES, SEARCHES, register_objective, register_search
from ohq.search.ilp import METRICS, Allocation, CostTable, reachable, solve
from ohq.search.omega import minmax, omega, paper_objective, sensitivity_penalty

__all__ = ["METRICS", "OBJECTIVES", "SEARCHES", "register_objective", "register_search", "Allocation", "CostTable", "minmax", "omega", "paper_objective", "reachable", "sensitivity_penalty", "solve"]
