"""FINN folding config (`finn_folding.json`), keyed by the node names of FINN's hardware graph.

FINN's build (streamline → to_hw → SpecializeLayers → GiveUniqueNodeNames) names every node
`<op_type>_<i>`, counting per op type in graph order (qonnx GiveUniqueNodeNames). For ohq's
conv/linear layers, in order, that graph holds (docs/export.md, "FINN"):
- a conv with padding: `FMPadding_rtl_<p>` (SIMD);
- a conv with a k > 1 kernel: `ConvolutionInputGenerator_rtl_<j>` (the sliding window; SIMD,
  parallel_window, ram_style) — FINN's default implementation of the SWG is RTL;
- the layer itself: `MVAU_hls_<i>` when its activation is absorbed as thresholds (a layer with a
  quantized output); a layer without one (the logits) is `MVAU_rtl_<i>` where FINN's
  SpecializeLayers picks RTL (4–8-bit signed weights and inputs; on DSP48E1 parts only with narrow
  weights, no code −2^(b−1)), `MVAU_hls_<i>` otherwise; a depthwise conv is `VVAU_hls_<i>`.
PE (dividing the output channels) and SIMD (dividing the input channels) are chosen greedily: the
slowest layer (cycles = MH/PE · MW/SIMD · output pixels) gets the next parallelism step while the
whole design stays within the device profile's DSP and LUT budgets (`fits`, `resources`).
"""

from __future__ import annotations

import math
from typing import Any

from ohq.export.c_header import layer_shapes

DEFAULT_DEVICE = "xc7z020clg400-1"
BRAM18_BITS = 18 * 1024
LUT_MULT_BITS = 4  # products up to 4x4 bits go to LUTs (resType "lut"), wider ones to DSPs
LUT_PER_BIT_PRODUCT = 1.1  # LUT6 per bit·bit of a LUT multiply-add (FINN-style estimate)
SWG_LUT = 300  # a sliding-window generator, padding and control per conv (LUT6)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _layers(qmodel, input_shape) -> list[dict[str, Any]]:
    """Per ohq layer: FINN node names and the matrix shape FINN's MVAU computes."""
    shapes = layer_shapes(qmodel, input_shape)
    counts: dict[str, int] = {}

    def name(op: str) -> str:
        counts[op] = counts.get(op, 0) + 1
        return f"{op}_{counts[op] - 1}"

    out = []
    for lname, layer in qmodel.layers.items():
        (_, cin, *_), (_, cout, *ohw) = shapes[lname]
        args = getattr(layer, "conv_args", {})
        k = tuple(layer.weight.shape[2:]) if layer.is_conv else (1, 1)
        groups = args.get("groups", 1)
        entry = {"layer": lname, "cin": cin // groups, "cout": cout, "k": math.prod(k),
                 "pixels": math.prod(ohw) if ohw else 1, "w_bits": layer.w_bits or 32,
                 "a_bits": layer.inp.bits if layer.inp is not None else 32,
                 "weights": layer.weight.numel(), "pad": None, "swg": None}
        if layer.is_conv and any(p > 0 for p in _pair(args.get("padding", 0))):
            entry["pad"] = name("FMPadding_rtl")
        if layer.is_conv and entry["k"] > 1:
            entry["swg"] = name("ConvolutionInputGenerator_rtl")
        entry["node"] = name(_mvau_op(layer, groups, cin))
        out.append(entry)
    return out


def _pair(v) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, tuple | list) else (v, v)


def _mvau_op(layer, groups: int, cin: int) -> str:
    if groups > 1 and groups == cin:
        return "VVAU_hls"
    if layer.out is not None or layer.w_bits is None or layer.inp is None:
        return "MVAU_hls"  # thresholds absorbed (or float): FINN keeps the HLS MVAU
    narrow = int(layer.codes.min()) > -(1 << (layer.w_bits - 1))
    rtl_bits = 4 <= layer.w_bits <= 8 and 4 <= layer.inp.bits <= 8
    return "MVAU_rtl" if rtl_bits and narrow else "MVAU_hls"


