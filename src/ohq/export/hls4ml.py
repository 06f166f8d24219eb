"""`hls4ml`: a complete hls4ml config plus the model in the form hls4ml's PyTorch front end converts.

OUT/model.pt      the nn.Sequential of _hls_model (integer weight codes and biases, each layer's
                  requantization as a BatchNorm, global pooling as AvgPool2d), saved whole
                  (`torch.load(..., weights_only=False)`); it reads ohq's input codes q - z
OUT/hls4ml_config.json  `hls_config` for `convert_from_pytorch_model`: Model (ChannelsLastConversion
                  "full", Strategy, ReuseFactor), InputShape, and a LayerName entry for every layer
                  hls4ml creates, named as hls4ml names them, with the exact types of _hls_types
OUT/convert.py    the conversion as a user runs it (python convert.py PROJECT_DIR)
OUT/finn_folding.json  FINN folding (finn.py)

The C simulation (`compile()` → `predict()`) computes ohq's integer engine: every code of every
layer is ohq's, with fitted or power-of-two (`--scale po2`) scales; the logits are acc·s_in·step_c
(bit-exact with po2 scales, within 2^-40 relative otherwise: ohq rounds them to float32).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ohq.errors import OhqError
from ohq.export._graphcheck import require_input_shape
from ohq.export._hls_model import HlsLayer, avgpool_frac, hls_layers, hls_model
from ohq.export._hls_types import avgpool_accum, int_type, layer_types, rescale_types
from ohq.export._ints import layer_ints
from ohq.export._registry import Format, register_format

DEFAULT_DEVICE = "xc7z020clg400-1"
MODEL_PRECISION = "ap_fixed<16,6>"  # hls4ml's own default, for tensors ohq does not quantize
INPUT_NAME = "input_1"  # hls4ml's name for the traced Sequential's placeholder `input`
IO_TYPE = "io_parallel"
CONVERT = '''"""Convert the ohq export in this folder with hls4ml and build its C simulation."""
import json
import sys
from pathlib import Path

import torch
from hls4ml.converters import convert_from_pytorch_model

here = Path(__file__).parent
model = torch.load(here / "model.pt", weights_only=False)
config = json.loads((here / "hls4ml_config.json").read_text())
config["InputShape"] = tuple(config["InputShape"])  # hls4ml reads a list as one shape per input
hls = convert_from_pytorch_model(model, hls_config=config, output_dir=sys.argv[1] if len(sys.argv) > 1
                                 else "hls4ml_prj", backend="Vivado", io_type="{io}")
hls.compile()
'''


def check_specs(qmodel) -> None:
    """OhqError naming the first layer whose quantization hls4ml's fixed-point types cannot hold."""
    for name, layer in qmodel.layers.items():
        if layer.w_bits is None or layer.inp is None:
            raise OhqError(f"hls4ml cannot express layer {name!r}: it keeps its weights or input in "
                           "float; quantize every layer (a plan without null specs)")
        if layer.spec.scheme != "uniform":
            raise OhqError(f"hls4ml cannot express layer {name!r}: its weights use scheme "
                           f"{layer.spec.scheme!r}, and hls4ml's weights are fixed-point values with one "
                           "multiplier per product; use scheme uniform, or --format c / onnx-qdq")


def check_hls4ml(qmodel, input_shape: tuple[int, ...]) -> list[HlsLayer]:
    """The hls4ml layer chain; OhqError naming the first layer hls4ml cannot express."""
    check_specs(qmodel)
    return hls_layers(qmodel, input_shape)


def _entry(layer: HlsLayer, prev_type: str, acc_bound: int) -> dict[str, Any]:
    if layer.kind in ("conv", "dense"):
        return {"Precision": layer_types(layer_ints(layer.module)), "ReuseFactor": 1, "Strategy": "Latency"}
    if layer.kind == "rescale":
        bits = layer.out.bits if layer.out is not None else None
        return {"Precision": rescale_types(layer.scale, layer.bias, layer.frac, acc_bound, bits)}
    if layer.kind == "avgpool":
        count = layer.in_shape[2] * layer.in_shape[3]
        accum = avgpool_accum(count, layer.inp.qmax, avgpool_frac(layer.module, count)[2])
        return {"Precision": {"accum": accum, "result": accum}}
    if layer.kind == "maxpool":  # its accumulator holds the maximum: the same codes
        return {"Precision": {"accum": prev_type, "result": prev_type}}
    return {"Precision": {"result": prev_type}}  # relu, flatten: the same codes


def hls4ml_config(qmodel, input_shape: tuple[int, ...], device: str = DEFAULT_DEVICE, *,
                  strict: bool = True) -> dict[str, Any] | None:
    """The hls4ml `hls_config` of `qmodel` (strict=False: None where hls4ml cannot express it)."""
    try:
        layers = check_hls4ml(qmodel, input_shape)
    except OhqError:
        if strict:
            raise
        return None
    first = next(la for la in layers if la.kind in ("conv", "dense")).inp
    names = {INPUT_NAME: {"Precision": {"result": int_type(-first.zero, first.qmax - first.zero)}}}
    prev, acc_bound = names[INPUT_NAME]["Precision"]["result"], 0
    for layer in layers:
        if layer.kind in ("conv", "dense"):
            acc_bound = layer_ints(layer.module).acc_bound
        entry = _entry(layer, prev, acc_bound)
        names[layer.name] = entry
        prev = entry["Precision"]["result"]
    model = {"Precision": {"default": MODEL_PRECISION}, "ReuseFactor": 1, "Strategy": "Latency",
             "ChannelsLastConversion": "full", "TransposeOutputs": False, "BramFactor": 1_000_000_000,
             "TraceOutput": False}
    # a tuple: hls4ml reads a list as one shape per input (JSON has no tuples: convert.py restores it)
    return {"Model": model, "InputShape": tuple(input_shape[1:]), "LayerName": names}


@register_format("hls4ml")
class Hls4ml(Format):
    kind = "dir"
    description = "hls4ml model on integer codes + complete config (C simulation = ohq's integer engine), FINN folding"

    def check(self, qmodel: Any) -> None:
        check_specs(qmodel)

    def write(self, qmodel: Any, out: Path, **opts: Any) -> dict[str, Any]:
        from ohq.export.finn import finn_folding

        shape = require_input_shape(opts, self.name)
        device = opts.get("device") or DEFAULT_DEVICE
        layers = check_hls4ml(qmodel, shape)
        config = hls4ml_config(qmodel, shape, device)
        torch.save(hls_model(layers), out / "model.pt")
        (out / "hls4ml_config.json").write_text(json.dumps(config, indent=2) + "\n")
        (out / "convert.py").write_text(CONVERT.replace("{io}", IO_TYPE))
        (out / "finn_folding.json").write_text(json.dumps(finn_folding(qmodel, shape, device), indent=2) + "\n")
        return {"files": ["model.pt", "hls4ml_config.json", "convert.py", "finn_folding.json"],
                "device": device}
