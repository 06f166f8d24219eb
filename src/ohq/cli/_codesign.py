"""The co-design options of `ohq hw` and `ohq quantize` (dataflow, pruning, fit-BRAM, BO, PR)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ohq.cli._common import console, print_json
from ohq.errors import OhqError

DataflowOpt = Annotated[str | None, typer.Option("--dataflow", help="auto | img2col | row | frame: per-layer dataflow (the mixed-dataflow paper).")]
FitBramOpt = Annotated[bool, typer.Option("--fit-bram", help="Keep every layer's weights in BRAM (weights never cross DDR).")]
SparsityOpt = Annotated[float | None, typer.Option("--sparsity", help="Magnitude pruning before quantization, in [0, 1) (BO: the highest candidate).")]
PruneOpt = Annotated[str, typer.Option("--prune", help="unstructured | channel.")]
PrOpt = Annotated[bool, typer.Option("--pr", help="Layer-wise partial reconfiguration (LHA).")]
FlowObjectiveOpt = Annotated[str, typer.Option("--flow-objective", help="auto dataflow minimises: traffic | latency.")]


def hw_stores(model, graph, plan_bits: dict[str, int], sparsity: float, granularity: str):
    """Weight stores for `ohq hw`: every layer pruned at `sparsity` by magnitude."""
    from ohq.hw.dataflow import WeightStore
    from ohq.quant.prune import check_sparsity, layer_masks

    check_sparsity(sparsity, "--sparsity")
    masks = layer_masks(model, dict.fromkeys(graph.names, sparsity), granularity) if sparsity > 0 else {}
    out = {}
    for layer in graph.layers:
        b = plan_bits[layer.name]
        if layer.name in masks:
            fmt, nbits = masks[layer.name].storage(b)
            out[layer.name] = WeightStore(nbits, masks[layer.name].density, masks[layer.name].channel_keep, fmt)
    return out


def run_hw(model, graph, dev, plan, *, scheme, a_bits, dataflow, fit_bram, bram18k, sparsity, prune,
           pr, name, as_json, objective: str = "traffic") -> None:
    """`ohq hw` with --dataflow/--fit-bram/--sparsity/--pr: the per-layer dataflow table and PR."""
    from ohq.hw.onchip import FitBramError, dataflow_report, smallest_resident
    from ohq.hw.plan import resolve_plan
    from ohq.hw.pr import check_pr, pr_plan

    if pr:
        check_pr(dev)
    assign = resolve_plan(graph, plan, scheme, a_bits)
    bits = {n: a[0] for n, a in assign.items()}
    stores = hw_stores(model, graph, bits, sparsity or 0.0, prune)
    try:
        report = dataflow_report(graph, dev, plan, scheme=scheme, a_bits=a_bits, mode=dataflow or "auto",
                                 stores=stores, bram18k=bram18k, resident=fit_bram, model_name=name,
                                 objective=objective)
    except FitBramError as exc:
        if not fit_bram:
            raise
        low = smallest_resident(graph, dev, _lowest(model, graph, sparsity, prune), plan=2, scheme="uniform")
        raise OhqError(f"{exc}; smallest reachable at 2 bits and sparsity {sparsity or 0.0}: {low} BRAM18K") from None
    base = dataflow_report(graph, dev, plan, scheme=scheme, a_bits=a_bits, mode="img2col", stores=stores)
    prp = pr_plan(graph, plan, dev, scheme, a_bits) if pr else None
    if as_json:
        print_json(report.to_dict() | {"img2col_total": base.totals, "pr": prp.to_dict() if prp else None})
        return
    _table(report, base, dev)
    if prp:
        console.print(
            f"PR: {len(prp.groups)} module groups, {prp.reconfigurations} reconfigurations per inference "
            f"({prp.reconfig_ms:.2f} ms each, {prp.reconfig_pingpong_ms:.2f} ms per half region); latency "
            f"fixed bitstream {prp.latency_static_ms:.2f} ms, PR {prp.latency_pr_ms:.2f} ms, "
            f"ping-pong {prp.latency_pingpong_ms:.2f} ms")


def _lowest(model, graph, sparsity, prune):
    return hw_stores(model, graph, dict.fromkeys(graph.names, 2), sparsity or 0.0, prune)


def _table(report, base, dev) -> None:
    table = Table(title=f"{report.model} on {dev.part}: dataflow per layer ({report.mode}"
                        f"{', weights resident in BRAM' if report.resident else ''})")
    for col in ("layer", "W/A", "dataflow", "img2col KB", "row KB", "frame KB", "DDR KB", "BRAM18", "ms", "mJ"):
        table.add_column(col, justify="left" if col in ("layer", "dataflow", "W/A") else "right")
    kb = lambda c: "—" if c is None else f"{c.dram_bytes / 1024:,.1f}"  # noqa: E731
    for c, opts in zip(report.layers, report.options, strict=True):
        table.add_row(c.name, f"{c.w_bits}/{c.a_bits}", c.dataflow, kb(opts["img2col"]), kb(opts["row"]),
                      kb(opts["frame"]), f"{c.dram_bytes / 1024:,.1f}", str(c.bram18k),
                      f"{c.latency_ms:.3f}", f"{c.energy_mj:.4f}")
    console.print(table)
    t, b = report.totals, base.totals
    console.print(
        f"off-chip {t['dram_bytes'] / 1024:,.1f} KB (Img2Col only {b['dram_bytes'] / 1024:,.1f} KB, "
        f"{1 - t['dram_bytes'] / max(b['dram_bytes'], 1):.1%} saved); latency {t['latency_ms']:.3f} ms "
        f"(Img2Col {b['latency_ms']:.3f}), energy {t['energy_mj']:.4f} mJ (Img2Col {b['energy_mj']:.4f}); "
        f"BRAM18K used {t['bram18k_used']} of {report.budget}, {t['bram18k_left']} left; dataflows {t['by_dataflow']}")


def quantize_options(search, trials, storage, study, sparsity, prune, fit_bram, dataflow, pr, lam,
                     max_loss, val, device):
    """CodesignOptions for `ohq quantize` (None when no co-design option is given); checks the
    storage URL and the device's PR support before any long work."""
    from ohq.codesign import CodesignOptions

    given = (search != "ilp" or storage is not None or sparsity is not None or fit_bram or pr
             or dataflow is not None or max_loss is not None)
    if not given:
        return None
    opts = CodesignOptions(search=search, trials=trials, storage=storage, study=study,
                           sparsity=0.0 if sparsity is None else sparsity, prune=prune, fit_bram=fit_bram,
                           dataflow=dataflow or "auto", pr=pr, lam=lam, max_loss=max_loss, val=val)
    if storage is not None:
        from ohq.search.bayes import open_storage

        open_storage(storage)
    if pr:
        from ohq.hw.device import get_device
        from ohq.hw.pr import check_pr

        check_pr(get_device(device))
    return opts


