"""`ohq hw`: per-layer cycles, latency, energy and resources of a model on a device (OQA)."""

from __future__ import annotations

import warnings
from typing import Annotated

import typer
from rich.table import Table

from ohq.cli._codesign import (
    DataflowOpt,
    FitBramOpt,
    FlowObjectiveOpt,
    PrOpt,
    PruneOpt,
    SparsityOpt,
    run_hw,
)
from ohq.cli._common import (
    InputOpt,
    JsonOpt,
    ModelOpt,
    ThreadsOpt,
    WeightsOpt,
    app,
    console,
    console_err,
    print_json,
    resolve_model,
)
from ohq.errors import OhqError


def read_plan_file(path: str, scheme: str = "uniform", a_bits: int | None = None):
    """A plan from JSON in any form `Plan.load` reads (an ohq plan, a run config, the short form)."""
    from ohq.quant import Plan

    return Plan.load(path, scheme, a_bits)


@app.command()
def hw(
    model: ModelOpt,
    device: Annotated[str, typer.Option("--device", help="Part name or alias: xc7z020, xc7z045, zcu102.")] = "xc7z020",
    weights: WeightsOpt = None,
    input: InputOpt = None,
    bits: Annotated[int | None, typer.Option("--bits", "-b", help="Bits of every layer (weights and activations); default 8.")] = None,
    a_bits: Annotated[int | None, typer.Option("--a-bits", help="Activation bits (default: the weight bits).")] = None,
    config: Annotated[str | None, typer.Option("--config", help="Plan JSON (ohq.plan or a run config.json), or {layer: bits, '_default': bits}.")] = None,
    scheme: Annotated[str, typer.Option("--scheme", "-s", help="uniform | pot | sp2 | rowmix.")] = "uniform",
    probe: Annotated[str, typer.Option("--probe", "-p", help="fpga-model | cpu | file | rtl.")] = "fpga-model",
    probe_file: Annotated[str | None, typer.Option("--probe-file", help="CSV/JSON of per-layer board measurements (--probe file).")] = None,
    plot: Annotated[str | None, typer.Option("--plot", help="Write cycles/energy vs parameters to this PNG.")] = None,
    dataflow: DataflowOpt = None,
    fit_bram: FitBramOpt = False,
    bram18k: Annotated[int | None, typer.Option("--bram18k", help="BRAM18K budget (default: the device's limit).")] = None,
    sparsity: SparsityOpt = None,
    prune: PruneOpt = "unstructured",
    pr: PrOpt = False,
    flow_objective: FlowObjectiveOpt = "traffic",
    threads: ThreadsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Per-layer clock cycles of the four steps, latency, energy, BRAM/DSP/LUT and DRAM bytes."""
    from ohq.graph import layer_graph
    from ohq.hw import estimate, get_device, get_probe

    if bits is not None and config is not None:
        raise OhqError("give --bits or --config, not both")
    if probe_file is not None and probe != "file":
        raise OhqError("--probe-file goes with --probe file")
    dev = get_device(device)
    opts = {"path": probe_file} if probe == "file" else {}
    prb = get_probe(probe, **opts)
    plan = read_plan_file(config, scheme, a_bits) if config else (8 if bits is None else bits)
    loaded, shape = resolve_model(model, weights, input)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = layer_graph(loaded.model, shape)
    for w in caught:
        console_err.print(f"[yellow]warning:[/] {w.message}", highlight=False)
    if dataflow or fit_bram or bram18k is not None or sparsity is not None or pr:  # co-design view
        return run_hw(loaded.model, graph, dev, plan, scheme=scheme, a_bits=a_bits, dataflow=dataflow,
                      fit_bram=fit_bram, bram18k=bram18k, sparsity=sparsity, prune=prune, pr=pr,
                      name=loaded.name, as_json=json, objective=flow_objective)
    report = estimate(graph, dev, plan, prb, scheme=scheme, a_bits=a_bits, model_name=loaded.name)
    if plot:
        from ohq.report.plots import plot_hw_costs

        plot_hw_costs(report, plot)
    if json:
        print_json(report.to_dict())
        return
    _print_table(report, dev, shape)
    if plot:
        console.print(f"plot written to {plot}")


def _print_table(report, dev, shape) -> None:
    unit = "ns" if report.probe == "cpu" else "cycles"
    table = Table(
        title=f"{report.model} @ {','.join(map(str, shape))} on {dev.part} ({report.probe}; steps in k{unit})"
    )
    cols = ("#", "layer", "kind", "params", "W/A", "compute", "transfer", "wr-back", "post",
            "kcycles", "ms", "mJ", "util", "BRAM18", "DSP", "DRAM KB")
    for col in cols:
        table.add_column(col, justify="left" if col in ("layer", "kind", "W/A") else "right")
    for i, c in enumerate(report.layers):
        cy = {k: f"{v / 1e3:,.1f}" for k, v in c.cycles.items()}
        wa = f"{c.w_bits}/{c.a_bits}" + ("" if c.scheme == "uniform" else f" {c.scheme}")
        table.add_row(
            str(i), c.name, c.kind, f"{c.params:,}", wa, cy["compute"], cy["transfer"],
            cy["writeback"], cy["postprocess"], cy["total"], f"{c.latency_ms:.2f}",
            f"{c.energy_mj:.2f}", f"{c.utilization:.0%}" if c.utilization else "-",
            str(c.bram18k), str(c.dsp), f"{c.dram_bytes / 1024:,.0f}",
        )
    console.print(table)
    t = report.total
    console.print(
        f"total {t['cycles']:,} cycles = {t['latency_ms']:.2f} ms, {t['energy_mj']:.2f} mJ; "
        f"peak BRAM18 {t['bram18k_peak']}/{dev.bram18k}, DSP {t['dsp_peak']}/{dev.dsp}, "
        f"LUT {t['lut_peak']:,}/{dev.lut:,}"
    )
    if report.probe == "cpu":
        console.print("cpu probe: cycles are ns; INT8 kernels only, so fewer than 8 bits runs no faster")
