"""`ohq quantize`: the whole OHQ pipeline, written to a run directory; `ohq demo` runs it on the
embedded default (mnist_resnet, real MNIST, xc7z020)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ohq.cli._codesign import (
    DataflowOpt,
    FitBramOpt,
    PrOpt,
    PruneOpt,
    SparsityOpt,
    print_codesign,
    quantize_options,
)
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
    parse_shape,
    print_json,
    progress,
)
from ohq.errors import OhqError
from ohq.reporter import Reporter

if TYPE_CHECKING:
    from ohq.pipeline import Request

DataOpt = Annotated[str | None, typer.Option("--data", "-d", help="Real data (digits, mnist, .npz, folder); default: distilled.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="Target part or alias (xc7z020, xc7z045, zcu102).")]
OutOpt = Annotated[str, typer.Option("--out", "-o", help="Run directory to create.")]
ForceOpt = Annotated[bool, typer.Option("--force/--no-force", help="Replace an existing run directory (only one ohq wrote).")]


class RichReporter(Reporter):
    """One Rich progress bar per pipeline stage, on stderr."""

    def __init__(self, bar) -> None:
        self.bar, self.task = bar, None

    def stage(self, name: str, total: int | None = None) -> None:
        self.task = self.bar.add_task(name, total=total, info="")

    def advance(self, done: int, total: int, info: str = "") -> None:
        self.bar.update(self.task, completed=done, total=total, info=info)

    def end(self) -> None:
        task = self.bar.tasks[-1]
        self.bar.update(self.task, completed=task.total or 1, total=task.total or 1)


def parse_bits(text: str) -> tuple[int, ...]:
    try:
        bits = tuple(int(b) for b in text.split(","))
    except ValueError:
        raise OhqError(f"--candidate-bits must be comma-separated integers like 4,8, got {text!r}") from None
    if not bits:
        raise OhqError("--candidate-bits needs at least one bit-width")
    return bits


def run_and_write(req: Request, out: str, force: bool, as_json: bool, sweep_points: int = 0) -> None:
    """Run the pipeline with progress bars, write the run directory, print the table or JSON."""
    from ohq.io import check_out_dir
    from ohq.pipeline import run_pipeline
    from ohq.report import result_points
    from ohq.rundir import summary, write_run

    target = check_out_dir(out, force, "run")  # refuse before spending minutes on the pipeline
    with progress() as bar:
        result = run_pipeline(req, RichReporter(bar))
        points, figures, table = [], {}, None
        if sweep_points:  # the fronts: sizes W4…W8 and the latencies the device allows
            from ohq.report.fronts import fronts_png
            from ohq.sweep import sweep

            points = sweep(req, sweep_points, max(2, sweep_points - 1), RichReporter(bar))
            figures = {"fronts.png": fronts_png(points, result.top1["fp32"])}
            table = [("Budget sweep", ["point", "top-1", "size MiB", "latency ms"],
                      [[p["label"], p["top1"], p["size_mib"], p["latency_ms"]] for p in points])]
    swept = [{k: p[k] for k in ("label", "top1", "size_mib", "latency_ms")} for p in points]
    write_run(result, target, force=force, pareto_points=result_points(result) + swept,
              extra_tables=table, figures=figures)
    for text in result.extra.get("warnings", []):
        console_err.print(f"[yellow]warning:[/] {text}")
    doc = summary(result) | {"run_dir": str(target)}
    if as_json:
        print_json(doc)
    else:
        print_result(result, target)


def print_result(result, out: Path) -> None:
    table = Table(title=f"{result.model_name} on {result.request.device}: per-layer plan")
    from ohq.report.advice import a_bits_of, accuracy_advice, budget_text, fp32_size_mib

    for col in ("layer", "kind", "params", "sensitivity", "Ω", "W/A bits", "cycles", "energy mJ"):
        table.add_column(col, justify="left" if col in ("layer", "kind") else "right")
    for row in result.layers:
        table.add_row(
            row.name, row.kind, f"{row.params:,}", f"{row.sensitivity:.3g}", f"{row.omega:+.3f}",
            f"W{row.bits}A{a_bits_of(result, row)}" + ("" if row.scheme == "uniform" else f" {row.scheme}"),
            f"{row.cycles['total']:,}", f"{row.energy_mj:.4f}",
        )
    console.print(table)
    summary = Table(title="FP32 vs INT8 vs OHQ mixed")
    for col in ("model", "top-1", "size MiB", "latency ms", "energy mJ"):
        summary.add_column(col, justify="left" if col == "model" else "right")
    fmt = lambda v, spec: "—" if v is None else format(v, spec)  # noqa: E731
    summary.add_row("FP32", fmt(result.top1["fp32"] and 100 * result.top1["fp32"], ".2f"),
                    f"{fp32_size_mib(result):.4f}", "—", "—")
    rungs = [("int8", "W8A8"), ("mixed", "OHQ mixed")]
    if "mixed_ptq" in result.top1:  # --finetune: the mixed model before and after training
        rungs[1:] = [("mixed_ptq", "OHQ mixed, PTQ"), ("mixed", f"OHQ mixed, {result.request.finetune}")]
    for key, label in rungs:
        t = result.totals["mixed" if key == "mixed_ptq" else key]
        if t:
            summary.add_row(label, fmt(result.top1[key] and 100 * result.top1[key], ".2f"),
                            f"{t['size_mib']:.4f}", f"{t['latency_ms']:.3f}", f"{t['energy_mj']:.4f}")
    console.print(summary)
    for text in accuracy_advice(result):
        console.print(f"[yellow]note:[/] {text}")
    console.print(f"budget {budget_text(result)}; ILP solved in {result.solve_ms:.1f} ms; data: {result.data_source}")
    console.print("stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items()))
    print_codesign(result)
    console.print(f"run directory: [bold]{out}[/]  (report: {out / 'report.html'})")


@app.command()
def quantize(
    model: ModelOpt,
    out: OutOpt,
    data: DataOpt = None,
    device: DeviceOpt = "xc7z020",
    weights: WeightsOpt = None,
    input: InputOpt = None,
    probe: Annotated[str, typer.Option(help="fpga-model, cpu, file or rtl.")] = "fpga-model",
    probe_file: Annotated[str | None, typer.Option(help="Per-layer board measurements (with --probe file).")] = None,
    size_mib: Annotated[float | None, typer.Option(help="Budget: MiB of weights.")] = None,
    size_ratio: Annotated[float | None, typer.Option(
        help="Budget as a ratio r between all-low and all-high bits: S_4 + r·(S_8 − S_4), so 0.5 = W4 + 50 % "
             "of the way to W8 (not half the size; for MiB use --size-mib).")] = None,
    latency_ms: Annotated[float | None, typer.Option(help="Budget: modelled latency in ms.")] = None,
    energy_mj: Annotated[float | None, typer.Option(help="Budget: modelled energy in mJ.")] = None,
    bram18k: Annotated[float | None, typer.Option(help="Budget: 18 Kb BRAM blocks holding all weights.")] = None,
    bits: Annotated[str, typer.Option("--candidate-bits", "--bits", help="Candidate weight bit-widths "
                                      "of --scheme, comma-separated (--bits is the old spelling).")] = "4,8",
    a_bits: Annotated[int | None, typer.Option(help="Activation bits (default: each layer's weight bits, W/A */*).")] = None,
    scheme: Annotated[str, typer.Option(help="uniform, pot, sp2 or rowmix.")] = "uniform",
    candidates: Annotated[str | None, typer.Option(help="Candidates as scheme:bits pairs, e.g. uniform:4,uniform:8,"
                                                   "pot:4,sp2:4: one search picks each layer's scheme and bits "
                                                   "(instead of --bits/--scheme).")] = None,
    objective: Annotated[str, typer.Option(help="min-sensitivity (per-bit damage) or paper (Eq. 11).")] = "min-sensitivity",
    sensitivity: Annotated[str, typer.Option(help="qmqe, mqe, layerwise or hessian.")] = "qmqe",
    samples: Annotated[int, typer.Option(help="Samples for sensitivity (and distillation).")] = 32,
    calib: Annotated[int, typer.Option(help="Calibration samples (real data).")] = 256,
    beta: Annotated[float, typer.Option(help="Weight of sensitivity in Ω.")] = 0.5,
    gamma: Annotated[float, typer.Option(help="Weight of cycles + energy in Ω.")] = 0.5,
    tie_residual: Annotated[bool, typer.Option(help="Give layers meeting at a residual add one bit-width.")] = False,
    pin_first_last: Annotated[int | None, typer.Option(help="Pin the first and last layer to these bits.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for data order, masks and distillation.")] = 0,
    search: Annotated[str, typer.Option(help="ilp (default), bo (optuna TPE) or random: bits and sparsity per layer.")] = "ilp",
    trials: Annotated[int, typer.Option(help="Trials of --search bo/random (a resumed study counts its own).")] = 30,
    storage: Annotated[str | None, typer.Option(help="Shared optuna study: sqlite:///study.db or journal:FILE.")] = None,
    study: Annotated[str, typer.Option(help="Study name in --storage.")] = "ohq-bo",
    sparsity: SparsityOpt = None,
    prune: PruneOpt = "unstructured",
    fit_bram: FitBramOpt = False,
    dataflow: DataflowOpt = None,
    pr: PrOpt = False,
    lam: Annotated[float, typer.Option(help="BO objective: validation top-1 − λ·size/size_fp32.")] = 1.0,
    max_loss: Annotated[float | None, typer.Option(help="BO: minimise size subject to validation top-1 loss ≤ this (e.g. 0.005).")] = None,
    val: Annotated[int, typer.Option(help="Validation images scored per BO trial.")] = 1000,
    normalize: NormalizeOpt = None,
    sweep: Annotated[int, typer.Option(help="Also sweep N size budgets (W4…W8) and N−1 latency budgets: "
                                       "fronts.png, the Pareto plot and a report table.")] = 0,
    finetune: Annotated[str | None, typer.Option(help="Fine-tune the mixed model: qat or progressive.")] = None,
    epochs: Annotated[float, typer.Option(help="Epochs of --finetune over the training split.")] = 1.0,
    scale: Annotated[str, typer.Option(help="float, or po2: power-of-two scales (bit-exact hls4ml).")] = "float",
    force: ForceOpt = False,
    threads: ThreadsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Decide every layer's bit-width from sensitivity and hardware cost, build it, and report."""
    from ohq.pipeline import Request
    from ohq.quant.po2 import SCALES

    if scale not in SCALES:  # before minutes of pipeline
        raise OhqError(f"--scale must be one of {', '.join(SCALES)}, got {scale!r}")

    cd = quantize_options(search, trials, storage, study, sparsity, prune, fit_bram, dataflow, pr, lam,
                          max_loss, val, device)
    if candidates is not None and (bits != "4,8" or scheme != "uniform"):
        raise OhqError("give --candidates, or --bits with --scheme, not both")
    req = Request(
        model, weights, parse_shape(input) if input else None, data, device, probe, probe_file,
        parse_bits(bits), a_bits, scheme, objective, sensitivity, size_mib, size_ratio, latency_ms,
        energy_mj, bram18k, beta, gamma, samples, calib, tie_residual=tie_residual,
        pin_first_last=pin_first_last, seed=seed, normalize=normalize, finetune=finetune, finetune_epochs=epochs,
        codesign=cd, scale=scale, candidates=candidates,
    )
    run_and_write(req, out, force, json, sweep)


@app.command()
def demo(
    out: Annotated[str | None, typer.Option("--out", "-o", help="Run directory (default runs/demo-TIME).")] = None,
    sweep: Annotated[int, typer.Option(help="Also draw the fronts over N size and N−1 latency budgets.")] = 0,
    force: ForceOpt = False,
    threads: ThreadsOpt = None,
    json: JsonOpt = False,
) -> None:
    """The main job on the embedded default: mnist_resnet on real MNIST for xc7z020, under a
    latency budget (4.40 ms) that INT8 (4.52 ms modelled) cannot meet."""
    out = out or f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}"
    run_and_write(demo_request(), out, force, json, sweep)


DEMO_LATENCY_MS = 4.40  # below INT8's 4.516 ms, a third of the way up from all-W4A4's 4.336 ms (mnist_resnet, xc7z020)


def demo_request():
    """The embedded default: a latency budget INT8 cannot meet; the least sensitive plan that does."""
    from ohq.pipeline import Request

    return Request("mnist_resnet", data="mnist", device="xc7z020", latency_ms=DEMO_LATENCY_MS,
                   objective="min-sensitivity")