def print_codesign(result) -> None:
    """One summary of the co-design part of a run: sparsity, dataflow, BRAM, PR, BO."""
    cd = result.extra.get("codesign")
    if not cd:
        return
    t, b = cd["totals"], cd["img2col_totals"]
    sp = list(cd["sparsity"].values())
    console.print(
        f"co-design: size {cd['size_mib_sparse']:.4f} MiB (sparse, mean sparsity {sum(sp) / max(len(sp), 1):.2f}); "
        f"{cd['options']['dataflow']} dataflow {t['dram_bytes'] / 1024:,.1f} KB off-chip vs Img2Col "
        f"{b['dram_bytes'] / 1024:,.1f} KB, {t['latency_ms']:.3f} ms vs {b['latency_ms']:.3f} ms, "
        f"{t['energy_mj']:.4f} mJ vs {b['energy_mj']:.4f} mJ; BRAM18K used {t['bram18k_used']}, "
        f"left {t['bram18k_left']}{' (weights resident)' if cd['options']['fit_bram'] else ''}")
    if cd.get("pr"):
        p = cd["pr"]
        console.print(f"PR: {p['reconfigurations']} reconfigurations; latency fixed {p['latency_static_ms']:.3f} ms, "
                      f"PR {p['latency_pr_ms']:.3f} ms, ping-pong {p['latency_pingpong_ms']:.3f} ms")
    if cd.get("bo"):
        bo = cd["bo"]
        console.print(f"{bo['sampler']} search: {bo['trials_complete']} trials ({bo['trials_run_here']} here, "
                      f"{bo['seconds']:.1f} s), validation top-1 {bo['val_top1']:.2%} on {bo['val_images']} images")
