"""qmqe's cheap candidates: one suffix re-run per layer, the other bit-widths from a noise model.

Re-running layer i's suffix once per candidate costs about L/2 W8A8 passes per candidate, so
{2, 3, 4, 8} costs three times the goal's 0.6·L. With `measure="lowest"` only the lowest
candidate below the model's bits is re-run; for every other candidate b only layer i itself is
evaluated on its cached input (one node, not a suffix), on an eighth of the samples, which gives
the energy of the error the swap puts on the layer's output

    e(b) = Σ_j ‖swap_b(x_j) − y8_j‖²     (weights at b bits and the input read at b bits, together).

The suffix is taken as linear in that error (first order), so the logits move along the measured
direction, scaled by the error's amplitude:

    logits_j(b) ≈ ref_j + sqrt(e(b) / e(m)) · (logits_j(m) − ref_j),

and the score (KL, …) and top-1 change are computed on those logits exactly as for a measured
candidate: the softmax's saturation is kept, only the suffix is linearised. The ratio e(b)/e(m)
is a property of the layer's noise: taken from 4, 8 or 16 of 32 samples instead of all 32, the
derived damage's ρ moved by at most 0.03 on digits_cnn, mnist_cnn and mnist_resnet (nobn_cnn:
one swap of its 5 layers at 4 samples), so a few samples fix it. Derived damage never exceeds the damage of the next lower
candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
from torch import Tensor, nn

from ohq.errors import OhqError

MEASURES = ("all", "lowest")  # "all": one suffix re-run per candidate (exact); "lowest": one in all


def measured_set(low: Sequence[int], measure: str) -> tuple[int, ...]:
    """The candidates re-run through the suffix (`low`: those that are not the reference itself)."""
    if measure not in MEASURES:
        raise OhqError(f"qmqe measure must be one of {list(MEASURES)}, got {measure!r}")
    if measure == "all" or not low:
        return tuple(low)
    return (min(low),)


# Value samples (a quarter of calibration's 65,536 per tensor) a derived candidate's b-bit input range is
# fitted on: its error energy is an estimate already, and the MSE range search over every value
# cost more than the whole suffix sweep (mnist_resnet: 0.09 s per bit-width against 0.25 s).
RANGE_VALUES = 16384


def range_values(b: int, rerun: Sequence[int]) -> int | None:
    """How many value samples candidate b's input ranges are fitted on (None: all, bit for bit the plan)."""
    return None if b in rerun else RANGE_VALUES


def energy_rows(n: int) -> int:
    """Samples whose layer error calibrates a derived candidate: an eighth of the n (at least one).
    The ratio e(b)/e(m) is a property of the layer's noise, stable over a few samples."""
    return max(1, -(-n // 8))


def derived_logits(ref: Tensor, measured: Tensor, ratio: float) -> Tensor:
    """First-order logits at a candidate whose layer error energy is `ratio` × the measured one's."""
    return ref + ratio ** 0.5 * (measured - ref)


def monotone(values: np.ndarray, bits: Sequence[int], derived: Sequence[int]) -> np.ndarray:
    """Derived columns capped by the column of the next lower candidate (damage falls with bits)."""
    out = np.array(values, dtype=float)
    order = np.argsort(bits)
    for prev, j in zip(order[:-1], order[1:], strict=True):
        if bits[j] in derived:
            out[:, j] = np.minimum(out[:, j], out[:, prev])
    return out


def parts(swap, name: str) -> tuple[str, dict]:
    """(target whose suffix re-runs, {target: module}) of a swap of layer `name`: a module that
    replaces the layer, or an object with `start` and `modules` (a swap that also changes nodes
    before the layer, e.g. its producer)."""
    if isinstance(swap, nn.Module):
        return name, {name: swap}
    return swap.start, swap.modules


@contextmanager
def swapped(runner, modules: dict):
    """The runner's graph with `modules` in place, put back afterwards."""
    original = {t: runner.modules[t] for t in modules}
    runner.modules.update(modules)
    try:
        yield
    finally:
        runner.modules.update(original)


def suffix_cost(runner, names: Sequence[str], swaps, rerun: Sequence[int], share: float) -> float:
    """Graph nodes evaluated, in full W8A8 passes: each re-run swap's suffix; for a derived one the
    nodes up to layer i on a `share` of the samples (`swaps[i]`: (b, mask, swap) of layer i)."""
    computed = [n for n in runner.nodes if n.op not in ("placeholder", "output", "get_attr")]
    nodes = 0.0
    for name, row in zip(names, swaps, strict=True):
        for b, _, swap in row:
            start = parts(swap, name)[0]
            if b in rerun:
                nodes += len([n for n in runner.suffix(start) if n.op != "get_attr"])
            else:
                nodes += share * runner.steps_to(start, name)
    return nodes / max(len(computed), 1)


def layer_outputs(runner, cache: dict, ref: Tensor, name: str, swaps, measured: Sequence[int] | None,
                  ratios: dict, rows: int):
    """(b, logits) for every swap (b, mask index, swap) of layer `name`: the suffix re-run where b
    is in `measured` (None: every b), otherwise derived from the measured swap of the same mask
    with the energy ratio kept in `ratios` (computed on the first `rows` samples of the first
    batch that reaches it). The runner's modules are put back after each swap."""
    runs: dict[int, tuple[Tensor, Tensor | None]] = {}  # mask index -> (logits, layer i's output)
    derive = [(b, k, sw) for b, k, sw in swaps if measured is not None and b not in measured]
    for b, k, swap in swaps:
        if measured is None or b in measured:
            start, modules = parts(swap, name)
            with swapped(runner, modules):  # keep layer i's output for its error energy
                runs[k] = runner.rerun(cache, start, keep=name) if derive else (runner.rerun(cache, start), None)
            yield b, runs[k][0]
    node = runner.by_target(name)
    for b, k, swap in derive:
        out_m, y_m = runs[k]
        if (b, k) not in ratios:
            sub = slice(0, min(rows, len(ref)))
            start, modules = parts(swap, name)
            with swapped(runner, modules):
                y_b = runner.run_to(cache, start, name, sub)
            y8 = cache[node][sub].double()
            e_m, e_b = (y_m[sub].double() - y8).pow(2).sum(), (y_b.double() - y8).pow(2).sum()
            ratios[b, k] = float(e_b / e_m) if e_m > 0 else 1.0
        yield b, derived_logits(ref, out_m, ratios[b, k])
