"""`ohq analyze`: per-layer sensitivity (MQE by default; Eq. 5 and Hessian-trace baselines)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ohq.cli._common import (
    InputOpt,
    JsonOpt,
    ModelOpt,
    NormalizeOpt,
    ThreadsOpt,
    WeightsOpt,
    app,
    console,
    console_err,
    print_json,
    progress,
    resolve_model,
)
from ohq.errors import OhqError


def _method_params(method: str, bits: int | None, seed: int, masks: int, alpha: float) -> dict:
    params: dict = {}
    if bits is not None:
        params["bits"] = bits
    if method in ("mqe", "hessian"):
        params["seed"] = seed
    if method == "mqe":
        params.update(n_masks=masks, alpha=alpha)
    return params


def _load_inputs(loaded, shape, data, distilled, samples, seed, distill_steps):
    """(x, y or None, test split or None, description) for the chosen data source."""

    from ohq.cli.distill import run_distill
    from ohq.data.distill import load_inputs

    if data is not None and distilled is not None:
        raise OhqError("pass either --data or --distilled, not both")
    if data is not None:
        from ohq.data import load_dataset, sample

        train = load_dataset(data, "train", loaded.normalize)
        if samples > len(train):
            raise OhqError(f"--samples {samples} is more than the {len(train)} samples of {data}'s training split")
        x, y = sample(train, samples, seed)
        return x, y, load_dataset(data, "test", loaded.normalize), data
    if distilled is not None:
        x = load_inputs(distilled)
        if samples > len(x):
            raise OhqError(f"--samples {samples} is more than the {len(x)} samples in {distilled}")
        return x[:samples], None, None, f"distilled:{distilled}"
    label = f"no --data: distilling {samples} inputs, {distill_steps} steps"
    d, _ = run_distill(loaded, shape, samples, distill_steps, 32, 0.5, seed, None, label=label)
    return d.x, None, None, "distilled"


@app.command()
def analyze(
    model: ModelOpt,
    data: Annotated[str | None, typer.Option("--data", "-d", help="Real data: digits, mnist, file.npz, folder.")] = None,
    distilled: Annotated[str | None, typer.Option(help="Inputs written by `ohq distill` (.npz).")] = None,
    method: Annotated[str, typer.Option(help="Sensitivity method: mqe (the paper's), layerwise, hessian or any registered one.")] = "mqe",
    bits: Annotated[int | None, typer.Option(help="Bit-width (mqe: model bits, 8; others: layer bits, 4).")] = None,
    samples: Annotated[int, typer.Option("--samples", "-n", help="Number of samples N.")] = 32,
    seed: Annotated[int, typer.Option(help="Seed for sample choice, masks, probes, distillation.")] = 0,
    masks: Annotated[int, typer.Option(help="mqe: masks averaged per layer (the paper: 1).")] = 4,
    alpha: Annotated[float, typer.Option(help="mqe: fraction of weights masked.")] = 0.5,
    distill_steps: Annotated[int, typer.Option(help="Adam steps when distilling data on the fly.")] = 500,
    masked_top1: Annotated[bool, typer.Option(help="Also measure top-1 with each layer masked (costs layers × masks test passes).")] = False,
    test_samples: Annotated[int | None, typer.Option(help="Test samples for masked_top1 (giving it turns it on; default 2000).")] = None,
    plot: Annotated[str | None, typer.Option(help="Write the sensitivity / masked top-1 figure (.png).")] = None,
    weights: WeightsOpt = None,
    input: InputOpt = None,
    normalize: NormalizeOpt = None,
    threads: ThreadsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Score every quantizable layer's sensitivity to quantization (the OHQ paper §3.2.1, Fig. 5 left)."""
    from ohq.report.plots import plot_scores
    from ohq.sensitivity import MQE, get_method

    if samples <= 0:
        raise OhqError(f"--samples must be a positive number of samples, got {samples}")
    params = _method_params(method, bits, seed, masks, alpha)
    get_method(method, **params)  # unknown method: one line before any work
    if bits is not None:  # bad bit-widths too (errors under a progress bar would not be one line)
        from ohq.quant import QuantSpec

        QuantSpec(w_bits=bits, a_bits=bits if method == "mqe" else None)
    if method == "mqe" and not 0.0 < alpha <= 1.0:
        raise OhqError(f"--alpha must be in (0, 1], got {alpha}")
    if masks <= 0:
        raise OhqError(f"--masks must be a positive integer, got {masks}")
    if plot is not None and not plot.endswith(".png"):
        raise OhqError(f"--plot must end in .png, got {plot!r}")
    loaded, shape = resolve_model(model, weights, input, normalize)
    x, y, test, source = _load_inputs(loaded, shape, data, distilled, samples, seed, distill_steps)
    with progress() as bar:
        task = bar.add_task(f"{method} sensitivity", total=1, info="")
        est = get_method(method, **params, callback=lambda d, t: bar.update(task, completed=d, total=t))
        est.fit(loaded.model, x, y)
        top1 = None
        wanted = masked_top1 or bool(test_samples)
        if test is not None and wanted:
            n_test = min(2000 if test_samples is None else test_samples, len(test))
            mqe = est if isinstance(est, MQE) else MQE(seed=seed).fit(loaded.model, x)
            cost = f"masked top-1: {len(mqe.layer_names_)} layers × {mqe.n_masks} masks × {n_test} images"
            bar.update(task, description=cost, completed=0, total=1)
            top1 = mqe.masked_top1(test.x[:n_test], test.y[:n_test])
            bar.update(task, completed=1)
    layers = [
        {"name": n, "sensitivity": float(s), "masked_top1": None if top1 is None else float(top1[i])}
        for i, (n, s) in enumerate(zip(est.layer_names_, est.scores_, strict=True))
    ]
    if plot is not None:
        plot_scores(plot, est.layer_names_, est.scores_, top1, title=f"{loaded.name}: {method}")
    doc = {
        "model": loaded.name,
        "method": method,
        "samples": len(x),
        "seconds": round(est.seconds_, 4),
        "data": source,
        "params": {k: v for k, v in est.get_params().items() if k != "callback"},
        "layers": layers,
    }
    if json:
        print_json(doc)
        return
    _print_table(doc)
    if plot is not None:
        console_err.print(f"wrote {plot}")


def _print_table(doc: dict) -> None:
    table = Table(title=f"{doc['model']}: {doc['method']} sensitivity on {doc['samples']} samples ({doc['data']})")
    for col in ("#", "layer", "sensitivity", "masked top-1", ""):
        table.add_column(col, justify="left" if col in ("layer", "") else "right")
    top = max((layer["sensitivity"] for layer in doc["layers"]), default=0.0) or 1.0
    for i, layer in enumerate(doc["layers"]):
        acc = layer["masked_top1"]
        table.add_row(
            str(i), layer["name"], f"{layer['sensitivity']:.4g}",
            "" if acc is None else f"{acc:.2%}", "█" * round(20 * layer["sensitivity"] / top),
        )
    console.print(table)
    console.print(f"{len(doc['layers'])} layers in {doc['seconds']:.2f} s")
