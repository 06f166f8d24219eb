"""Objectives: what the search maximises, registered by name (`OBJECTIVES`; STYLE 1, 6).

An objective is a small parameter object with `value(problem) -> (value, omegas)`: the value
matrix (layers × candidate bits) the search maximises, and Ω per layer (Eq. 10) for the report.

- `paper` (`Paper(beta, gamma)`): Eq. 11, b·(Ω_i + γ), with Ω from sensitivity, cycles and energy;
- `min-sensitivity` (`MinSensitivity()`): the least predicted damage, HAWQ-V3's choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from ohq.search._registry import register_objective
from ohq.search.omega import omega, paper_objective, sensitivity_penalty


@dataclass
class Problem:
    """What an objective may read: the model, its sensitivity, its per-layer hardware costs."""

    model: nn.Module
    names: list[str]
    bits: tuple[int, ...]  # candidate weight bit-widths, sorted
    scheme: str
    method: Any  # a fitted ohq.sensitivity method (scores_, and alpha/bits where it has them)
    costs: dict  # {layer: {bits: LayerCost}}

    @property
    def scores(self) -> np.ndarray:
        return np.asarray(self.method.scores_, dtype=float)

    def omegas(self, beta: float, gamma: float) -> np.ndarray:
        """Eq. 10 at the widest candidate (the cost each layer would have unquantized by OHQ)."""
        top = max(self.bits)
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

    def value(self, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
        omegas = problem.omegas(self.beta, self.gamma)
        return paper_objective(omegas, problem.bits, self.gamma), omegas


@register_objective("min-sensitivity")
@dataclass(frozen=True)
class MinSensitivity:
    """Minimise Σ ω_i·‖W_i − Q_b(W_i)‖²/‖ΔW_i‖² (β, γ only shape the Ω reported beside it)."""

    beta: float = 0.5
    gamma: float = 0.5
    needs_size_budget = False

    def value(self, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
        err, ref = relative_errors(problem)
        return -sensitivity_penalty(problem.scores, err, ref), problem.omegas(self.beta, self.gamma)


def relative_errors(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """‖W − Q_b(W)‖²/‖W‖² per layer and candidate, and the same for the perturbation ω measured."""
    from ohq.quant import QuantSpec, quantize_weight

    err = np.zeros((len(problem.names), len(problem.bits)))
    ref = np.zeros(len(problem.names))
    method_bits = getattr(problem.method, "bits", 8)
    for i, name in enumerate(problem.names):
        w = problem.model.get_submodule(name).weight.detach()
        norm = float(w.pow(2).sum()) or 1.0

        def rel(b: int, w=w, norm=norm) -> float:
            return float((w - quantize_weight(w, QuantSpec(b, None, problem.scheme))).pow(2).sum()) / norm

        err[i] = [rel(b) for b in problem.bits]
        # MQE zeroes a fraction α of the weights: on average it removes α of their energy.
        ref[i] = getattr(problem.method, "alpha", None) or rel(method_bits)
    return err, ref
