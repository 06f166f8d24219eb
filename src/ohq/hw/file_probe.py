"""The `file` probe: per-layer cycles and energy measured on a real board, read from CSV or JSON.

One record per (layer, w_bits, scheme) the board ran. CSV: a header row, then one row per record.
JSON: `{"clock_mhz": 150, "layers": [record, ...]}` (or a bare list of records). Fields:

| field | required | meaning |
|---|---|---|
| layer | yes | layer name as `ohq graph` prints it |
| w_bits | yes | weight bits |
| compute, transfer, writeback, postprocess | yes | clock cycles of the four steps |
| scheme | no (uniform) | number scheme |
| a_bits | no (= w_bits) | activation bits (informational) |
| energy_mj | no (0) | energy of the layer, mJ |
| latency_ms | no | else cycles / clock (`clock_mhz` in JSON, else the device's clock) |
| bram18k, dsp, lut, dram_bytes | no (0) | resources used and bytes moved |

See docs/hardware.md and docs/examples/probe_small_cnn_xc7z020.csv.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ohq.errors import OhqError
from ohq.graph import LayerGraph
from ohq.hw.cost import STEPS, LayerCost, steps_total
from ohq.hw.device import Device
from ohq.hw.plan import Assignment
from ohq.hw.probes import register_probe

REQUIRED = ("layer", "w_bits", *STEPS)
OPTIONAL = ("scheme", "a_bits", "energy_mj", "latency_ms", "bram18k", "dsp", "lut", "dram_bytes")
_INTS = ("w_bits", "a_bits", *STEPS, "bram18k", "dsp", "lut", "dram_bytes")


def _number(value, field: str, where: str):
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise OhqError(f"{where}: {field} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x < 0:
        raise OhqError(f"{where}: {field} must be a non-negative number, got {value!r}")
    if field in _INTS:
        if x != int(x):
            raise OhqError(f"{where}: {field} must be a whole number, got {value!r}")
        return int(x)
    return x


def _record(raw: dict, where: str) -> dict:
    unknown = [k for k in raw if k not in REQUIRED + OPTIONAL]
    if unknown:
        raise OhqError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    missing = [k for k in REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise OhqError(f"{where}: missing field(s) {', '.join(missing)}")
    rec = {"layer": str(raw["layer"]), "scheme": str(raw.get("scheme") or "uniform")}
    for key in REQUIRED[1:] + OPTIONAL[1:]:
        if raw.get(key) not in (None, ""):
            rec[key] = _number(raw[key], key, where)
    return rec


def read_probe_file(path: str | Path) -> tuple[dict[tuple[str, int, str], dict], float | None]:
    """Records keyed by (layer, w_bits, scheme), and the file's clock in MHz if it gives one."""
    path = Path(path)
    if not path.is_file():
        raise OhqError(f"probe file {path} does not exist")
    text = path.read_text()
    clock = None
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OhqError(f"probe file {path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if isinstance(doc, dict):
            unknown = set(doc) - {"clock_mhz", "layers", "device", "note"}
            if unknown or "layers" not in doc:
                raise OhqError(f"probe file {path}: expected keys layers[, clock_mhz, device, note]")
            if "clock_mhz" in doc:
                clock = _number(doc["clock_mhz"], "clock_mhz", str(path))
            doc = doc["layers"]
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            raise OhqError(f"probe file {path}: 'layers' must be a list of objects")
        rows = [(r, f"{path} record {i + 1}") for i, r in enumerate(doc)]
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
        if reader.fieldnames is None:
            raise OhqError(f"probe file {path}: empty CSV")
        rows = []
        for i, r in enumerate(reader):
            if None in r:
                raise OhqError(f"probe file {path} data row {i + 1}: more values than header columns")
            rows.append((r, f"{path} data row {i + 1}"))
    else:
        raise OhqError(f"probe file {path}: use a .csv or .json file")
    records: dict[tuple[str, int, str], dict] = {}
    for raw, where in rows:
        rec = _record(raw, where)
        key = (rec["layer"], rec["w_bits"], rec["scheme"])
        if key in records:
            raise OhqError(f"{where}: duplicate record for layer {key[0]!r} at {key[1]} bits ({key[2]})")
        records[key] = rec
    if clock == 0:
        raise OhqError(f"probe file {path}: clock_mhz must be positive")
    return records, clock


@register_probe("file")
class FileProbe:
    """Per-layer figures from a board, looked up by (layer, w_bits, scheme)."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            raise OhqError("the file probe needs a probe file (--probe-file F)")
        self.path = Path(path)
        self.records, self.clock_mhz = read_probe_file(self.path)

    def measure(
        self, graph: LayerGraph, assignments: dict[str, Assignment], device: Device
    ) -> list[LayerCost]:
        clock_hz = (self.clock_mhz or device.pl_clock_mhz) * 1e6
        out = []
        for layer in graph.layers:
            w_bits, a_bits, scheme = assignments[layer.name]
            rec = self.records.get((layer.name, w_bits, scheme))
            if rec is None:
                raise OhqError(
                    f"probe file {self.path} has no record for layer {layer.name!r} at {w_bits} bits ({scheme})"
                )
            cycles = steps_total(rec)
            out.append(LayerCost(
                name=layer.name, kind=layer.kind, params=layer.params,
                macs=layer.macs * layer.in_shape[0], w_bits=w_bits, a_bits=rec.get("a_bits", a_bits),
                scheme=scheme, cycles=cycles,
                latency_ms=rec.get("latency_ms", cycles["total"] / clock_hz * 1e3),
                energy_mj=rec.get("energy_mj", 0.0), bram18k=rec.get("bram18k", 0),
                dsp=rec.get("dsp", 0), lut=rec.get("lut", 0), dram_bytes=rec.get("dram_bytes", 0),
                utilization=0.0,
            ))
        return out
