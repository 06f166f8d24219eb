"""`ohq eval --engine rtl`: test images through the simulated chip, against the integer engine."""

from __future__ import annotations

import torch
from torch import Tensor

from ohq.errors import OhqError
from ohq.hw.rtl.engine import RtlEngine


def rtl_eval(qmodel, x: Tensor, y: Tensor, limit: int, lanes: int = 16) -> dict:
    """Top-1 of the chip on the first `limit` samples, and how many logits equal the integer engine's.

    Conv/linear layers run on the layer engine and the graph ops between them on the
    post-processing unit, one image per simulation (see `RtlEngine`).
    """
    if limit < 1:
        raise OhqError(f"--limit {limit}: give at least 1 image")
    x, y = x[:limit], y[:limit]
    engine = RtlEngine(qmodel, lanes=lanes)
    with torch.no_grad():
        chip = engine(x)
        ref = qmodel.to_integer()(x)
    same = (chip == ref).all(dim=1)
    cycles = {}
    for per in engine.layer_cycles.values():
        for k, v in per.items():
            cycles[k] = cycles.get(k, 0) + v
    total = cycles.get("total", 0)
    return {
        "images": int(x.shape[0]),
        "top1_rtl": float((chip.argmax(dim=1) == y).float().mean()),
        "top1_integer_subset": float((ref.argmax(dim=1) == y).float().mean()),
        "identical_logits": int(same.sum()),
        "bitexact_rtl": bool(same.all()),
        "rtl_cycles_per_image": {k: v // x.shape[0] for k, v in cycles.items()},
        "rtl_sim_seconds": engine.sim_seconds,
        "rtl_cycles_per_second": total / engine.sim_seconds if engine.sim_seconds else None,
        "rtl_lanes": lanes,
        "rtl_steps_on_chip": len(engine.on_chip),
    }
