"""hls4ml types for the integer-code model of _hls_model (docs/design.md §6): every type holds ohq's
integers or binary fractions exactly, so nothing rounds except where ohq rounds.

`ap_fixed<W,I>` holds W bits of which I are integer bits (sign included): one LSB is 2^(I−W).
- tensors between layers: ohq's codes q ∈ [0, 2^b - 1] as `ap_ufixed<b, b, AP_RND, AP_SAT>`: the
  result type of each requantizing BatchNorm, which rounds half up and clamps — ohq's requantization;
- the model input: q - z as `ap_int<b+1>` (`ap_uint<b>` when z = 0);
- conv/linear: weights `ap_int<w_bits>` (the codes), bias and accumulator `ap_int` wide enough
  for ohq's static bound (acc_bound): the accumulator is exact;
- requantizing BatchNorm: scale m_c·2^-k and bias with k fraction bits (exact);
- the output layer's dequantizing BatchNorm: scale s_in·step_c with DEQUANT_BITS significant bits
  below the smallest one, the logits with that LSB (ohq: float32 logits of float64 products).
"""

from __future__ import annotations

import math

from torch import Tensor

DEQUANT_BITS = 40  # fraction bits kept below the smallest dequantizing scale (relative error 2^-40)


def fixed(max_abs: float, e: int, signed: bool = True, mode: str = "") -> str:
    """ap_fixed/ap_ufixed type holding ±max_abs (or [0, max_abs]) with LSB 2^e (I ≥ 1)."""
    n = math.ceil(max_abs * 2.0**-e - 1e-9)
    width = max(int(n).bit_length(), 1) + (1 if signed else 0)
    integer = width + e
    if integer < 1:  # keep I ≥ 1: pad with leading bits
        width, integer = width + 1 - integer, 1
    name = "ap_fixed" if signed else "ap_ufixed"
    return f"{name}<{width},{integer}{mode}>"


def int_type(lo: int, hi: int) -> str:
    """The narrowest ap_int/ap_uint holding [lo, hi]."""
    if lo >= 0:
        return f"ap_uint<{max(int(hi).bit_length(), 1)}>"
    return f"ap_int<{max(int(hi).bit_length(), int(-lo - 1).bit_length()) + 1}>"


def code_type(bits: int, mode: str = ",AP_RND,AP_SAT") -> str:
    """ohq's b-bit codes with zero point 0; with `mode`, rounding half up and clamping into them."""
    return f"ap_ufixed<{bits},{bits}{mode}>"


def layer_types(li) -> dict[str, str]:
    """weight/bias/accum/result types of a conv/linear on codes (LayerInts)."""
    lo, hi = (int(v) for v in li.code_range)
    bias = int(li.bias_int.abs().max())
    acc = int_type(-li.acc_bound, li.acc_bound)
    return {"weight": int_type(min(lo, -1), hi), "bias": int_type(-bias - 1, bias), "accum": acc, "result": acc}


def rescale_types(scale: Tensor, bias: Tensor, frac: int, acc_bound: int, out_bits: int | None) -> dict[str, str]:
    """scale/bias/result types of a requantizing (out_bits) or dequantizing (None) BatchNorm."""
    if out_bits is None:
        frac = DEQUANT_BITS - math.floor(math.log2(float(scale.min())))
    top, b = float(scale.abs().max()), float(bias.abs().max())
    integral = bool((bias == bias.round()).all())  # the output zero point: no fraction bits
    types = {"scale": fixed(top, -frac, signed=False),
             "bias": int_type(int(-b) - 1, int(b)) if integral else fixed(b, -frac)}
    types["result"] = code_type(out_bits) if out_bits is not None else fixed(acc_bound * top, -frac)
    return types


def avgpool_accum(count: int, qmax: int, frac: int) -> str:
    """Sum of `count` codes ≤ qmax, divided by count and truncated `frac` bits below one code."""
    return fixed(count * qmax, -frac, signed=False)
