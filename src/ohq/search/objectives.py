"""Objectives: what the search maximises, registered by name (`OBJECTIVES`; STYLE 1, 6).

An objective is a small parameter object with `value(problem) -> (value, omegas)`: the value
matrix (layers × candidate bits) the search maximises, and Ω per layer (Eq. 10) for the report.

- `paper` (`Paper(beta, gamma)`): Eq. 11, b·(Ω_i + γ), with Ω from sensitivity, cycles and energy;
- `min-sensitivity` (`MinSensitivity()`): the least predicted damage Σ damage(i, b), HAWQ-V3's
  choice and ohq's default; damage comes from the sensitivity method (`method.damage(bits,
  scheme)`, per layer and candidate bit-width). Eq. 11 is linear in b, so with more than two
  candidates it picks the extremes; per-bit damage does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from ohq.search._registry import register_objective
from ohq.search.omega import omega, paper_objective


@dataclass
class Problem:
    """What an objective may read: the model, its sensitivity, its per-layer hardware costs."""

    model: nn.Module
    names: list[str]
    bits: tuple[int, ...]  # each column's weight bits
    scheme: str
    method: Any  # a fitted ohq.sensitivity method (scores_, and alpha/bits where it has them)
    costs: dict  # {layer: {column key: LayerCost}} (ohq.hw.table.allocation_table)
    candidates: tuple = ()  # one per column: scheme configs (empty: `bits` of `scheme`)
    keys: tuple = ()  # the cost table's column keys (empty: `bits`)

    def damage(self) -> np.ndarray:
        """(layers × candidates) damage from the method, each column in its own scheme."""
        from ohq.search.candidates import candidate_damage

        return candidate_damage(self.method, self.candidates or self.bits, self.scheme)

    @property
    def scores(self) -> np.ndarray:
        return np.asarray(self.method.scores_, dtype=float)

    def omegas(self, beta: float, gamma: float) -> np.ndarray:
        """Eq. 10 at the widest candidate (the cost each layer would have unquantized by OHQ)."""
        top = (self.keys or self.bits)[int(np.argmax(self.bits))]
        cycles = [self.costs[n][top].cycles["total"] for n in self.names]
        energy = [self.costs[n][top].energy_mj for n in self.names]
        return omega(self.scores, cycles, energy, beta, gamma)


@register_objective("paper")
@dataclass(frozen=True)
class Paper:
    """Eq. 11 with Eq. 10's Ω: β weighs sensitivity, γ cycles + energy. Needs a size budget."""

    beta: float = 0.5
    gamma: float = 0.5
    needs_size_budget = True
    compares_schemes = False  # b·(Ω + γ) scores bits only: blind to a candidate's scheme

    def value(self, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
        from ohq.sensitivity.damage import check_damage

        check_damage(problem.scores[:, None], problem.method.name)  # all zero or NaN: one clear line
        omegas = problem.omegas(self.beta, self.gamma)
        return paper_objective(omegas, problem.bits, self.gamma), omegas


@register_objective("min-sensitivity")
@dataclass(frozen=True)
class MinSensitivity:
    """Minimise Σ damage(i, b) (see ohq.sensitivity.damage; β, γ only shape the Ω reported beside it)."""

    beta: float = 0.5
    gamma: float = 0.5
    needs_size_budget = False
    compares_schemes = True

    def value(self, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
        damage = problem.damage()
        # a tie-break far below any measured difference: where damage is equal (e.g. 0), more bits
        # win, so budget that no damage reduction can use is still spent rather than left idle
        tie = 1e-9 * float(np.abs(damage).max()) * np.asarray(problem.bits, float) / max(problem.bits)
        return -damage + tie, problem.omegas(self.beta, self.gamma)
