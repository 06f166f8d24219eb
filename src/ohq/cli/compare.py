"""`ohq compare`: baselines beside OHQ, printed as the paper's Table 1 and Table 3."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ohq.cli._common import (
    InputOpt,
    JsonOpt,
    ModelOpt,
    ThreadsOpt,
    WeightsOpt,
    app,
    console,
    parse_shape,
    print_json,
    progress,
)
from ohq.cli.quantize import DataOpt, DeviceOpt, RichReporter, parse_bits
from ohq.errors import OhqError


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.2f}"


def _num(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


@app.command()
def compare(
    model: ModelOpt,
    data: DataOpt = None,
    device: DeviceOpt = "xc7z020",
    weights: WeightsOpt = None,
    input: InputOpt = None,
    size_ratio: Annotated[float, typer.Option(help="Size budget of Table 1 (paper's ratio r).")] = 0.5,
    ratios: Annotated[str, typer.Option(help="Size ratios of the Table 3 ablation.")] = "0.25,0.5,0.75,0.8",
    bits: Annotated[str, typer.Option("--candidate-bits", "--bits", help="Candidate weight bit-widths, "
                                      "comma-separated (--bits is the old spelling).")] = "4,8",
    samples: Annotated[int, typer.Option(help="Samples for sensitivity.")] = 32,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    plot: Annotated[str | None, typer.Option(help="Write the accuracy–size–latency Pareto plot (PNG).")] = None,
    threads: ThreadsOpt = None,
    json: JsonOpt = False,
) -> None:
    """FP32, W8A8/W4A8/W4A4, HAWQ-V3-style, random, OHQ 8/8 and OHQ mixed; then the MQE/OQA ablation."""
    from ohq.compare import compare as run_compare
    from ohq.pipeline import Request

    try:
        ratio_list = tuple(float(r) for r in ratios.split(","))
    except ValueError:
        raise OhqError(f"--ratios must be comma-separated numbers, got {ratios!r}") from None
    req = Request(model, weights, parse_shape(input) if input else None, data, device, bits=parse_bits(bits),
                  size_ratio=size_ratio, samples=samples, seed=seed)
    with progress() as bar:
        result = run_compare(req, ratio_list, RichReporter(bar))
    if plot:
        from ohq.report import plot_pareto

        plot_pareto([{"label": r.method, "top1": r.top1, "size_mib": r.size_mib, "latency_ms": r.latency_ms}
                     for r in result.table1 if r.latency_ms is not None], plot)
    if json:
        print_json(result.to_dict())
        return
    t1 = Table(title=f"Table 1 — {result.model} on {result.device}, size ratio {size_ratio}")
    for col in ("method", "W/A", "data", "size MiB", "latency ms", "energy mJ", "top-1 %"):
        t1.add_column(col, justify="left" if col in ("method", "W/A", "data") else "right")
    for r in result.table1:
        t1.add_row(r.method, r.wa, r.data, f"{r.size_mib:.4f}", _num(r.latency_ms, ".3f"),
                   _num(r.energy_mj, ".4f"), _pct(r.top1))
    console.print(t1)
    t3 = Table(title="Table 3 — ablation (size ratio r: limit = S4 + r·(S8 − S4))")
    for col in ("r", "method", "size MiB", "latency ms", "top-1 %"):
        t3.add_column(col, justify="left" if col == "method" else "right")
    for r in result.table3:
        t3.add_row(f"{r.ratio:g}", r.method, f"{r.size_mib:.4f}", _num(r.latency_ms, ".3f"), _pct(r.top1))
    console.print(t3)
