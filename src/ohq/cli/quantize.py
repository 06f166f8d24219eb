"""`ohq quantize`: the whole OHQ pipeline, written to a run directory; `ohq demo` runs it on the
embedded default (mnist_resnet, real MNIST, xc7z020)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ohq.cli._common import (
    InputOpt,
    JsonOpt,
    ModelOpt,
    WeightsOpt,
    app,
    console,
    parse_shape,
    print_json,
    progress,
)
from ohq.errors import OhqError
from ohq.pipeline import Reporter, Request, run_pipeline

DataOpt = Annotated[str | None, typer.Option("--data", "-d", help="Real data (digits, mnist, .npz, folder); default: distilled.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="Target part or alias (xc7z020, xc7z045, zcu102).")]
OutOpt = Annotated[str, typer.Option("--out", "-o", help="Run directory to create.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing run directory.")]


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
        raise OhqError(f"--bits must be comma-separated integers like 4,8, got {text!r}") from None
    if not bits:
        raise OhqError("--bits needs at least one bit-width")
    return bits


def run_and_write(req: Request, out: str, force: bool, as_json: bool) -> None:
    """Run the pipeline with progress bars, write the run directory, print the table or JSON."""
    from ohq.report import result_points
    from ohq.rundir import summary, write_run

    target = Path(out)
    if target.exists() and not force:  # refuse before spending minutes on the pipeline
        raise OhqError(f"{target} exists; pass --force to replace it (nothing was touched)")
    with progress() as bar:
        result = run_pipeline(req, RichReporter(bar))
    write_run(result, target, force=force, pareto_points=result_points(result))
    doc = summary(result) | {"run_dir": str(target)}
    if as_json:
        print_json(doc)
    else:
        print_result(result, target)


def print_result(result, out: Path) -> None:
    table = Table(title=f"{result.model_name} on {result.request.device}: per-layer plan")
    for col in ("layer", "kind", "params", "sensitivity", "Ω", "bits", "cycles", "energy mJ"):
        table.add_column(col, justify="left" if col in ("layer", "kind") else "right")
    for row in result.layers:
        table.add_row(
            row.name, row.kind, f"{row.params:,}", f"{row.sensitivity:.3g}", f"{row.omega:+.3f}",
            str(row.bits), f"{row.cycles['total']:,}", f"{row.energy_mj:.4f}",
        )
    console.print(table)
    summary = Table(title="FP32 vs INT8 vs OHQ mixed")
    for col in ("model", "top-1", "size MiB", "latency ms", "energy mJ"):
        summary.add_column(col, justify="left" if col == "model" else "right")
    fmt = lambda v, spec: "—" if v is None else format(v, spec)  # noqa: E731
    summary.add_row("FP32", fmt(result.top1["fp32"] and 100 * result.top1["fp32"], ".2f"), "", "", "")
    for key, label in (("int8", "W8A8"), ("mixed", "OHQ mixed")):
        t = result.totals[key]
        if t:
            summary.add_row(label, fmt(result.top1[key] and 100 * result.top1[key], ".2f"),
                            f"{t['size_mib']:.4f}", f"{t['latency_ms']:.3f}", f"{t['energy_mj']:.4f}")
    console.print(summary)
    budgets = ", ".join(f"{k} ≤ {v:.4g}" for k, v in result.budgets.items())
    console.print(f"budget {budgets}; ILP solved in {result.solve_ms:.1f} ms; data: {result.data_source}")
    console.print("stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items()))
    console.print(f"run directory: [bold]{out}[/]  (report: {out / 'report.html'})")


@app.command()
def quantize(
    model: ModelOpt,
    out: OutOpt,
    data: DataOpt = None,
    device: DeviceOpt = "xc7z020",
    weights: WeightsOpt = None,
    input: InputOpt = None,
    probe: Annotated[str, typer.Option(help="fpga-model, cpu or file.")] = "fpga-model",
    probe_file: Annotated[str | None, typer.Option(help="Per-layer board measurements (with --probe file).")] = None,
    size_mib: Annotated[float | None, typer.Option(help="Budget: MiB of weights.")] = None,
    size_ratio: Annotated[float | None, typer.Option(help="Budget: S_4 + r·(S_8 − S_4), the paper's ratio.")] = None,
    latency_ms: Annotated[float | None, typer.Option(help="Budget: modelled latency in ms.")] = None,
    energy_mj: Annotated[float | None, typer.Option(help="Budget: modelled energy in mJ.")] = None,
    bram18k: Annotated[float | None, typer.Option(help="Budget: 18 Kb BRAM blocks holding all weights.")] = None,
    bits: Annotated[str, typer.Option(help="Candidate weight bit-widths.")] = "4,8",
    a_bits: Annotated[int | None, typer.Option(help="Activation bits (default: each layer's weight bits, W/A */*).")] = None,
    scheme: Annotated[str, typer.Option(help="uniform, pot, sp2 or rowmix.")] = "uniform",
    objective: Annotated[str, typer.Option(help="paper (Eq. 11) or min-sensitivity.")] = "paper",
    sensitivity: Annotated[str, typer.Option(help="mqe, layerwise or hessian.")] = "mqe",
    samples: Annotated[int, typer.Option(help="Samples for sensitivity (and distillation).")] = 32,
    calib: Annotated[int, typer.Option(help="Calibration samples (real data).")] = 256,
    beta: Annotated[float, typer.Option(help="Weight of sensitivity in Ω.")] = 0.5,
    gamma: Annotated[float, typer.Option(help="Weight of cycles + energy in Ω.")] = 0.5,
    tie_residual: Annotated[bool, typer.Option(help="Give layers meeting at a residual add one bit-width.")] = False,
    pin_first_last: Annotated[int | None, typer.Option(help="Pin the first and last layer to these bits.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for data order, masks and distillation.")] = 0,
    scale: Annotated[str, typer.Option(help="float, or po2: power-of-two scales (bit-exact hls4ml).")] = "float",
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """Decide every layer's bit-width from sensitivity and hardware cost, build it, and report."""
    from ohq.quant.po2 import SCALES

    if scale not in SCALES:  # before minutes of pipeline
        raise OhqError(f"--scale must be one of {', '.join(SCALES)}, got {scale!r}")
    req = Request(
        model, weights, parse_shape(input) if input else None, data, device, probe, probe_file,
        parse_bits(bits), a_bits, scheme, objective, sensitivity, size_mib, size_ratio, latency_ms,
        energy_mj, bram18k, beta, gamma, samples, calib, tie_residual=tie_residual,
        pin_first_last=pin_first_last, seed=seed, scale=scale,
    )
    run_and_write(req, out, force, json)


@app.command()
def demo(
    out: Annotated[str | None, typer.Option("--out", "-o", help="Run directory (default runs/demo-TIME).")] = None,
    force: ForceOpt = False,
    json: JsonOpt = False,
) -> None:
    """The main job on the embedded default: mnist_resnet, real MNIST, xc7z020, size ratio 0.5."""
    out = out or f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}"
    req = Request("mnist_resnet", data="mnist", device="xc7z020", size_ratio=0.5)
    run_and_write(req, out, force, json)
