"""`ohq graph`: the quantizable layers of a model."""

from __future__ import annotations

import warnings

from rich.table import Table

from ohq.cli._common import (
    InputOpt,
    JsonOpt,
    ModelOpt,
    WeightsOpt,
    app,
    console,
    console_err,
    print_json,
    resolve_model,
)


@app.command()
def graph(model: ModelOpt, weights: WeightsOpt = None, input: InputOpt = None, json: JsonOpt = False) -> None:
    """List every quantizable layer (conv, depthwise, grouped, linear) with shapes, params and MACs."""
    from ohq.graph import layer_graph

    loaded, shape = resolve_model(model, weights, input)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = layer_graph(loaded.model, shape)
    for w in caught:
        console_err.print(f"[yellow]warning:[/] {w.message}", highlight=False)
    if json:
        doc = g.to_dict()
        keep = ("name", "kind", "in_shape", "out_shape", "kernel", "stride", "padding", "groups", "params", "macs", "bn")
        doc["layers"] = [{k: layer[k] for k in keep} for layer in doc["layers"]]
        print_json({"model": loaded.name, **doc})
        return
    table = Table(title=f"{loaded.name} @ {','.join(map(str, shape))}", show_lines=False)
    for col in ("#", "layer", "kind", "in", "out", "k", "s", "g", "params", "MACs", "BN"):
        table.add_column(col, justify="right" if col in ("#", "params", "MACs") else "left")
    for i, layer in enumerate(g.layers):
        table.add_row(
            str(i), layer.name, layer.kind, "x".join(map(str, layer.in_shape[1:])),
            "x".join(map(str, layer.out_shape[1:])), "x".join(map(str, layer.kernel)),
            str(layer.stride[0]), str(layer.groups), f"{layer.params:,}", f"{layer.macs:,}", layer.bn or "",
        )
    console.print(table)
    console.print(
        f"{len(g.layers)} layers, {g.total_params:,} quantizable params "
        f"({g.model_params:,} in the model), {g.total_macs / 1e6:,.1f} M MACs per sample"
    )
