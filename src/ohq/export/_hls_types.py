"""hls4ml value types from ohq's scales (docs/design.md §6): `ap_fixed<W,I>` describes real values, W bits
of which I are integer bits (sign included), so one LSB is 2^(I−W).

A tensor ohq holds as s·(q − z), q ∈ [0, 2^b − 1], becomes
- with a power-of-two scale s = 2^e (`--scale po2`): LSB 2^e, enough bits for every code — the
  same set of values; a ReLU output (z = 0) is `ap_ufixed<b, b+e, AP_RND, AP_SAT>`: rounding half
  up and clamping to [0, (2^b − 1)·s], which is ohq's requantization;
- otherwise: LSB 2^floor(log2 s) (never coarser than ohq's step) over the same range, an
  approximation (docs/export.md gives the measured agreement).
Weights codes·step_c (a step per output channel): LSB the smallest step (po2: every weight is an
exact multiple of it). Accumulators: LSB = input LSB × weight LSB, integer bits for ohq's static
accumulator bound, so no product or sum is ever rounded or wrapped.
"""

from __future__ import annotations

import math

from ohq.quant.dyadic import QParams

APPROX_EXTRA = 4  # extra fraction bits for float-scale weights and inputs (not on a binary grid)


def is_po2(x: float) -> bool:
    return x > 0 and math.frexp(x)[0] == 0.5


def lsb_exp(scale: float, extra: int = 0) -> int:
    """Exponent e of the LSB 2^e for values on a grid of `scale` (exact when scale is a po2)."""
    e = math.floor(math.log2(scale))
    return e if is_po2(scale) else e - extra


def fixed(max_abs: float, e: int, signed: bool = True, mode: str = "") -> str:
    """ap_fixed/ap_ufixed type holding ±max_abs (or [0, max_abs]) with LSB 2^e (I ≥ 1)."""
    n = math.ceil(max_abs * 2.0**-e - 1e-9)
    width = max(int(n).bit_length(), 1) + (1 if signed else 0)
    integer = width + e
    if integer < 1:  # keep I ≥ 1: pad with leading bits
        width, integer = width + 1 - integer, 1
    name = "ap_fixed" if signed else "ap_ufixed"
    return f"{name}<{width},{integer}{mode}>"


def act_type(p: QParams, mode: str = ",AP_RND,AP_SAT") -> str:
    """The type of a tensor ohq quantizes with p (unsigned when z = 0, the usual ReLU output)."""
    e = lsb_exp(p.scale)
    if p.zero == 0:
        return fixed(p.qmax * p.scale, e, signed=False, mode=mode)
    return fixed(p.max_abs * p.scale, e, signed=True, mode=mode)


def input_type(p: QParams) -> str:
    """The model input: ohq's dequantized input codes s·(q − z), exact for po2 scales."""
    e = lsb_exp(p.scale, APPROX_EXTRA)
    return fixed(p.max_abs * p.scale, e, signed=p.zero > 0)


def layer_types(layer) -> dict[str, str]:
    """weight/bias/accum types of a QuantLayer (integer_ok), from its codes, steps and bound."""
    step = layer.step.double()
    codes = layer.codes.abs().reshape(layer.codes.shape[0], -1).amax(dim=1).double()
    e_w = lsb_exp(float(step.min()), APPROX_EXTRA) if _all_po2(step) else \
        math.floor(math.log2(float(step.min()))) - APPROX_EXTRA
    e_in = lsb_exp(layer.inp.scale, APPROX_EXTRA)
    bias = (layer.bias_int.abs().double() * layer.inp.scale * step).max()
    acc_max = layer.acc_bound * layer.inp.scale * float(step.max())
    return {
        "weight": fixed(float((codes * step).max()), e_w),
        "bias": fixed(float(bias), e_in + e_w),
        "accum": fixed(acc_max, e_in + e_w),
    }


def _all_po2(step) -> bool:
    return all(is_po2(float(s)) for s in step.reshape(-1))


def avgpool_types(inp: QParams, out: QParams, count: int, tie_up: bool) -> dict[str, str]:
    """Average pooling over `count` values: a wide accumulator (the sum, then hls4ml's division
    truncated 16 bits below the output LSB), the output rounded like ohq's dyadic divide: half up
    when ohq's multiplier m·2^-k ≥ 1/count (tie_up), else half down (its ties fall below)."""
    e_in, e_out = lsb_exp(inp.scale, APPROX_EXTRA), lsb_exp(out.scale)
    accum = fixed(count * inp.max_abs * inp.scale, min(e_in, e_out - 16), signed=inp.zero > 0)
    mode = ",AP_RND,AP_SAT" if tie_up else ",AP_RND_MIN_INF,AP_SAT"
    return {"accum": accum, "result": act_type(out, mode)}
