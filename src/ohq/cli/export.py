"""`ohq export`: write a quantized model as ONNX QDQ, QONNX, hls4ml/FINN configs or C headers."""

from __future__ import annotations

from typing import Annotated

import typer

from ohq.cli._common import JsonOpt, NormalizeOpt, ThreadsOpt, app, console, print_json
from ohq.errors import OhqError

CALIB = 256


@app.command("export")
def export_(
    format: Annotated[str, typer.Option("--format", "-f", help="onnx-qdq, qonnx, hls4ml or c.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Output file (onnx-qdq, qonnx) or folder (hls4ml, c).")],
    run: Annotated[str | None, typer.Option("--run", help="Run directory written by `ohq quantize`.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model (with --config) instead of --run.")] = None,
    config: Annotated[str | None, typer.Option("--config", "-c", help="Plan JSON (type ohq.plan) for --model.")] = None,
    weights: Annotated[str | None, typer.Option("--weights", help="State dict for --model (weights_only).")] = None,
    data: Annotated[str | None, typer.Option("--data", "-d", help="Calibration data for --model "
                                             "(default: the shipped model's data set).")] = None,
    calib: Annotated[int, typer.Option(help="Calibration samples from the train split (--model).")] = CALIB,
    device: Annotated[str | None, typer.Option(help="Device profile for the hls4ml/FINN folding.")] = None,
    normalize: NormalizeOpt = None,
    force: Annotated[bool, typer.Option("--force/--no-force", help="Overwrite an existing --out (only a file or folder ohq wrote).")] = False,
    threads: ThreadsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Export a quantized model (a run directory, or --model with a --config plan) to --format."""
    from ohq.export import export, get_format

    get_format(format)  # an unknown format fails before any model is built
    qmodel, input_shape, device = _load(run, model, config, weights, data, calib, device, normalize)
    opts = {"input_shape": input_shape}
    if device is not None:
        opts["device"] = device
    facts = export(qmodel, format, out, force=force, **opts)
    if json:
        print_json(facts)
        return
    files = facts.get("files")
    console.print(f"wrote {facts['format']} to {out}" + (f" ({len(files)} files)" if files else ""))


def _load(run, model, config, weights, data, calib, device, normalize=None):
    if (run is None) == (model is None):
        raise OhqError("give either --run DIR or --model M --config PLAN")
    if run is not None:
        from ohq.rundir import load_run

        r = load_run(run)
        return r.qmodel, r.input_shape, device or r.config.get("device")
    if config is None:
        raise OhqError("--model needs --config PLAN (a plan JSON of type ohq.plan)")
    qmodel, shape = _quantize(model, config, weights, data, calib, normalize)
    return qmodel, shape, device


def _quantize(model, config, weights, data, calib, normalize=None):

    from ohq.cli._common import resolve_model
    from ohq.data import load_dataset, sample
    from ohq.models.shipped import SHIPPED
    from ohq.quant import Plan, quantize

    plan = Plan.load_json(config)
    if calib < 1:
        raise OhqError(f"--calib {calib} gives empty calibration data; use at least 1 sample")
    loaded, shape = resolve_model(model, weights, None, normalize)
    if data is None:
        if loaded.name not in SHIPPED:
            raise OhqError(f"--data is needed to calibrate {model!r} (only shipped models know their data)")
        data = SHIPPED[loaded.name].data
    train = load_dataset(data, "train", loaded.normalize)
    return quantize(loaded.model.eval(), plan, sample(train, calib, seed=0)[0]), shape
