"""The run directory: what `ohq quantize` writes and `ohq export --run DIR` reads back.

    DIR/config.json   {"type": "ohq.run", "version": 1, "model", "weights", "input_shape", "data",
                       "device", "plan": <ohq.plan>, "hls4ml": {...}, ...}
    DIR/calib.npz     the calibration inputs (x), so the quantized model is rebuilt with the plan
    DIR/quantized.pt  integer codes (smallest int dtype, 2 per byte at ≤ 4 bits) and scales, which
                      `load_run` loads into that rebuild (so a fine-tuned run reads back fine-tuned)

>>> run = load_run("runs/demo")          # doctest: +SKIP
>>> run.qmodel(run.calib[:4]).shape      # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ohq.errors import OhqError

RUN_TYPE, RUN_VERSION = "ohq.run", 1
CONFIG, CALIB, CHECKPOINT = "config.json", "calib.npz", "quantized.pt"


@dataclass
class Run:
    """A run directory read back: the float model, its plan, calibration inputs and QuantModel."""

    path: Path
    config: dict[str, Any]
    model: nn.Module
    plan: Any  # ohq.quant.Plan
    calib: torch.Tensor
    qmodel: Any  # ohq.quant.QuantModel

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.config["input_shape"])


def run_config(model: str, weights: str | None, input_shape, data: str | None, plan, **extra: Any) -> dict:
    """The config.json document of a run (plan serialised with its own type and version)."""
    return {
        "type": RUN_TYPE,
        "version": RUN_VERSION,
        "model": model,
        "weights": None if weights is None else str(Path(weights).resolve()),
        "input_shape": list(input_shape),
        "data": data,
        "plan": plan.to_dict(),
        **extra,
    }


def load_run(path: str | Path) -> Run:
    """Read a run directory and rebuild its quantized model exactly (same plan, same calibration)."""
    from ohq.models import load_model
    from ohq.quant import Plan, quantize

    path = Path(path)
    if not path.is_dir():
        raise OhqError(f"run directory {path} does not exist")
    config_path = path / CONFIG
    if not config_path.is_file():
        raise OhqError(f"{path} is not a run directory: it has no {CONFIG}")
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise OhqError(f"{config_path} is not valid JSON: {exc}") from None
    if not isinstance(config, dict) or config.get("type") != RUN_TYPE:
        raise OhqError(f"{config_path} is not an ohq run config (type {RUN_TYPE!r})")
    if "plan" not in config or config["plan"] is None:
        raise OhqError(f"{config_path} has no plan; run `ohq quantize` to make one")
    plan = Plan.from_dict(config["plan"])
    calib_path = path / CALIB
    if not calib_path.is_file():
        raise OhqError(f"{path} has no {CALIB}; the quantized model cannot be rebuilt")
    with np.load(calib_path, allow_pickle=False) as f:
        calib = torch.from_numpy(f["x"]).float()
    model = load_model(config["model"], config.get("weights")).model
    codesign = (config.get("results") or {}).get("codesign") or {}
    if any(v > 0 for v in codesign.get("sparsity", {}).values()):  # pruned before quantization
        from ohq.quant.prune import prune_model

        sparsity = {k: v for k, v in codesign["sparsity"].items() if v > 0}
        model = prune_model(model, sparsity, codesign.get("granularity", "unstructured"), calib)[0]
    qmodel = quantize(model, plan, calib)
    if (path / CHECKPOINT).is_file():  # the run's own codes and scales: a fine-tuned model is not its PTQ rebuild
        from ohq.quant.checkpoint import load_quantized

        load_quantized(qmodel, path / CHECKPOINT)
    return Run(path, config, model, plan, calib, qmodel)


def write_run(result, out: str | Path, force: bool = False, pareto_points=None, extra_tables=None,
              figures: dict[str, bytes] | None = None) -> Path:
    """Write a PipelineResult as a run directory. An existing `out` is refused unless `force` and
    it holds only a run ohq wrote (ohq.io); the directory is built beside it and swapped into
    place, so a failure leaves nothing half-written."""
    from ohq.io import write_dir_atomic

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_dir_atomic(out, lambda tmp: _fill_run(result, tmp, pareto_points, extra_tables, figures or {}),
                     kind="run", force=force)
    return out


def _fill_run(result, run: Path, pareto_points, extra_tables, figures: dict[str, bytes]) -> None:
    from ohq.export.hls4ml import hls4ml_config
    from ohq.io import write_json
    from ohq.quant.checkpoint import save_quantized
    from ohq.report import write_run_artifacts

    req = result.request
    np.savez_compressed(run / CALIB, x=result.calib.numpy())
    save_quantized(result.qmodel, run / CHECKPOINT)
    config = run_config(
        req.model, req.weights, result.input_shape, req.data, result.plan,
        device=req.device, probe=req.probe,
        request={k: _plain(v) for k, v in vars(req).items() if k not in ("model", "weights", "data")},
        results=summary(result),
        hls4ml=hls4ml_config(result.qmodel, result.input_shape, req.device, strict=False),
    )
    write_json(run / CONFIG, config)
    write_run_artifacts(result, run, pareto_points=pareto_points, extra_tables=extra_tables)
    for name, data in figures.items():  # e.g. fronts.png of a budget sweep
        (run / name).write_bytes(data)


def _plain(value: Any) -> Any:
    """A request field as JSON: scheme configs by their label ('sp2:4'), other dataclasses as dicts."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if hasattr(value, "label") and hasattr(value, "spec"):  # a scheme config (ohq.quant.configs)
        return value.label
    return asdict(value) if is_dataclass(value) else value


def summary(result) -> dict[str, Any]:
    """The `ohq quantize --json` document (also stored in config.json under "results")."""
    from ohq.report.advice import accuracy_advice, budget_text, fp32_size_mib

    mixed = result.totals["mixed"]
    return {
        "model": result.model_name,
        "device": result.request.device,
        "budget": result.budgets,
        "objective": result.request.objective,
        "solve_ms": result.solve_ms,
        "size_mib": mixed["size_mib"],
        "latency_ms": mixed["latency_ms"],
        "energy_mj": mixed["energy_mj"],
        "top1_fp32": result.top1["fp32"],
        "top1_int8": result.top1["int8"],
        "top1_mixed": result.top1["mixed"],
        **({"top1_mixed_ptq": result.top1["mixed_ptq"]} if "mixed_ptq" in result.top1 else {}),
        "int8": result.totals["int8"],
        "data": result.data_source,
        "warnings": result.extra.get("warnings", []),
        "notes": accuracy_advice(result),
        "budget_text": budget_text(result),
        "size_mib_fp32": fp32_size_mib(result),
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        **({"codesign": result.extra["codesign"]} if "codesign" in result.extra else {}),
        "layers": [
            {
                "name": row.name,
                "bits": row.bits,
                "scheme": row.scheme,
                "omega": row.omega,
                "sensitivity": row.sensitivity,
                "cycles": row.cycles,
                "energy_mj": row.energy_mj,
                "size_mib_by_bits": {str(b): v for b, v in row.size_mib_by_bits.items()},
            }
            for row in result.layers
        ],
    }
