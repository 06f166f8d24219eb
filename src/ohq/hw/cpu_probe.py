"""The `cpu` probe: each layer run on this host as a quantized PyTorch op and timed.

Steps, each the median of `repeats` timed runs after `warmup` runs, with `threads` intra-op threads:
transfer = quantizing the float input to uint8 (staging the operand), compute = the quantized
conv/linear kernel (fbgemm/oneDNN/qnnpack, whichever the quantized engine is), write-back =
dequantizing the output, post-process = a quantized ReLU on the output.

What the CPU kernels can and cannot speed up: PyTorch's quantized CPU kernels are INT8 only, so a
layer at 2-7 bits runs the same INT8 kernel and costs the same as at 8 bits (no packing of
narrow operands, no shift kernels for `pot`/`sp2`); above 8 bits there is no integer kernel, so
the float32 op is timed. Lower bit-widths therefore never help on this probe, and the model's
memory traffic is what INT8 moves. Cycles are nanoseconds (a 1 GHz reference tick); the probe
measures no energy (0.0) and no FPGA resources (0).
"""

from __future__ import annotations

import statistics
import time
import warnings

import torch
from torch import nn

from ohq.graph import Layer, LayerGraph
from ohq.hw.cost import LayerCost, steps_total
from ohq.hw.device import Device
from ohq.hw.plan import Assignment
from ohq.hw.probes import register_probe

NS_PER_CYCLE = 1.0


def kernel_kind(w_bits: int, a_bits: int) -> str:
    """The host kernel a layer at these bit-widths runs: 'int8' up to 8 bits, 'fp32' above."""
    return "int8" if max(w_bits, a_bits) <= 8 else "fp32"


def _median_ns(fn, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - start)
    return float(statistics.median(times))


def _float_module(layer: Layer) -> nn.Module:
    if layer.kind == "linear":
        return nn.Linear(layer.in_channels, layer.out_channels)
    return nn.Conv2d(
        layer.in_channels, layer.out_channels, layer.kernel, layer.stride, layer.padding,
        groups=layer.groups,
    )


def _quantized_module(layer: Layer, fmod: nn.Module) -> nn.Module:
    import torch.ao.nn.quantized as nnq

    qw = torch.quantize_per_tensor(fmod.weight.detach(), 0.02, 0, torch.qint8)
    if layer.kind == "linear":
        q = nnq.Linear(layer.in_channels, layer.out_channels)
    else:
        q = nnq.Conv2d(
            layer.in_channels, layer.out_channels, layer.kernel, layer.stride, layer.padding,
            groups=layer.groups,
        )
    q.set_weight_bias(qw, fmod.bias.detach())
    q.scale, q.zero_point = 0.05, 0
    return q


@register_probe("cpu")
class CpuProbe:
    """Times each layer on this host; bit-widths map to the INT8 or FP32 kernel (see module doc)."""

    def __init__(self, threads: int = 1, warmup: int = 3, repeats: int = 15) -> None:
        self.threads = threads
        self.warmup = warmup
        self.repeats = repeats
        self._cache: dict[tuple, dict[str, int]] = {}

    def _time_layer(self, layer: Layer, kind: str) -> dict[str, int]:
        key = (layer.kind, layer.in_shape, layer.out_channels, layer.kernel, layer.stride,
               layer.padding, layer.groups, kind)
        if key in self._cache:
            return self._cache[key]
        torch.manual_seed(0)
        fmod = _float_module(layer).eval()
        x = torch.rand(layer.in_shape)
        w, r = self.warmup, self.repeats
        with torch.no_grad(), warnings.catch_warnings():
            # PyTorch marks its quantized-tensor API deprecated; it is still the INT8 CPU path.
            warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*", category=UserWarning)
            if kind == "fp32":
                steps = {"transfer": 0.0, "compute": _median_ns(lambda: fmod(x), w, r)}
                y = fmod(x)
                steps["writeback"] = 0.0
                steps["postprocess"] = _median_ns(lambda: torch.relu(y), w, r)
            else:
                qmod = _quantized_module(layer, fmod)
                steps = {"transfer": _median_ns(lambda: torch.quantize_per_tensor(x, 0.01, 0, torch.quint8), w, r)}
                qx = torch.quantize_per_tensor(x, 0.01, 0, torch.quint8)
                steps["compute"] = _median_ns(lambda: qmod(qx), w, r)
                qy = qmod(qx)
                steps["writeback"] = _median_ns(lambda: qy.dequantize(), w, r)
                steps["postprocess"] = _median_ns(lambda: torch.relu(qy), w, r)
        cycles = steps_total({k: max(1, round(v / NS_PER_CYCLE)) for k, v in steps.items()})
        self._cache[key] = cycles
        return cycles

    def measure(
        self, graph: LayerGraph, assignments: dict[str, Assignment], device: Device
    ) -> list[LayerCost]:
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            out = []
            for layer in graph.layers:
                w_bits, a_bits, scheme = assignments[layer.name]
                kind = kernel_kind(w_bits, a_bits)
                cycles = self._time_layer(layer, kind)
                elem_bytes = 1 if kind == "int8" else 4
                dram = (layer.params + layer.in_fmap * layer.in_shape[0]
                        + layer.out_fmap * layer.out_shape[0]) * elem_bytes
                out.append(LayerCost(
                    name=layer.name, kind=layer.kind, params=layer.params,
                    macs=layer.macs * layer.in_shape[0], w_bits=w_bits, a_bits=a_bits,
                    scheme=scheme, cycles=cycles, latency_ms=cycles["total"] * NS_PER_CYCLE / 1e6,
                    energy_mj=0.0, bram18k=0, dsp=0, lut=0, dram_bytes=dram, utilization=0.0,
                ))
            return out
        finally:
            torch.set_num_threads(previous)
