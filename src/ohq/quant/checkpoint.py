"""A compact, exact checkpoint of a QuantModel (`quantized.pt` of a run directory).

A QuantModel's state dict holds each quantized layer's integer codes as float64 next to a float32
copy of the folded weights. The checkpoint stores instead: the codes in the smallest integer dtype
(two per byte for 4 bits or fewer), the per-channel steps and biases as they are, and no float
copy of a quantized weight. `load_quantized` puts them back into a QuantModel built with the same
plan (and calibration), bit for bit.

>>> save_quantized(qmodel, "quantized.pt")          # doctest: +SKIP
>>> load_quantized(quantize(model, plan, calib), "quantized.pt")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ohq.errors import OhqError

FORMAT, VERSION = "ohq.quantized", 1
_INTS = (torch.int8, torch.int16, torch.int32, torch.int64)


def pack_nibbles(codes: Tensor) -> Tensor:
    """Signed codes in [-8, 7] → uint8, two per byte (low nibble first)."""
    flat = (codes.flatten().to(torch.int16) & 0xF).to(torch.uint8)
    if flat.numel() % 2:
        flat = torch.cat([flat, flat.new_zeros(1)])
    return flat[0::2] | (flat[1::2] << 4)


def unpack_nibbles(packed: Tensor, numel: int) -> Tensor:
    """The inverse of `pack_nibbles`: int8 codes, `numel` of them."""
    both = torch.stack([packed & 0xF, packed >> 4], dim=1).flatten()[:numel].to(torch.int16)
    return torch.where(both > 7, both - 16, both).to(torch.int8)


def _encode(t: Tensor) -> dict[str, Any]:
    """The smallest exact form of tensor `t`: nibbles, a small int dtype, or `t` itself."""
    meta = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
    if t.is_floating_point() and t.numel() and bool(torch.all(t == torch.round(t))):
        lo, hi = int(t.min()), int(t.max())
        if -8 <= lo and hi <= 7:
            return {**meta, "kind": "nibbles", "data": pack_nibbles(t)}
        for dtype in _INTS:
            info = torch.iinfo(dtype)
            if info.min <= lo and hi <= info.max:
                return {**meta, "kind": "int", "data": t.to(dtype)}
    return {**meta, "kind": "raw", "data": t.clone()}


def _decode(entry: dict[str, Any]) -> Tensor:
    dtype = getattr(torch, entry["dtype"])
    data = entry["data"]
    if entry["kind"] == "nibbles":
        numel = 1
        for d in entry["shape"]:
            numel *= d
        data = unpack_nibbles(data, numel)
    return data.to(dtype).reshape(entry["shape"])


def compact_state(qmodel) -> dict[str, Any]:
    """The checkpoint document of `qmodel` (see the module docstring)."""
    quantized = {f"{_prefix(qmodel, n)}weight" for n, layer in qmodel.layers.items() if layer.w_bits is not None}
    tensors = {k: _encode(v) for k, v in qmodel.state_dict().items() if k not in quantized}
    return {"type": FORMAT, "version": VERSION, "plan": qmodel.plan.to_dict(), "tensors": tensors}


def save_quantized(qmodel, path: str | Path) -> Path:
    """Write `qmodel`'s compact checkpoint to `path` (atomically)."""
    from ohq.io import write_atomic

    doc = compact_state(qmodel)
    return write_atomic(path, lambda p: torch.save(doc, p))


def load_quantized(qmodel, path: str | Path):
    """Load a checkpoint into `qmodel` (a QuantModel of the same model and plan); returns it."""
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (a corrupt or foreign file is the user's)
        raise OhqError(f"cannot read {path} as an ohq checkpoint: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != FORMAT or doc.get("version") != VERSION:
        raise OhqError(f"{path} is not an {FORMAT} v{VERSION} checkpoint")
    state = {k: _decode(v) for k, v in doc["tensors"].items()}
    for name, layer in qmodel.layers.items():
        if layer.w_bits is not None:  # the float copy of a quantized weight is its dequantized codes
            p = _prefix(qmodel, name)
            codes, step = state[f"{p}codes"], state[f"{p}step"]
            state[f"{p}weight"] = (codes * step.reshape((-1,) + (1,) * (codes.dim() - 1))).to(layer.weight.dtype)
    try:
        qmodel.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise OhqError(f"{path} does not fit this quantized model (another model or plan?)") from exc
    for layer in qmodel.layers.values():
        if layer.integer_ok:
            layer._prepare_integer()  # integer weights and constants derive from the loaded codes
    return qmodel


def _prefix(qmodel, layer_name: str) -> str:
    """The state-dict prefix of layer `layer_name` inside `qmodel`."""
    target = qmodel.layers[layer_name]
    for key, module in qmodel.named_modules():
        if module is target:
            return f"{key}."
    raise KeyError(layer_name)
