"""`ohq distill`: synthetic inputs that match the model's BatchNorm statistics (the OHQ paper Eq. 2)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from ohq.cli._common import (
    InputOpt,
    JsonOpt,
    ModelOpt,
    ThreadsOpt,
    WeightsOpt,
    app,
    console,
    print_json,
    progress,
    resolve_model,
)
from ohq.errors import OhqError

if TYPE_CHECKING:
    from ohq.data.distill import DistilledData

NOpt = Annotated[int, typer.Option("--samples", "--n", "-n", help="Number of synthetic samples.")]
StepsOpt = Annotated[int, typer.Option(help="Adam steps per batch (ZeroQ: 500).")]
BatchOpt = Annotated[int, typer.Option("--batch", help="Samples optimised together (ZeroQ: 32).")]
LrOpt = Annotated[float, typer.Option(help="Adam learning rate (ZeroQ: 0.5).")]
ResolutionOpt = Annotated[
    int | None, typer.Option(help="Side of the square inputs (default: the model's input size).")
]
SeedOpt = Annotated[int, typer.Option(help="Seed of the starting noise.")]


def run_distill(
    loaded, shape: tuple[int, ...], n: int, steps: int, batch: int, lr: float, seed: int,
    resolution: int | None, label: str = "distill",
) -> tuple[DistilledData, float]:
    """Distil with a Rich progress bar (shared with `ohq analyze`); returns the data and seconds."""
    from ohq.data.distill import batchnorm_layers, distill_data

    if not batchnorm_layers(loaded.model):  # before the progress bar, so the error is one line
        raise OhqError(
            f"model {loaded.name!r} has no BatchNorm layer, so data cannot be distilled from it; "
            "pass real calibration data instead (--data)"
        )
    sample = tuple(shape[1:])
    if resolution is not None:
        if resolution <= 0 or len(sample) != 3:
            raise OhqError(f"--resolution must be positive and the input (C,H,W), got {resolution}")
        sample = (sample[0], resolution, resolution)
    start = time.perf_counter()
    total = max(1, -(-max(n, 0) // max(batch, 1)) * steps)
    with progress() as bar:
        task = bar.add_task(label, total=total, info="")

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, total=total, info=f"BN loss {loss:.4g}")

        data = distill_data(
            loaded.model, n, sample, steps=steps, batch_size=batch, lr=lr, seed=seed, callback=on_step
        )
        bar.update(task, completed=total)
    return data, time.perf_counter() - start


@app.command()
def distill(
    model: ModelOpt,
    out: Annotated[str, typer.Option("--out", "-o", help="Where to write the inputs (.npz).")],
    n: NOpt = 32,
    steps: StepsOpt = 500,
    batch: BatchOpt = 32,
    lr: LrOpt = 0.5,
    resolution: ResolutionOpt = None,
    seed: SeedOpt = 0,
    weights: WeightsOpt = None,
    input: InputOpt = None,
    force: Annotated[bool, typer.Option("--force/--no-force", help="Overwrite --out.")] = False,
    threads: ThreadsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Generate inputs whose statistics match every BatchNorm layer (ZeroQ); save them as .npz."""
    from ohq.data.distill import save_distilled
    from ohq.io import check_writable, write_atomic

    if not out.endswith(".npz"):
        raise OhqError(f"--out must end in .npz, got {out!r}")
    if n <= 0:
        raise OhqError(f"--n must be a positive number of samples, got {n}")
    out_path = check_writable(out, force)
    loaded, shape = resolve_model(model, weights, input)
    data, seconds = run_distill(loaded, shape, n, steps, batch, lr, seed, resolution)
    write_atomic(out_path, lambda p: save_distilled(p, data))
    doc = {
        "model": loaded.name,
        "out": str(out_path),
        "shape": list(data.x.shape),
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "loss_before": data.loss_before,
        "loss_after": data.loss_after,
        "seconds": round(seconds, 3),
    }
    if json:
        print_json(doc)
        return
    console.print(
        f"{len(data.x)} samples {tuple(data.x.shape[1:])} in {seconds:.1f} s; BN-statistics loss "
        f"{data.loss_before:.4g} → {data.loss_after:.4g}; wrote {out_path}"
    )
