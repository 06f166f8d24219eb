"""Bit allocation: Ω (Eq. 10) and the one-hot ILP (Eq. 11 and budgeted variants) on HiGHS."""

from ohq.search._registry import OBJECTIVES, SEARCHES, register_objective, register_search
from ohq.search.baselines import largest_first, random_allocation
from ohq.search.budgets import Bram18k, Budget, Energy, Latency, Size, limits
from ohq.search.ilp import METRICS, Allocation, CostTable, reachable, solve
from ohq.search.objectives import MinSensitivity, Paper, Problem
from ohq.search.omega import minmax, omega, paper_objective, sensitivity_penalty

__all__ = ["METRICS", "Bram18k", "Budget", "Energy", "Latency", "MinSensitivity", "Paper", "Problem", "Size", "limits", "OBJECTIVES", "SEARCHES", "register_objective", "register_search", "Allocation", "CostTable", "largest_first", "random_allocation", "minmax", "omega", "paper_objective", "reachable", "sensitivity_penalty", "solve"]

from ohq.search import bo_alloc  # noqa: E402,F401  (registers the bo and random searches)
