"""Fit the analytical model's non-compute terms to the RTL's counters, and test them on held-out networks.

The analytical steps (`ohq.hw.cost`) are linear or max-linear in four constants once the structure
(tiling, bytes moved, DMA fills, outputs) is fixed, so each layer is reduced to its structural
features once and every parameter set is evaluated on arrays:

- transfer  = w_bytes / bw + max(f_bytes / bw, f_elems / img2col) + fills x setup
- write-back = out_bytes / bw + drains x setup
- post-process = outputs x a_bits / postprocess_word_bits

bw = the device's DMA rate scaled by `dma_efficiency`. That is the paper's IP form (`img2col`);
the `band` form (`ohq.hw.dma`, the structure the RTL implements: one DMA per input channel and
band, weight records per channel pair, prefetch, posted writes per channel and band) is evaluated
on the same rows from their `DmaPlan` arrays, with bw capped at one AXI word per cycle. The RTL has no PS driver, so the per-layer
invocation (`layer_overhead_cycles`) is left out of the comparison and is the one constant the
paper's latencies still fix (`ohq.hw.fidelity`). The fit minimises the summed absolute cycle error
of the three steps over the training layers (each weighted by its occurrences), on a grid.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from ohq.hw import dma
from ohq.hw.accelerator import bram_plan, gemm_of, macs_per_cycle
from ohq.hw.cost import (
    ACC_BITS,
    STEPS,
    compute_cycles,
    feature_bytes_moved,
    output_bytes,
    tiling,
    weight_bytes_moved,
)
from ohq.hw.device import Device
from ohq.hw.referee import Row
from ohq.quant.resource import Resource

PARAMS = ("dma_efficiency", "dma_setup_cycles", "img2col_elems_per_cycle", "postprocess_word_bits")
GRID = {
    "dma_efficiency": tuple(np.round(np.arange(0.30, 1.001, 0.05), 2)),
    "dma_setup_cycles": tuple(range(0, 801, 25)),
    "img2col_elems_per_cycle": (1, 2, 4, 6, 8, 12, 16, 24, 32, 64, 1e9),
    "postprocess_word_bits": (4, 8, 12, 16, 24, 32, 48, 64, 96, 128),
}
NONCOMPUTE = ("transfer", "writeback", "postprocess")


@dataclass
class Features:
    """Per row (layer geometry x bits): the model's structure and the RTL's counters, as arrays."""

    network: np.ndarray
    bits: np.ndarray
    count: np.ndarray
    compute: np.ndarray  # model compute cycles at the RTL's peak
    w_b: np.ndarray
    f_b: np.ndarray
    f_elems: np.ndarray
    fills: np.ndarray
    out_b: np.ndarray
    drains: np.ndarray
    outputs: np.ndarray
    rtl: dict[str, np.ndarray]
    plan: dma.DmaPlan | None = None  # the band form's structure, as arrays


def features(rows: list[Row], device: Device, lanes: int | None = None) -> Features:
    """The structural features of each row under the model, at a peak of 2 x `lanes` MACs/cycle
    (the RTL build's), or the device's own uniform engine when `lanes` is None."""
    plan = bram_plan(device)
    cols: dict[str, list] = {k: [] for k in Features.__dataclass_fields__ if k not in ("rtl", "plan")}
    plans = []
    for r in rows:
        plans.append(dma.dma_plan(r.layer, r.bits, r.bits, device))
        g = gemm_of(r.layer)
        t = tiling(g, r.bits, r.bits, device)
        w_b, f_b = weight_bytes_moved(g, t, r.bits), feature_bytes_moved(g, t, r.bits)
        vals = dict(
            network=r.network, bits=r.bits, count=r.count,
            compute=compute_cycles(g, t, 2 * lanes if lanes else macs_per_cycle(Resource.DSP, r.bits, r.bits, device),
                                   device),
            w_b=w_b, f_b=f_b,
            f_elems=f_b * 8 / r.bits,
            fills=math.ceil(w_b / plan.buffer_bytes("weight")) + math.ceil(f_b / plan.buffer_bytes("feature")),
            out_b=output_bytes(g, r.bits),
            drains=math.ceil(g.groups * g.m * g.n * ACC_BITS / 8 / plan.buffer_bytes("output")),
            outputs=g.groups * g.m * g.n,
        )
        for k, v in vals.items():
            cols[k].append(v)
    arr = {k: np.array(v) for k, v in cols.items()}
    return Features(**arr, rtl={k: np.array([r.rtl[k] for r in rows], float) for k in STEPS},
                    plan=dma.stack(plans) if plans else None)


def predict(f: Features, device: Device, p: dict, form: str = "img2col") -> dict[str, np.ndarray]:
    """The model's four steps per row under parameter set `p` (the per-layer invocation
    `layer_overhead_cycles` joins the transfer only when `p` has it: the RTL has no PS driver)."""
    if form == "band":
        return _predict_band(f, device, p)
    bw = device.dram_bytes_per_cycle * p["dma_efficiency"] / device.dma_efficiency
    setup = p["dma_setup_cycles"]
    return {
        "compute": f.compute.astype(float),
        "transfer": np.ceil(f.w_b / bw + np.maximum(f.f_b / bw, f.f_elems / p["img2col_elems_per_cycle"]))
        + f.fills * setup + p.get("layer_overhead_cycles", 0),
        "writeback": np.ceil(f.out_b / bw) + f.drains * setup,
        "postprocess": np.ceil(f.outputs * f.bits / p["postprocess_word_bits"]),
    }


def _predict_band(f: Features, device: Device, p: dict) -> dict[str, np.ndarray]:
    rate = dma.dma_rate(device, p["dma_efficiency"])
    post = dma.postprocess_cycles(f.plan, f.bits, p["postprocess_word_bits"])
    return {
        "compute": f.compute.astype(float),
        "transfer": dma.transfer_cycles(f.plan, f.compute, post, rate, p["dma_setup_cycles"],
                                        p.get("layer_overhead_cycles", 0)),
        "writeback": dma.writeback_cycles(f.plan, rate),
        "postprocess": post,
    }


def shipped_params(device: Device) -> dict:
    """The device profile's current values of the fitted constants."""
    return {k: getattr(device, k) for k in PARAMS}


