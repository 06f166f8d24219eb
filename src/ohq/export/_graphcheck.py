"""Walks over a QuantModel shared by the formats' checks: every quantizer and where it sits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ohq.errors import OhqError
from ohq.quant.dyadic import QParams
from ohq.quant.layers import QuantLayer
from ohq.quant.qmodules import QOp


def quantizers_in(qmodel) -> Iterator[tuple[str, QParams]]:
    """(where, quantizer) for every activation quantizer of the graph (layers and ops)."""
    for name, mod in qmodel.graph_module.named_modules():
        if isinstance(mod, QuantLayer):
            for p in (mod.inp, mod.out):
                if p is not None:
                    yield f"layer {name!r}", p
        elif isinstance(mod, QOp):
            for p in [*mod.ins, mod.out]:
                if p is not None:
                    yield f"op {name!r}", p


def require_input_shape(opts: dict[str, Any], fmt: str) -> tuple[int, ...]:
    shape = opts.get("input_shape")
    if shape is None:
        raise OhqError(f"{fmt} export needs input_shape (e.g. (1, 1, 28, 28)) to trace the model")
    return tuple(int(d) for d in shape)
