"""`hls4ml`: an hls4ml-shaped config (`Model`, `LayerName` → Precision/ReuseFactor/Strategy) and a
FINN-style folding JSON (`Defaults`, per layer PE/SIMD/resType/ram_style), both from the
QuantModel's integer datapath and the hardware model's tiling (ohq.hw).

Precisions describe ohq's integer engine exactly (docs/export.md): weight `ap_int<b>` (the codes;
the per-channel step is folded into the requantization multiplier), bias `ap_int<n>` and accum
`ap_int<n>` with n the bits the integer bias / the static accumulator bound need, result
`ap_uint<a>` (the output codes, zero point included) or, for a layer whose output is the model's
dequantized accumulator, the `ap_fixed<W,I>` that holds its range at its resolution.
Parallelism: PE and SIMD are the largest divisors of the output channels and of the input
channels (per group) not above the accelerator model's tile side; ReuseFactor is the multiplies
per multiplier, Strategy "Latency" when it is 1 and "Resource" otherwise.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ohq.errors import OhqError
from ohq.export._graphcheck import require_input_shape
from ohq.export._ints import LayerInts, layer_ints
from ohq.export._registry import Format, register_format
from ohq.export.c_header import layer_shapes

DEFAULT_DEVICE = "xc7z020clg400-1"
MODEL_PRECISION = "ap_fixed<16,6>"  # hls4ml's own default, for tensors ohq does not quantize
BRAM18_BITS = 18 * 1024


def signed_bits(value: int) -> int:
    """Bits of the two's complement integer type that holds ±value."""
    return max(int(abs(value)).bit_length() + 1, 2)


def _check_layer(name: str, layer, strict: bool) -> LayerInts:
    ints = layer_ints(layer)
    if strict and ints.scheme != "uniform":
        raise OhqError(f"hls4ml cannot express layer {name!r}: its weights use scheme {ints.scheme!r}, "
                       "and hls4ml's weight precisions are fixed-point types with one multiplier per "
                       "product; use scheme uniform, or --format c / onnx-qdq")
    return ints


def _gemm(ints: LayerInts, shapes):
    from ohq.hw.accelerator import Gemm

    (_, cin, *_), (_, cout, *ohw) = shapes
    groups = ints.conv_args.get("groups", 1)
    kh, kw = (ints.codes.shape[2], ints.codes.shape[3]) if ints.is_conv else (1, 1)
    return Gemm(cout // groups, cin // groups * kh * kw, math.prod(ohw) if ohw else 1, groups), cin // groups


def _divisor_at_most(n: int, cap: int) -> int:
    return max(d for d in range(1, min(n, max(cap, 1)) + 1) if n % d == 0)


def _folding(ints: LayerInts, shapes, device) -> dict[str, Any]:
    from ohq.hw.accelerator import lut_mult_max_bits
    from ohq.hw.cost import tiling
    from ohq.hw.plan import scheme_resource
    from ohq.quant.resource import Resource

    gemm, cin_g = _gemm(ints, shapes)
    tile = tiling(gemm, ints.w_bits, ints.inp.bits, device).tile
    pe = _divisor_at_most(gemm.m * gemm.groups, tile)
    simd = _divisor_at_most(cin_g, tile)
    resource = scheme_resource(ints.scheme)
    narrow = max(ints.w_bits, ints.inp.bits) <= lut_mult_max_bits()
    res_type = "lut" if resource in (Resource.SHIFT, Resource.SHIFT_ADD) or narrow else "dsp"
    weight_bits = ints.codes.numel() * ints.w_bits
    ram_style = "distributed" if weight_bits <= BRAM18_BITS else "block"
    mults = pe * simd
    reuse = math.ceil(gemm.groups * gemm.m * gemm.k / mults)
    return {"PE": pe, "SIMD": simd, "resType": res_type, "ram_style": ram_style, "_reuse": reuse}


def _precision(ints: LayerInts) -> dict[str, str]:
    code_lo, code_hi = ints.code_range
    w_bits = ints.w_bits if ints.scheme == "uniform" else signed_bits(max(-code_lo, code_hi))
    prec = {
        "weight": f"ap_int<{w_bits}>",
        "bias": f"ap_int<{signed_bits(int(ints.bias_int.abs().max()))}>",
        "accum": f"ap_int<{signed_bits(ints.acc_bound)}>",
    }
    if ints.out is not None:
        prec["result"] = f"ap_uint<{ints.out.bits}>"
    else:
        scale = ints.acc_scale
        integer = signed_bits(math.ceil(ints.acc_bound * float(scale.max())))
        frac = max(math.ceil(-math.log2(float(scale.min()))), 0)
        prec["result"] = f"ap_fixed<{integer + frac},{integer}>"
    return prec


def hls4ml_config(qmodel, input_shape: tuple[int, ...], device: str = DEFAULT_DEVICE, *,
                  strict: bool = True) -> dict[str, Any]:
    """The hls4ml config dict {"Model": ..., "LayerName": {layer: {...}}} of `qmodel`.

    strict=False gives PoT/SP2/row-mix layers the integer type that holds their codes instead of
    raising (the values are exact; the multiplier then is not hls4ml's).
    """
    from ohq.hw import get_device

    dev = get_device(device)
    shapes = layer_shapes(qmodel, input_shape)
    layers, reuse_all = {}, []
    for name, layer in qmodel.layers.items():
        ints = _check_layer(name, layer, strict)
        fold = _folding(ints, shapes[name], dev)
        reuse_all.append(fold["_reuse"])
        layers[name] = {"Precision": _precision(ints), "ReuseFactor": fold["_reuse"],
                        "Strategy": "Latency" if fold["_reuse"] == 1 else "Resource"}
    model = {"Precision": MODEL_PRECISION, "ReuseFactor": min(reuse_all, default=1),
             "Strategy": "Latency" if max(reuse_all, default=1) == 1 else "Resource"}
    return {"Model": model, "LayerName": layers}


def finn_folding(qmodel, input_shape: tuple[int, ...], device: str = DEFAULT_DEVICE, *,
                 strict: bool = True) -> dict[str, Any]:
    """FINN-style folding: {"Defaults": {...}, layer: {"PE", "SIMD", "resType", "ram_style"}}."""
    from ohq.hw import get_device

    dev = get_device(device)
    shapes = layer_shapes(qmodel, input_shape)
    doc: dict[str, Any] = {"Defaults": {"mem_mode": ["internal_decoupled", ["MVAU_hls", "VVAU_hls"]]}}
    for name, layer in qmodel.layers.items():
        fold = _folding(_check_layer(name, layer, strict), shapes[name], dev)
        doc[name] = {k: v for k, v in fold.items() if not k.startswith("_")}
    return doc


@register_format("hls4ml")
class Hls4ml(Format):
    kind = "dir"
    description = "hls4ml config JSON + FINN-style folding JSON"

    def check(self, qmodel: Any) -> None:
        for name, layer in qmodel.layers.items():
            _check_layer(name, layer, strict=True)

    def write(self, qmodel: Any, out: Path, **opts: Any) -> dict[str, Any]:
        shape = require_input_shape(opts, self.name)
        device = opts.get("device") or DEFAULT_DEVICE
        config = hls4ml_config(qmodel, shape, device)
        folding = finn_folding(qmodel, shape, device)
        (out / "hls4ml_config.json").write_text(json.dumps(config, indent=2) + "\n")
        (out / "finn_folding.json").write_text(json.dumps(folding, indent=2) + "\n")
        return {"files": ["hls4ml_config.json", "finn_folding.json"], "device": device}
