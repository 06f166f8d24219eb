"""layers.csv: one row per quantizable layer, with its sensitivity and hardware cost at every
candidate bit-width (docs/design.md).

>>> write_layers_csv(result, "runs/demo/layers.csv")   # doctest: +SKIP

Columns: name, kind, params, macs, sensitivity, omega, bits, scheme, masked_top1, then for each
candidate b (ascending bits; 'sp2:4' style where schemes mix at equal bits): size_mib_b, latency_ms_b, energy_mj_b, cycles_compute_b,
cycles_transfer_b, cycles_writeback_b, cycles_postprocess_b, cycles_total_b, bram18k_b.
A value the pipeline did not measure (masked top-1 without test data) is an empty cell.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ohq.io import write_atomic

BASE_COLUMNS = (
    "name", "kind", "params", "macs", "sensitivity", "omega", "bits", "scheme", "masked_top1",
)
CYCLE_STEPS = ("compute", "transfer", "writeback", "postprocess", "total")
PER_BITS = (
    "size_mib", "latency_ms", "energy_mj",
    *(f"cycles_{step}" for step in CYCLE_STEPS),
    "bram18k",
)


def candidate_bits(result) -> tuple:
    """The candidates the costs were measured at, in the cost table's order (ascending bits):
    bit-widths, or 'scheme:bits' labels where the candidates mix schemes at equal bits."""
    found: dict = {}
    for row in result.layers:
        found.update(dict.fromkeys(row.cycles_by_bits))
    return tuple(found) or tuple(sorted(result.request.bits))


def layer_columns(bits: tuple[int, ...]) -> list[str]:
    """The CSV header for candidate bit-widths `bits`."""
    return [*BASE_COLUMNS, *(f"{key}_{b}" for b in bits for key in PER_BITS)]


def layer_records(result) -> list[dict[str, Any]]:
    """One dict per layer with exactly the keys of `layer_columns` (None where not measured)."""
    bits = candidate_bits(result)
    records = []
    for row in result.layers:
        rec: dict[str, Any] = {
            "name": row.name, "kind": row.kind, "params": row.params, "macs": row.macs,
            "sensitivity": row.sensitivity, "omega": row.omega, "bits": row.bits,
            "scheme": row.scheme, "masked_top1": row.masked_top1,
        }
        for b in bits:
            cycles = row.cycles_by_bits.get(b, {})
            rec[f"size_mib_{b}"] = row.size_mib_by_bits.get(b)
            rec[f"latency_ms_{b}"] = row.latency_ms_by_bits.get(b)
            rec[f"energy_mj_{b}"] = row.energy_mj_by_bits.get(b)
            for step in CYCLE_STEPS:
                rec[f"cycles_{step}_{b}"] = cycles.get(step)
            rec[f"bram18k_{b}"] = row.bram18k_by_bits.get(b)
        records.append(rec)
    return records


def write_layers_csv(result, path: str | Path) -> Path:
    """Write the per-layer table of `result` (a PipelineResult) to `path`, atomically."""
    columns = layer_columns(candidate_bits(result))
    records = layer_records(result)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for rec in records:
                writer.writerow({k: "" if v is None else v for k, v in rec.items()})

    return write_atomic(path, write)