def loss(f: Features, pred: dict[str, np.ndarray], mask: np.ndarray, steps=NONCOMPUTE) -> float:
    """Summed absolute cycle error of `steps` over the masked rows, over their RTL cycles."""
    w = f.count * mask
    err = sum(np.sum(w * np.abs(pred[s] - f.rtl[s])) for s in steps)
    return float(err / max(1.0, sum(np.sum(w * f.rtl[s]) for s in steps)))


def fit(f: Features, device: Device, mask: np.ndarray, form: str = "img2col") -> dict:
    """The grid point minimising `loss` on the masked rows; post-process is fitted on its own.
    The band form has no gather: its grid is the DMA rate and set-up (and the word)."""
    pp = min(GRID["postprocess_word_bits"],
             key=lambda v: loss(f, predict(f, device, {**shipped_params(device), "postprocess_word_bits": v}, form),
                                mask, ("postprocess",)))
    best, best_loss = None, math.inf
    gathers = GRID["img2col_elems_per_cycle"] if form == "img2col" else (device.img2col_elems_per_cycle,)
    for eff, setup, img in itertools.product(GRID["dma_efficiency"], GRID["dma_setup_cycles"], gathers):
        p = {"dma_efficiency": eff, "dma_setup_cycles": setup, "img2col_elems_per_cycle": img,
             "postprocess_word_bits": pp}
        v = loss(f, predict(f, device, p, form), mask, ("transfer", "writeback"))
        if v < best_loss:
            best, best_loss = p, v
    return best


def step_errors(f: Features, pred: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, float]:
    """Relative error (model / RTL - 1) of each step and the total, summed over the masked rows."""
    w = f.count * mask
    out = {s: float(np.sum(w * pred[s]) / max(1.0, np.sum(w * f.rtl[s])) - 1) for s in STEPS}
    tot_m = sum(np.sum(w * pred[s]) for s in STEPS)
    tot_r = sum(np.sum(w * f.rtl[s]) for s in STEPS)
    out["total"] = float(tot_m / max(1.0, tot_r) - 1)
    return out


def with_params(device: Device, p: dict, **extra) -> Device:
    """`device` with the fitted constants (and `extra`) replaced."""
    return replace(device, **{k: (int(v) if k == "dma_setup_cycles" else float(v)) for k, v in p.items()}, **extra)
