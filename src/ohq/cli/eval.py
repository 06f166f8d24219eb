"""`ohq eval`: quantize a model (PTQ) and measure top-1 of the float, fake-quant and integer models."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ohq.cli._common import (
    JsonOpt,
    ModelOpt,
    NormalizeOpt,
    ThreadsOpt,
    WeightsOpt,
    app,
    console,
    console_err,
    print_json,
    resolve_model,
)
from ohq.errors import OhqError

if TYPE_CHECKING:
    import torch

BATCH = 500


class Engine(StrEnum):
    fake = "fake"
    integer = "integer"
    both = "both"
    rtl = "rtl"


@app.command("eval")
def eval_(
    model: ModelOpt,
    data: Annotated[str, typer.Option("--data", "-d", help="digits, mnist, file.npz or an image folder.")],
    weights: WeightsOpt = None,
    bits: Annotated[int, typer.Option("--bits", "-b", help="Weight bits of every layer.")] = 8,
    a_bits: Annotated[
        int | None, typer.Option("--a-bits", help="Activation bits (default 8; 16 when --bits is 16).")
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", "-c", help="Plan JSON (type ohq.plan); overrides --bits/--scheme.")
    ] = None,
    scheme: Annotated[str, typer.Option("--scheme", "-s", help="uniform, pot, sp2 or rowmix.")] = "uniform",
    rho: Annotated[float, typer.Option(help="Share of SP2 rows under --scheme rowmix.")] = 0.5,
    first_last_bits: Annotated[
        int | None, typer.Option(help="Keep the first and last layer at this many bits (fixed-point).")
    ] = None,
    engine: Annotated[Engine, typer.Option(help="fake, integer, both (checks bit-exactness) or rtl (the simulated chip).")] = Engine.both,
    limit: Annotated[int, typer.Option(help="--engine rtl: test images to run through the chip.")] = 10,
    calib: Annotated[int, typer.Option(help="Calibration samples from the train split.")] = 256,
    normalize: NormalizeOpt = None,
    threads: ThreadsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Quantize with PTQ and evaluate on the data set's test split (all of it)."""
    import torch

    from ohq.data import load_dataset, mismatch_warning, sample
    from ohq.models.shipped import expected_top1
    from ohq.quant import Plan, QuantSpec, quantize

    if calib < 1:
        raise OhqError(f"--calib {calib} gives empty calibration data; use at least 1 sample")
    if config is not None:
        plan = Plan.load_json(config)
    else:
        act = a_bits if a_bits is not None else (16 if bits == 16 else 8)
        plan = Plan(QuantSpec(bits, act, scheme, rho=rho), first_last_bits=first_last_bits)
    loaded, _ = resolve_model(model, weights, None, normalize)
    net = loaded.model.eval()
    test = load_dataset(data, "test", loaded.normalize)
    train = load_dataset(data, "train", loaded.normalize)
    from ohq.data.checks import check_labels

    check_labels(net, (1, *test.x.shape[1:]), test)
    qmodel = quantize(net, plan, sample(train, calib, seed=0)[0])
    doc = {"model": loaded.name, "data": data, "top1_fp32": _top1(net, test.x, test.y)}
    warning = mismatch_warning(doc["top1_fp32"], test.num_classes, expected_top1(loaded.name))
    doc["warnings"] = [warning] if warning else []
    if warning:
        console_err.print(f"[yellow]warning:[/] {warning}")
    fake = integer = None
    if engine in (Engine.fake, Engine.both):
        fake = _logits(qmodel, test.x)
        doc["top1_quant"] = _accuracy(fake, test.y)
    else:
        doc["top1_quant"] = None
    if engine is Engine.rtl:
        from ohq.hw.rtl.evaluate import rtl_eval

        doc.update(rtl_eval(qmodel, test.x, test.y, limit))
    if engine in (Engine.integer, Engine.both, Engine.rtl):
        integer = _logits(qmodel.to_integer(), test.x)
        doc["top1_integer"] = _accuracy(integer, test.y)
    else:
        doc["top1_integer"] = None
    doc["size_mib"] = qmodel.size_mib()
    if fake is not None and integer is not None:
        doc["bitexact"] = bool(torch.equal(fake, integer))
        doc["max_abs_diff"] = float((fake - integer).abs().max())
    else:
        doc["bitexact"], doc["max_abs_diff"] = None, None
    doc["layers"] = [{k: row[k] for k in ("name", "w_bits", "a_bits", "scheme")} for row in qmodel.summary()]
    if json:
        print_json(doc)
        return
    _print(doc)


def _logits(fn, x: torch.Tensor) -> torch.Tensor:
    import torch

    with torch.no_grad():
        return torch.cat([fn(x[i:i + BATCH]) for i in range(0, x.shape[0], BATCH)])


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(dim=1) == y).float().mean())


def _top1(model, x, y) -> float:
    try:
        return _accuracy(_logits(model, x), y)
    except RuntimeError as exc:
        first = (str(exc).strip().splitlines() or ["shape mismatch"])[0]
        raise OhqError(f"the model cannot run on this data (inputs {tuple(x.shape[1:])}): {first}") from None


def _print(doc: dict) -> None:
    def pct(v):
        return "—" if v is None else f"{100 * v:.2f} %"

    table = Table(title=f"{doc['model']} on {doc['data']} (test split)")
    for col in ("fp32", "fake-quant", "integer", "size MiB", "bit-exact"):
        table.add_column(col, justify="right")
    table.add_row(pct(doc["top1_fp32"]), pct(doc["top1_quant"]), pct(doc["top1_integer"]),
                  f"{doc['size_mib']:.4f}", "—" if doc["bitexact"] is None else str(doc["bitexact"]))
    console.print(table)
    labels = {}
    for row in doc["layers"]:
        key = f"W{row['w_bits'] or 'fp'}A{row['a_bits'] or 'fp'} {row['scheme'] or ''}".strip()
        labels[key] = labels.get(key, 0) + 1
    if "top1_rtl" in doc:
        console.print(f"rtl: top-1 {100 * doc['top1_rtl']:.2f} % on {doc['images']} images; "
                      f"{doc['identical_logits']}/{doc['images']} logits identical to the integer engine")
    console.print("layers: " + ", ".join(f"{n}× {k}" for k, n in labels.items()))
