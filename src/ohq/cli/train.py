"""`ohq train`: supervised training with a progress bar; writes a state dict and its JSON card."""

from __future__ import annotations

import shlex
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from ohq.cli._common import ModelOpt, NormalizeOpt, ThreadsOpt, app, console, progress
from ohq.errors import OhqError

if TYPE_CHECKING:
    import torch


def _untrained(spec: str, data) -> tuple[torch.nn.Module, str]:
    """A fresh model to train: a shipped name builds its architecture; a zoo name is sized to the data."""
    from ohq.models import SHIPPED, build_shipped, create_model, list_models, load_model

    if spec in SHIPPED:
        return build_shipped(spec, trained=False), SHIPPED[spec].arch
    if spec in list_models():
        c, h = data.x.shape[1], data.x.shape[2]
        kwargs = {"num_classes": data.num_classes, "in_channels": c}
        if spec != "small_cnn":
            kwargs["small_input"] = h <= 64
        return create_model(spec, **kwargs), spec
    return load_model(spec).model, spec


@app.command()
def train(
    model: ModelOpt,
    data: Annotated[str, typer.Option("--data", "-d", help="digits, mnist, file.npz or an image folder.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Where to write the state dict (.pt).")],
    epochs: Annotated[int, typer.Option(help="Passes over the training split.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed for initialisation and shuffling.")] = 0,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, one-cycle).")] = 3e-3,
    batch_size: Annotated[int, typer.Option(help="Training batch size.")] = 128,
    force: Annotated[bool, typer.Option(help="Overwrite --out and its card.")] = False,
    normalize: NormalizeOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Train a model on real data; report test top-1; save the weights and a card that reproduces them."""
    import torch

    from ohq.data import Normalize, load_dataset
    from ohq.io import check_writable, write_atomic, write_json
    from ohq.train import fit, top1

    if not out.endswith(".pt"):
        raise OhqError(f"--out must end in .pt, got {out!r}")
    out_path = check_writable(out, force)
    card_path = check_writable(out_path.with_suffix(".json"), force)
    norm = Normalize.parse(normalize) if normalize else Normalize.for_data(data)
    train_split, test_split = load_dataset(data, "train", norm), load_dataset(data, "test", norm)
    torch.manual_seed(seed)
    net, arch = _untrained(model, train_split)
    start = time.perf_counter()
    with progress() as bar:
        task = bar.add_task(f"train {model}", total=epochs, info="")

        piped = not sys.stdout.isatty()  # no live bar in a log file: one line per epoch instead

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step * epochs / total, info=f"loss {loss:.3f}")
            per_epoch = max(1, total // epochs)
            if piped and (step % per_epoch == 0 or step == total):
                epoch = min(epochs, -(-step // per_epoch))
                console.print(f"epoch {epoch}/{epochs}: loss {loss:.4f}, {time.perf_counter() - start:.1f} s")

        fit(net, train_split, epochs, seed=seed, lr=lr, batch_size=batch_size, on_step=on_step)
    seconds = time.perf_counter() - start
    acc = top1(net, test_split)
    write_atomic(out_path, lambda p: torch.save(net.state_dict(), p))
    command = "ohq train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if sys.argv[1:2] == ["train"] else None
    write_json(card_path, {
        "model": model,
        "arch": arch,
        "data": data,
        "normalize": norm.to_dict(),  # the input transform the weights expect
        "epochs": epochs,
        "seed": seed,
        "lr": lr,
        "batch_size": batch_size,
        "test_top1": round(acc, 4),
        "test_samples": len(test_split),
        "train_seconds": round(seconds, 1),
        "torch": torch.__version__,
        "command": command or f"ohq train --model {model} --data {data} --epochs {epochs} --seed {seed} "
        f"--lr {lr} --batch-size {batch_size} --out {out}",
    })
    console.print(f"test top-1 {acc:.2%} on {len(test_split):,} {data} test samples; wrote {out_path} and {card_path}")
