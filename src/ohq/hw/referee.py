"""The RTL as referee of the analytical model: the same layers through both, four steps each.

Networks: the shipped models at their input size and ResNet-18/50, MobileNetV2/V3-Large at
1x3x224x224. Sampling of the big ImageNet networks, two levels:

- layers: counters depend only on a layer's geometry, so each distinct geometry (kind, shapes,
  kernel, stride, padding, groups) is simulated once and weighted by how often it occurs; of an
  ImageNet network at most `SAMPLE_LAYERS` geometries, evenly spaced in depth, are kept (its
  figures are over those layers);
- channels: a layer above the `rtl` probe's cycle budget runs at 2 and 3 channel pairs (or groups)
  and is extrapolated linearly (`ohq.hw.rtl.probe.simulate_layer`, within 1 % of a full run).

Both sides get the same peak (2 x `lanes` MACs/cycle) and the device's DMA rate and buffers, so
the comparison is about structure: tiling, bytes moved, DMA set-ups, post-process width.
Results are cached as JSON under `ohq.io.cache_root()/referee`, keyed by RTL sources and config.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from ohq.graph import Layer, LayerGraph, layer_graph
from ohq.hw.device import Device, get_device
from ohq.io import cache_root

IMAGENET = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large")
SAMPLE_LAYERS = 12  # distinct geometries per ImageNet network (evenly spaced in depth)
LANES = 192  # the rtl probe's INT8 build on xc7z020 (192 DSP48E1 x 2 products)
MAX_CYCLES = 150_000  # above this a layer is sampled (2 and 3 channel pairs or groups)


def network_graph(name: str) -> LayerGraph:
    """A shipped model at its input size, or a zoo network at 1x3x224x224."""
    from ohq.models import SHIPPED, build_shipped, create_model

    if name in SHIPPED:
        return layer_graph(build_shipped(name), SHIPPED[name].input_shape)
    return layer_graph(create_model(name), (1, 3, 224, 224))


def signature(layer: Layer) -> str:
    """A layer's geometry: layers that share it have identical counters."""
    return "|".join(str(v) for v in (layer.kind, layer.in_shape[1:], layer.out_shape[1:], layer.kernel,
                                     layer.stride, layer.padding, layer.groups))


@dataclass(frozen=True)
class Row:
    """One distinct layer geometry of one network at one bit-width, and how often it occurs there."""

    network: str
    layer: Layer
    count: int
    bits: int
    rtl: dict[str, int]  # the four counters and total, one sample


def _spaced(items: list, k: int) -> list:
    if len(items) <= k:
        return items
    return [items[i] for i in sorted({round(i * (len(items) - 1) / max(1, k - 1)) for i in range(k)})]


def distinct_layers(graph: LayerGraph, limit: int | None = None) -> list[tuple[Layer, int]]:
    """(first layer of each geometry, occurrences), in network order; at most about `limit` of them,
    shared among the layer kinds (conv, dwconv, linear...) by their counts, evenly spaced in depth."""
    seen: dict[str, list] = {}
    for layer in graph.layers:
        seen.setdefault(signature(layer), [layer, 0])[1] += 1
    out = [(lay, n) for lay, n in seen.values()]
    if limit is None or len(out) <= limit:
        return out
    kinds = {lay.kind for lay, _ in out}
    keep = set()
    for kind in kinds:
        of_kind = [i for i, (lay, _) in enumerate(out) if lay.kind == kind]
        keep.update(_spaced(of_kind, max(1, round(limit * len(of_kind) / len(out)))))
    return [out[i] for i in sorted(keep)]


def rtl_config(device: Device, bits: int, lanes: int = LANES):
    """The uniform build at `bits` with `lanes` lanes and the device's buffers and DMA."""
    from ohq.hw.rtl.probe import device_config

    return replace(device_config(device, "uniform", bits, bits), lanes=lanes)


def _cache_file(cfg) -> Path:
    return cache_root() / "referee" / f"{cfg.key()}.json"


def simulate(layers: Iterable[Layer], device: Device, bits: int, lanes: int = LANES,
             log=None) -> dict[str, dict[str, int]]:
    """RTL counters per layer signature (cached: a rerun simulates only new geometries)."""
    from ohq.hw.rtl.probe import simulate_layer

    cfg = rtl_config(device, bits, lanes)
    path = _cache_file(cfg)
    done: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}
    for layer in layers:
        sig = signature(layer)
        if sig in done:
            continue
        cycles, dram, secs, sampled = simulate_layer(layer, cfg, MAX_CYCLES)
        done[sig] = {**cycles, "dram_bytes": dram, "sim_s": secs, "sampled": sampled}
        if log:
            log(f"{bits}b {layer.name:28s} {cycles['total']:>10,} cycles {secs:6.1f} s sampled={sampled}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(done))
        tmp.replace(path)
    return done


def collect(networks: Iterable[str], device: str | Device = "xc7z020", bits: Iterable[int] = (8, 4),
            lanes: int = LANES, limit: int | None = SAMPLE_LAYERS, log=None) -> list[Row]:
    """The distinct layers of `networks` (at most `limit` per ImageNet network) through the RTL."""
    dev = get_device(device)
    per_net = {name: distinct_layers(network_graph(name), limit if name in IMAGENET else None)
               for name in networks}
    rows = []
    for b in bits:
        layers = [lay for pairs in per_net.values() for lay, _ in pairs]
        sims = simulate(layers, dev, b, lanes, log)
        for name, pairs in per_net.items():
            for lay, n in pairs:
                s = sims[signature(lay)]
                rtl = {k: int(s[k]) for k in ("compute", "transfer", "writeback", "postprocess", "total")}
                rows.append(Row(name, lay, n, b, rtl))
    return rows
