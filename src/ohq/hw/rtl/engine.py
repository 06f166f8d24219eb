"""A QuantModel run with its conv/linear layers on the simulated chip.

`RtlEngine(qmodel)` is the integer engine (`QuantModel.to_integer()`) with every QuantLayer step
replaced by `run_layer`: the conv/linear, its requantization (and the dequantized accumulators of a
layer feeding the output) run in RTL; ReLU, pooling, residual add, LUT activations, cat and the
producer→consumer rescales stay in the integer engine. `layer_cycles` accumulates each layer's
four counters over the samples it ran; `check=True` also runs the integer engine's layer and
raises if the chip's output differs by one bit.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ohq.errors import OhqError
from ohq.hw.rtl.build import RtlConfig
from ohq.hw.rtl.sim import config_for, run_layer
from ohq.quant.layers import QuantLayer


class RtlEngine:
    def __init__(self, qmodel, lanes: int = 16, check: bool = False,
                 config: Callable[[QuantLayer], RtlConfig] | None = None) -> None:
        self.engine = qmodel.to_integer()
        self.layer_cycles: dict[str, dict[str, int]] = {}
        self.sim_seconds = 0.0
        self.mismatches: list[str] = []
        self._config = config or (lambda ql: config_for(ql, lanes))
        self._check = check
        steps = []
        for node, fn in self.engine._steps:
            mod = getattr(fn, "__self__", None)
            if isinstance(mod, QuantLayer):
                fn = self._layer_fn(mod)
            steps.append((node, fn))
        self.engine._steps = steps

    def _layer_fn(self, ql: QuantLayer) -> Callable[[Tensor], Tensor]:
        cfg = self._config(ql)

        def run(q: Tensor) -> Tensor:
            out, results = run_layer(ql, q, cfg)
            tot = self.layer_cycles.setdefault(ql.name, {})
            for r in results:
                self.sim_seconds += r.sim_seconds
                for k, v in r.cycles.items():
                    tot[k] = tot.get(k, 0) + v
            if self._check:
                ref = ql.forward_int(q)
                if not torch.equal(ref, out):
                    self.mismatches.append(ql.name)
                    raise OhqError(f"RTL output of layer {ql.name!r} differs from the integer engine "
                                   f"({int((ref != out).sum())} of {ref.numel()} values)")
            return out
        return run

    @torch.no_grad()
    def __call__(self, x: Tensor) -> Tensor:
        return self.engine(x)