def _cost(e: dict, pe: int, simd: int) -> tuple[int, float]:
    """(DSPs, LUTs) of one layer at PE·SIMD multipliers."""
    macs = pe * simd
    swg = SWG_LUT if e["swg"] or e["pad"] else 0
    if e["w_bits"] * e["a_bits"] <= LUT_MULT_BITS * LUT_MULT_BITS:
        return 0, macs * e["w_bits"] * e["a_bits"] * LUT_PER_BIT_PRODUCT + swg
    return macs, macs * 2 * (e["w_bits"] + e["a_bits"]) + swg  # the adder tree around the DSPs


def _cycles(e: dict, pe: int, simd: int) -> float:
    return e["cout"] / pe * e["cin"] * e["k"] / simd * e["pixels"]


def budget(device) -> tuple[float, float]:
    """(DSPs, LUTs) the folded design may use: the device's utilisation limits, minus the shell."""
    return device.dsp * device.dsp_util_max, device.lut * device.lut_util_max - device.shell_lut


def _fold(layers: list[dict], device) -> list[tuple[int, int]]:
    """Raise the slowest layer's parallelism until it cannot grow within the budget (a dataflow
    design runs at the pace of its slowest layer: growing the others buys nothing)."""
    dsp_max, lut_max = budget(device)
    fold = [(1, 1)] * len(layers)
    while layers:
        i = max(range(len(layers)), key=lambda j: _cycles(layers[j], *fold[j]))
        step = _next_step(layers[i], *fold[i])
        if step is None:
            return fold
        trial = fold[:i] + [step] + fold[i + 1:]
        dsp, lut = _total(layers, trial)
        if dsp > dsp_max or lut > lut_max:
            return fold
        fold = trial
    return fold


def _next_step(e: dict, pe: int, simd: int) -> tuple[int, int] | None:
    """The next parallelism: raise SIMD along the input channels' divisors, then PE."""
    simds, pes = _divisors(e["cin"]), _divisors(e["cout"])
    if simd < e["cin"]:
        return pe, next(d for d in simds if d > simd)
    if pe < e["cout"]:
        return next(d for d in pes if d > pe), simd
    return None


def _total(layers, fold) -> tuple[int, float]:
    costs = [_cost(e, pe, simd) for e, (pe, simd) in zip(layers, fold, strict=True)]
    return sum(c[0] for c in costs), sum(c[1] for c in costs)


def finn_folding(qmodel, input_shape: tuple[int, ...], device: str = DEFAULT_DEVICE, *,
                 strict: bool = True) -> dict[str, Any]:
    """FINN folding config {"Defaults": {}, node: {...}} for `device`'s DSP/LUT budget."""
    from ohq.hw import get_device

    dev = get_device(device)
    layers = _layers(qmodel, tuple(input_shape))
    doc: dict[str, Any] = {"Defaults": {}}
    for e, (pe, simd) in zip(layers, _fold(layers, dev), strict=True):
        if e["pad"]:
            doc[e["pad"]] = {"SIMD": simd}
        if e["swg"]:
            doc[e["swg"]] = {"SIMD": simd, "parallel_window": 0, "ram_style": "distributed"}
        lut = e["w_bits"] * e["a_bits"] <= LUT_MULT_BITS * LUT_MULT_BITS
        entry = {"PE": pe, "SIMD": simd, "resType": "lut" if lut else "dsp",
                 "ram_style": "distributed" if e["weights"] * e["w_bits"] <= BRAM18_BITS else "block"}
        if e["node"].startswith("MVAU"):
            entry["mem_mode"] = "internal_decoupled"
        doc[e["node"]] = entry
    return doc


def resources(qmodel, input_shape: tuple[int, ...], folding: dict[str, Any]) -> dict[str, float]:
    """DSPs, LUTs and the slowest layer's cycles that `folding` asks for (ohq's estimate)."""
    layers = _layers(qmodel, tuple(input_shape))
    fold = [(folding[e["node"]]["PE"], folding[e["node"]]["SIMD"]) for e in layers]
    dsp, lut = _total(layers, fold)
    cycles = max((_cycles(e, *f) for e, f in zip(layers, fold, strict=True)), default=0.0)
    return {"dsp": dsp, "lut": lut, "max_cycles": cycles}


def fits(qmodel, input_shape: tuple[int, ...], folding: dict[str, Any], device: str) -> bool:
    from ohq.hw import get_device

    dsp_max, lut_max = budget(get_device(device))
    r = resources(qmodel, input_shape, folding)
    return r["dsp"] <= dsp_max and r["lut"] <= lut_max


__all__ = ["budget", "finn_folding", "fits", "resources"]
