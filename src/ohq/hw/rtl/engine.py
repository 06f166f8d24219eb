"""A QuantModel run on the simulated chip: every integer op between input and logits.

`RtlEngine(qmodel)` is the integer engine (`QuantModel.to_integer()`) with its steps replaced by
chip jobs: each QuantLayer (conv/linear with its requantization, or the dequantized accumulators
of a layer feeding the output) on the layer engine (`run_layer`), and the graph ops between layers
(residual add, ReLU, lookup tables, max and global average pooling, producer→consumer rescales,
cat) on the post-processing unit (`ohq.hw.rtl.ops`). What stays on the PS: quantizing the float
input, dequantizing the logits, reshapes (flatten, identity, dropout) and QMul (no unit).
`layer_cycles` accumulates each step's four counters over the samples it ran; `check=True` also
runs the integer engine's step and raises if the chip's output differs by one bit.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ohq.errors import OhqError
from ohq.hw.rtl.build import RtlConfig
from ohq.hw.rtl.ops import CHIP_OPS, run_op, run_rescale
from ohq.hw.rtl.sim import RtlResult, config_for, run_layer
from ohq.quant.layers import QuantLayer


class RtlEngine:
    def __init__(self, qmodel, lanes: int = 16, check: bool = False,
                 config: Callable[[QuantLayer], RtlConfig] | None = None) -> None:
        self.engine = qmodel.to_integer()
        self.layer_cycles: dict[str, dict[str, int]] = {}
        self.sim_seconds = 0.0
        self.on_chip: list[str] = []  # the steps that ran on the chip (layers and graph ops)
        self._config = config or (lambda ql: config_for(ql, lanes))
        self._check = check
        layers = [m for m in qmodel.layers.values() if m.integer_ok]
        self._vec_cfg = self._config(layers[0]) if layers else RtlConfig(lanes=lanes)
        steps = []
        for node, fn in self.engine._steps:
            mod = getattr(fn, "__self__", None)
            if isinstance(mod, QuantLayer):
                fn = self._layer_fn(mod)
            elif isinstance(mod, CHIP_OPS):
                fn = self._op_fn(node.target, mod)
            steps.append((node, fn))
        self.engine._steps = steps

    def _count(self, name: str, results: list[RtlResult]) -> None:
        tot = self.layer_cycles.setdefault(name, {})
        if name not in self.on_chip:
            self.on_chip.append(name)
        for r in results:
            self.sim_seconds += r.sim_seconds
            for k, v in r.cycles.items():
                tot[k] = tot.get(k, 0) + v

    def _verify(self, name: str, ref: Callable[[], Tensor], out: Tensor) -> None:
        if self._check:
            want = ref()
            if want.shape != out.shape or not torch.equal(want, out):
                bad = int((want != out).sum()) if want.shape == out.shape else "shape"
                raise OhqError(f"RTL output of {name!r} differs from the integer engine "
                               f"({bad} of {want.numel()} values)")

    def _layer_fn(self, ql: QuantLayer) -> Callable[[Tensor], Tensor]:
        cfg = self._config(ql)

        def run(q: Tensor) -> Tensor:
            x = q
            if ql.src is not None and ql.src != ql.inp:  # the producer→consumer rescale
                x, res = run_rescale(q, ql.src, ql.inp, self._vec_cfg)
                self._count(ql.name, res)
            out, results = run_layer(ql, x, cfg, rescaled=True)
            self._count(ql.name, results)
            self._verify(ql.name, lambda: ql.forward_int(q), out)
            return out
        return run

    def _op_fn(self, name: str, mod) -> Callable[..., Tensor]:
        def run(*qs: Tensor) -> Tensor:
            out, results = run_op(mod, list(qs), self._vec_cfg)
            self._count(name, results)
            self._verify(name, lambda: mod.forward_int(*qs), out)
            return out
        return run

    @torch.no_grad()
    def __call__(self, x: Tensor) -> Tensor:
        return self.engine(x)
