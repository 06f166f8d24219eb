"""Per-bit-width damage: what quantizing layer i to b bits costs, for every candidate b.

The ILP needs damage(i, b) for each candidate bit-width, not one score per layer. A method that
measures one perturbation per layer (mqe zeroes α of the weights, layerwise and hessian quantize
to one bit-width) extends to other bit-widths by the second-order model: the KL divergence (or
loss change) grows linearly with the energy of the weight perturbation, so

    damage(i, b) = score_i · ‖W_i − Q_b(W_i)‖² / ‖perturbation the score measured‖².

`qmqe` measures its candidates by suffix re-run (by default the lowest, the others from the
layer's own output error energy, `ohq.sensitivity._candidates`). Damage is in the units of the
method's divergence (qmqe: Jensen–Shannon nats per sample by default, mqe: KL); `kl_to_drop` maps
it onto a top-1 drop with a scale fitted where both were measured (`fit_drop_scale`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ohq.errors import OhqError


def relative_weight_errors(model: nn.Module, names: Sequence[str], bits: Sequence[int],
                           scheme: str = "uniform") -> np.ndarray:
    """‖W − Q_b(W)‖² / ‖W‖² per layer (rows) and bit-width (columns), weights before BN folding."""
    from ohq.quant import QuantSpec, quantize_weight

    modules = dict(model.named_modules())
    err = np.zeros((len(names), len(bits)))
    with torch.no_grad():
        for i, name in enumerate(names):
            w = modules[name].weight.detach()
            norm = float(w.pow(2).sum()) or 1.0
            for j, b in enumerate(bits):
                q = quantize_weight(w, QuantSpec(int(b), None, scheme))
                err[i, j] = float((w - q).pow(2).sum()) / norm
    return err


def scaled_damage(scores: np.ndarray, errors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """score_i · errors[i, b] / reference[i]: one measured perturbation scaled to every bit-width."""
    s = np.asarray(scores, dtype=float)[:, None]
    ref = np.maximum(np.asarray(reference, dtype=float).reshape(-1, 1), 1e-30)
    return s * np.asarray(errors, dtype=float) / ref


def check_damage(damage: np.ndarray, method: str) -> np.ndarray:
    """Refuse damage the ILP cannot use: NaN/Inf, or nothing to tell layers apart."""
    damage = np.asarray(damage, dtype=float)
    if not np.all(np.isfinite(damage)):
        raise OhqError(f"sensitivity method {method!r} gave NaN or Inf damage (the quantized model's "
                       "logits are not finite); check the model and the samples")
    if damage.size and float(np.abs(damage).max()) == 0.0:
        raise OhqError(f"sensitivity method {method!r} scored every layer zero: nothing tells the "
                       "layers apart (more samples, or another --sensitivity)")
    return damage


def fit_drop_scale(kl: np.ndarray, flips: np.ndarray) -> float:
    """k in drop ≈ 1 − exp(−k·KL), least squares over the entries where both were measured."""
    kl, flips = np.asarray(kl, float).ravel(), np.asarray(flips, float).ravel()
    keep = (kl > 0) & np.isfinite(kl) & (flips < 1)
    if not keep.any():
        return 1.0
    # linearise: −log(1 − drop) = k·KL, fitted through the origin
    target = -np.log1p(-np.clip(flips[keep], 0.0, 0.999))
    return float(max((kl[keep] * target).sum() / (kl[keep] ** 2).sum(), 1e-12))


def kl_to_drop(damage: np.ndarray, scale: float) -> np.ndarray:
    """Predicted top-1 drop (fraction) from KL-unit damage with the fitted `scale`."""
    return 1.0 - np.exp(-scale * np.maximum(np.asarray(damage, float), 0.0))


def damage_check(method, x, y) -> dict | None:
    """Predicted vs measured top-1 drop per layer and candidate below the model's bits, for the run
    report: prediction = `kl_to_drop` of the method's damage with the scale fitted on its own
    samples; measured = `method.measured_drop(x, y)` on labelled data. None for a method that
    cannot measure it without re-quantizing (only those with `measured_drop` can)."""
    if not hasattr(method, "measured_drop"):
        return None
    from scipy.stats import spearmanr

    cols = [j for j, b in enumerate(method.candidate_bits) if b < method.bits]
    measured = method.measured_drop(x, y)[:, cols]
    predicted = kl_to_drop(method.damage_, fit_drop_scale(method.damage_, method.flips_))[:, cols]
    rho = {}
    for k, j in enumerate(cols):
        p, m = predicted[:, k], measured[:, k]
        rho[str(method.candidate_bits[j])] = (float(spearmanr(p, m).statistic)
                                              if np.ptp(p) > 0 and np.ptp(m) > 0 else None)
    return {"layers": list(method.layer_names_), "bits": [method.candidate_bits[j] for j in cols],
            "predicted": predicted.tolist(), "measured": measured.tolist(), "n_test": len(x),
            "spearman": rho}
