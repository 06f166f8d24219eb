"""Ω, the paper's per-layer score (the OHQ paper, Eq. 10), and per-bit-width sensitivity penalties.

Ω_i = β·ω̂_i − (γ/2)·(ĉ_i + ê_i), where ω̂, ĉ, ê are the sensitivity, clock cycles and energy of
layer i, each min–max scaled to [0, 1] across layers. A sensitive layer scores high (keep its bits);
an expensive layer scores low (cut its bits).
"""

from __future__ import annotations

import numpy as np


def minmax(values) -> np.ndarray:
    """Scale to [0, 1] across layers; a constant vector maps to zeros (it carries no preference)."""
    v = np.asarray(values, dtype=float)
    span = v.max() - v.min() if v.size else 0.0
    return (v - v.min()) / span if span > 0 else np.zeros_like(v)


def omega(sensitivity, cycles, energy, beta: float = 0.5, gamma: float = 0.5) -> np.ndarray:
    """Eq. 10: Ω_i = β·ω̂_i − (γ/2)(ĉ_i + ê_i) from per-layer sensitivity, cycles and energy."""
    return beta * minmax(sensitivity) - gamma / 2 * (minmax(cycles) + minmax(energy))


def paper_objective(omegas, bits, gamma: float = 0.5) -> np.ndarray:
    """Eq. 11's value matrix (layers × candidate bits): b·(Ω_i + γ).

    Eq. 11 is not invariant to shifting Ω: with Ω of Eq. 10 (range [−γ, β]) a layer with Ω < 0
    gives bits away even where the budget has room, yet every column of the paper's Table 3
    (OQA-only included) fills its budget. Scoring the hardware term as γ/2·((1 − ĉ) + (1 − ê)),
    i.e. Ω + γ ≥ 0, keeps Ω's ranking and lets the budget bind.
    """
    return np.outer(np.asarray(omegas, dtype=float) + gamma, np.asarray(bits, dtype=float))


def sensitivity_penalty(sensitivity, weight_error, mask_error) -> np.ndarray:
    """Per-layer, per-bit-width damage estimate for the min-sensitivity objective.

    MQE measures ω_i once, for one perturbation of layer i (half its 8-bit weights zeroed). To second
    order the KL divergence grows linearly with the perturbation's energy, so the damage of
    quantizing layer i to b bits is ω_i · ‖W_i − Q_b(W_i)‖² / ‖ΔW_i^mask‖².

    sensitivity: (L,) ω_i; weight_error: (L, B) ‖W − Q_b(W)‖² per candidate; mask_error: (L,).
    """
    s = np.asarray(sensitivity, dtype=float)[:, None]
    return s * np.asarray(weight_error, dtype=float) / np.maximum(np.asarray(mask_error, float)[:, None], 1e-30)
