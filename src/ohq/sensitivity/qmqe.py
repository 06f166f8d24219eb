"""Quantization-shaped MQE: damage(i, b) measured for every candidate bit-width b.

Like MQE (the OHQ paper Eqs. 6–9) it quantizes the model to 8 bits once, caches every node of the
8-bit graph per batch and re-runs only the suffix of layer i. The perturbation is not a mask of
zeros but the candidate's own quantization error: a seeded random fraction α of layer i's
weights takes its b-bit value Q_b(W) (α = 1: the whole layer), and — as the pipeline's W/A */*
plans do — the layer reads its input at b bits. With α = 1 the swap is the single-layer plan
itself, bit for bit: where layer i is the only reader of its input, the producer is re-run to
quantize straight to b bits (no second rounding of the 8-bit codes), and layer i runs the integer
path (bias on the accumulator grid, dyadic requantization); see `_swap.py`. Then

    damage(i, b) = 1/N Σ_j JS(softmax(M^q(x_j)), softmax(ŝ_j · M^q_{i←b}(x_j)))

(`score="sjs"`, the default: Jensen–Shannon with the perturbed logits rescaled about their mean
to the reference's spread ŝ_j, since a layer that only rescales the logits keeps top-1; it
lifted mnist_mobilenet_v2's 2-bit rank from +0.67 to +0.80, docs/sensitivity.md; `"js"` without
the rescale; the forward KL of MQE's Eq. 8 is `score="kl"`: its 2-bit rank fell to +0.50 on the
mlp fixture, where JS reaches +1.00), and `flips_[i, b]` is the share of samples whose top-1
class changes. Fixed-point candidates at or
above the model's `bits` cost nothing by construction (damage 0); other schemes are measured at
every bit-width. Each measured candidate's b-bit weights and layer input ranges are those of
the model quantized to W_b A_b; one BN fold and one float calibration pass serve the 8-bit model
and every candidate (`ohq.quant.Calibration`: the ranges of each bit-width from the same
statistics, bit for bit what a separate quantization gives). They are calibrated on `calib` when
given (the pipeline passes its PTQ calibration set, so each perturbation is the one its plan will
build, and it builds its plans from the same `calibration_`), otherwise on the scored samples.

`measure="lowest"` (default) re-runs the suffix for the lowest candidate only and derives the others
from layer i's output error energy at each bit-width (`ohq.sensitivity._candidates`): about L/2
W8A8 passes whatever the candidates; `measure="all"` re-runs every candidate (the exact form).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ohq.errors import OhqError
from ohq.sensitivity import _candidates
from ohq.sensitivity._suffix import SuffixRunner
from ohq.sensitivity._swap import Swap, plan_swap
from ohq.sensitivity.base import (
    SensitivityMethod,
    check_inputs,
    check_positive_int,
    chunks,
    kl_per_sample,
    register_method,
)
from ohq.sensitivity.damage import check_damage
from ohq.sensitivity.mqe import graph_module


@register_method("qmqe")
class QuantMQE(SensitivityMethod):
    """How far the `bits`-bit model's outputs move (rescaled Jensen–Shannon, `score`) when layer i alone is
    quantized to each candidate bit-width.

    Learned: `damage_` (layers × `candidate_bits`), `flips_` (same shape, top-1 changes on the
    samples), `scores_` (damage at the lowest candidate), `forward_equiv_` (graph nodes evaluated:
    suffixes re-run and derived candidates' layers, in full forward passes of the 8-bit model),
    `calibration_` (the `ohq.quant.Calibration` its quantizations came from: the pipeline builds
    its own plans from it when it calibrated on the same data), `stage_seconds_` (wall seconds of
    "calibration" and "8-bit model", which the pipeline's PTQ reuses, then "candidate layers",
    "swaps" and "sweep").
    """

    measures_bits = True

    def __init__(
        self,
        candidate_bits: Sequence[int] = (2, 3, 4, 8),
        scheme: str = "uniform",
        alpha: float = 1.0,
        n_masks: int = 1,
        bits: int = 8,
        activations: bool = True,
        seed: int = 0,
        batch_size: int = 64,
        calib: Tensor | None = None,
        score: str = "sjs",
        measure: str = "lowest",
        callback: Callable[[int, int], None] | None = None,
    ) -> None:
        self.calib = calib
        self.score = score
        self.measure = measure
        self.candidate_bits = tuple(sorted(int(b) for b in candidate_bits))
        self.scheme = scheme
        self.alpha = alpha
        self.n_masks = n_masks
        self.bits = bits
        self.activations = activations
        self.seed = seed
        self.batch_size = batch_size
        self.callback = callback

    def _scores(self, model: nn.Module, names: list[str], x: Tensor, y: Tensor | None) -> np.ndarray:
        from ohq.quant import Calibration, Plan, QuantSpec

        check_positive_int(bits=self.bits, n_masks=self.n_masks, batch_size=self.batch_size)
        if not 0.0 < self.alpha <= 1.0:
            raise OhqError(f"the fraction alpha must be in (0, 1], got {self.alpha}")
        if self.alpha < 1.0 and len(x) < self.n_masks:
            raise OhqError(f"qmqe averages {self.n_masks} masks but got only {len(x)} samples")
        if self.score not in SCORES:
            raise OhqError(f"qmqe score must be one of {sorted(SCORES)}, got {self.score!r}")
        if not self.candidate_bits:
            raise OhqError("qmqe needs at least one candidate bit-width")
        low = [b for b in self.candidate_bits if self._measured(b)]
        self._rerun = _candidates.measured_set(low, self.measure)  # suffix re-runs; the rest derived
        plan8 = Plan(default=QuantSpec(self.bits, self.bits))
        low_plans = {b: Plan(QuantSpec(b, b if self.activations else self.bits, self.scheme)) for b in low}
        # one fold and one float pass serve every plan (ranges per bit-width from the same statistics)
        clock = _Clock()
        self.calibration_ = shared = Calibration(model, x if self.calib is None else self.calib,
                                                 [plan8, *low_plans.values()])
        clock.lap("calibration")
        qm = shared.quantize(plan8)
        qm.eval()
        clock.lap("8-bit model")
        self._low_plans, self._names = low_plans, names
        low_layers = {b: shared.layers(plan, _candidates.range_values(b, self._rerun))  # layer i's b-bit form
                      for b, plan in low_plans.items()}
        clock.lap("candidate layers")
        masks = self._masks
        # on codes where the engine runs the model: a mask's float mix (α < 1) has no integer form
        integer = masks == 1 and not qm.integer_problems()
        self._runner = runner = SuffixRunner(graph_module(qm), integer=integer)
        self._swaps = self._swaps_for(low_layers)
        clock.lap("swaps")
        divergence = np.zeros((len(names), len(self.candidate_bits)))  # summed `score` per sample
        flips = np.zeros_like(divergence)
        for _, ref, i, col, out in self._sweep(x, progress=True):
            divergence[i, col] += float(SCORES[self.score](ref, out).sum())
            flips[i, col] += float((out.argmax(dim=1) != ref.argmax(dim=1)).sum())
        clock.lap("sweep")
        self.stage_seconds_ = clock.laps
        derived = [b for b in low if b not in self._rerun]
        self.damage_ = _candidates.monotone(divergence / (len(x) * masks), self.candidate_bits, derived)
        self.flips_ = _candidates.monotone(flips / (len(x) * masks), self.candidate_bits, derived)
        share = min(_candidates.energy_rows(len(x)), self.batch_size) / len(x)  # derived layers' samples
        self.forward_equiv_ = _candidates.suffix_cost(runner, names, self._swaps, self._rerun, share)
        return self.damage_[:, 0]

    @property
    def _masks(self) -> int:
        """Masks per layer and candidate: one where the whole layer is swapped (α = 1)."""
        return 1 if self.alpha == 1.0 else self.n_masks

    def _swaps_for(self, layers: dict[int, dict]) -> list[list[tuple[int, int, Swap]]]:
        """Per layer i: (b, mask index, swap) for every candidate b, from `layers[b][name]`."""
        return [[(b, k, self._swap(self._runner, layers[b][name], name, i, k)) for b in layers for k in range(self._masks)]
                for i, name in enumerate(self._names)]

    def _sweep(self, x: Tensor, progress: bool = False, derive: bool = True, swaps=None):
        """(batch slice, 8-bit logits, layer index, candidate column, logits with layer i at b bits);
        `derive`: only `measure`'s candidates re-run the suffix (False: every candidate does);
        `swaps`: instead of fit's."""
        runner, names, swaps = self._runner, self._names, self._swaps if swaps is None else swaps
        done, total = 0, len(range(0, len(x), self.batch_size)) * len(names)
        ratios, rows = [{} for _ in names], _candidates.energy_rows(len(x))  # derived: energy ratios
        with torch.no_grad():
            for s in chunks(len(x), self.batch_size):
                cache = runner.run_all(x[s])
                ref = runner.output(cache)
                _check_finite(ref, "the 8-bit model")
                for i, name in enumerate(names):
                    rerun = self._rerun if derive else None
                    for b, out in _candidates.layer_outputs(runner, cache, ref, name, swaps[i], rerun,
                                                            ratios[i], rows):
                        _check_finite(out, f"layer {name!r} at {b} bits")
                        yield s, ref, i, self.candidate_bits.index(b), out
                    done += 1
                    if progress:
                        self._tick(done, total)

    def measured_drop(self, x: Tensor, y: Tensor) -> np.ndarray:
        """The truth `damage_` predicts, on labelled data: top-1 drop (fraction) of the 8-bit model
        when layer i alone is at candidate b (layers × `candidate_bits`; 0 at or above `bits`),
        from the same suffix re-runs as `fit`; a derived candidate, whose ranges `fit` took from a
        subsample, is swapped in as its plan builds it (exact ranges) for this."""
        if not hasattr(self, "_runner"):
            raise OhqError("call fit() before measured_drop()")
        x, y = check_inputs(x), torch.as_tensor(y)
        if len(y) != len(x):
            raise OhqError(f"{len(x)} inputs but {len(y)} labels")
        masks = self._masks
        lost = np.zeros((len(self._names), len(self.candidate_bits)))
        swaps = None  # fit's, where every candidate was re-run (its ranges exact)
        if any(b not in self._rerun for b in self._low_plans):
            swaps = self._swaps_for({b: self.calibration_.layers(plan) for b, plan in self._low_plans.items()})
        for s, ref, i, col, out in self._sweep(x, derive=False, swaps=swaps):
            ok = (ref.argmax(dim=1) == y[s]).double() - (out.argmax(dim=1) == y[s]).double()
            lost[i, col] += float(ok.sum()) / masks
        return lost / len(x)  # candidates at or above `bits` are never swapped: 0

    def _swap(self, runner: SuffixRunner, layer_b, name: str, index: int, k: int) -> Swap:
        """Layer `name` at `layer_b`'s bits inside the W8A8 graph, as the single-layer plan builds it (`_swap.py`)."""
        layer8, keep = runner.modules[name], None
        if self.alpha < 1.0:
            numel = layer8.codes.numel()
            state = np.random.SeedSequence([self.seed, index, k]).generate_state(1)[0]
            gen = torch.Generator().manual_seed(int(state))
            keep = torch.ones(numel, dtype=torch.bool)
            keep[torch.randperm(numel, generator=gen)[: round(self.alpha * numel)]] = False
            keep = keep.reshape(layer8.codes.shape)
        return plan_swap(runner, layer8, layer_b, keep)

    def _measured(self, b: int) -> bool:
        """False where the candidate is the reference itself (fixed point at ≥ `bits`: damage 0)."""
        return b < self.bits or self.scheme != "uniform"

    def damage(self, bits: Sequence[int], scheme: str = "uniform") -> np.ndarray:
        """The measured damage for `bits` (each must be a candidate or ≥ the model's bits)."""
        if not hasattr(self, "damage_"):
            raise OhqError("call fit() before damage()")
        if scheme != self.scheme:
            raise OhqError(f"qmqe measured the {self.scheme!r} scheme, not {scheme!r}; "
                           f"fit it with scheme={scheme!r}")
        missing = [b for b in bits if self._measured(b) and b not in self.candidate_bits]
        if missing:
            raise OhqError(f"qmqe did not measure {missing} bits (candidates {list(self.candidate_bits)})")
        cols = [self.damage_[:, self.candidate_bits.index(b)] if self._measured(b)
                else np.zeros(len(self.layer_names_)) for b in bits]
        return check_damage(np.stack(cols, axis=1), self.name)


class _Clock:
    """Wall seconds per stage of a fit, in order."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage], self._last = now - self._last, now


def top1_loss(ref: Tensor, out: Tensor) -> Tensor:
    """Per sample: how much probability the 8-bit model's top-1 class loses (a smooth top-1 change)."""
    top = ref.argmax(dim=1, keepdim=True)
    p_ref = torch.softmax(ref.double().flatten(1), dim=1).gather(1, top)
    p_out = torch.softmax(out.double().flatten(1), dim=1).gather(1, top)
    return (p_ref - p_out).squeeze(1)


def reverse_kl(ref: Tensor, out: Tensor) -> Tensor:
    """Per sample: KL(softmax(out) ‖ softmax(ref)), the perturbed model's view. It punishes a layer
    that only sharpens or rescales the logits (the top class kept) far less than forward KL."""
    return kl_per_sample(out, ref)


def jensen_shannon(ref: Tensor, out: Tensor) -> Tensor:
    """Per sample: JS(softmax(ref), softmax(out)), KL of each to their mean, halved (≤ ln 2). Symmetric
    and bounded: one sample whose logits a layer flattens or rescales weighs at most ln 2, not the
    unbounded forward KL that ranked the mlp fixture's 2-bit logits layer first (docs/sensitivity.md)."""
    log_p = torch.log_softmax(ref.double().flatten(1), dim=1)
    log_q = torch.log_softmax(out.double().flatten(1), dim=1)
    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)
    kl_pm = (log_p.exp() * (log_p - log_m)).sum(dim=1)
    kl_qm = (log_q.exp() * (log_q - log_m)).sum(dim=1)
    return (0.5 * (kl_pm + kl_qm)).clamp_min(0.0)


def rescaled_js(ref: Tensor, out: Tensor) -> Tensor:
    """Per sample: Jensen–Shannon after the perturbed logits are rescaled about their mean to the
    reference's spread (RMS). Top-1 does not change when a layer only scales the logits; near the
    output a 2-bit layer mostly does that (mnist_mobilenet_v2's last four layers ranked 42nd-51st
    of 53 by JS for 0.0-0.5 % real top-1 drop), so that part of the move costs nothing here."""
    r, o = ref.double().flatten(1), out.double().flatten(1)
    rc, oc = r - r.mean(dim=1, keepdim=True), o - o.mean(dim=1, keepdim=True)
    spread = rc.pow(2).mean(dim=1, keepdim=True).sqrt() / oc.pow(2).mean(dim=1, keepdim=True).sqrt().clamp_min(1e-30)
    return jensen_shannon(rc, oc * spread)


SCORES = {"kl": kl_per_sample, "top1": top1_loss, "rkl": reverse_kl, "js": jensen_shannon,
          "sjs": rescaled_js}  # what damage_ averages


def _check_finite(out: Tensor, what: str) -> None:
    if not torch.isfinite(out).all():
        raise OhqError(f"{what} gives NaN or Inf logits under quantization")



