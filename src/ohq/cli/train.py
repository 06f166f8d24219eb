"""`ohq train`: supervised training, or quantization-aware training with `--qat`.

Plain: writes a state dict and its JSON card. `--qat`: FP32 → PTQ → QAT top-1, and writes the
QAT result (`--out`, loaded by `ohq.train.load_trained`), the plan (`.plan.json`) and a card
(`.json`); a checkpoint (`.ckpt`) after every epoch lets `--resume` continue. Runs unchanged under
`torchrun --nproc-per-node N -m ohq train ...` (rank 0 alone prints and writes).
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ohq.cli._common import (
    JsonOpt,
    ModelOpt,
    NormalizeOpt,
    ThreadsOpt,
    app,
    console,
    print_json,
    progress,
)
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


def _command(fallback: str) -> str:
    if sys.argv[1:2] == ["train"]:
        return "ohq train " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    return fallback


def _outputs(out: str, force: bool, resume: bool, qat: bool) -> tuple[Path, Path, Path | None, Path | None]:
    """(weights, card, plan, checkpoint) paths, checked before any work."""
    from ohq.io import check_writable

    if not out.endswith(".pt"):
        raise OhqError(f"--out must end in .pt, got {out!r}")
    out_path = check_writable(out, force)
    folder = out_path.parent if str(out_path.parent) else Path(".")
    if not os.access(folder, os.W_OK):
        raise OhqError(f"cannot write to folder {folder}")
    card = check_writable(out_path.with_suffix(".json"), force)
    if not qat:
        return out_path, card, None, None
    plan = check_writable(out_path.with_suffix(".plan.json"), force)
    ckpt = out_path.with_suffix(".ckpt")
    if ckpt.exists() and not (resume or force):
        raise OhqError(f"checkpoint {ckpt} exists; pass --resume to continue it or --force to start over")
    if resume and not ckpt.exists():
        raise OhqError(f"--resume: no checkpoint at {ckpt}")
    return out_path, card, plan, ckpt


def _limit(data, n: int | None):
    if n is None:
        return data
    if n < 1:
        raise OhqError(f"--train-limit must be at least 1, got {n}")
    return type(data)(data.x[:n], data.y[:n], data.name, data.split, data.num_classes)


@app.command()
def train(
    model: ModelOpt,
    data: Annotated[str, typer.Option("--data", "-d", help="digits, mnist, file.npz or an image folder.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Where to write the state dict (.pt).")],
    epochs: Annotated[float, typer.Option(help="Passes over the training split (QAT: may be fractional).")] = 3,
    seed: Annotated[int, typer.Option(help="Seed for initialisation and shuffling.")] = 0,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default 3e-3; QAT: ohq.train.loop.LR).")] = None,
    warmup: Annotated[float | None, typer.Option(help="QAT: share of the steps with a linear learning-rate "
                                                 "warm-up before the cosine decay (default ohq.train.loop.WARMUP).")] = None,
    batch_size: Annotated[int, typer.Option(help="Training batch size (global under torchrun).")] = 128,
    force: Annotated[bool, typer.Option("--force/--no-force", help="Overwrite --out and its card.")] = False,
    qat: Annotated[bool, typer.Option("--qat", help="Quantization-aware training of the trained model.")] = False,
    bits: Annotated[str, typer.Option("--bits", help="QAT: W/A bits of every layer, e.g. 4/4 (or 4).")] = "8/8",
    plan: Annotated[str | None, typer.Option("--plan", help="QAT: plan JSON (ohq.plan); overrides --bits.")] = None,
    scheme: Annotated[str, typer.Option("--scheme", "-s", help="QAT: uniform, pot, sp2 or rowmix.")] = "uniform",
    method: Annotated[str, typer.Option("--method", help="QAT: ste, lsq or nbq.")] = "ste",
    progressive: Annotated[str | None, typer.Option(help="QAT: stage bits, e.g. 8,6,4 (LHA).")] = None,
    from_scratch: Annotated[bool, typer.Option(help="QAT from random weights, not the trained ones.")] = False,
    train_limit: Annotated[int | None, typer.Option(help="Train on the first N training samples.")] = None,
    resume: Annotated[bool, typer.Option(help="QAT: continue from the checkpoint beside --out.")] = False,
    bn_steps: Annotated[int, typer.Option(help="QAT: steps on BatchNorm batch statistics before it is "
                                          "frozen and folded (0: fold up front).")] = 0,
    normalize: NormalizeOpt = None,
    threads: ThreadsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Train a model on real data (or QAT it with --qat); report test top-1; save weights and a card."""
    from ohq.threads import set_threads
    from ohq.train import ddp

    set_threads(threads)
    ddp.init()
    try:
        if qat:
            from ohq.train.loop import LR, WARMUP

            return _train_qat(model, data, out, epochs, seed, lr or LR, batch_size, force, bits, plan, scheme,
                              method, progressive, from_scratch, train_limit, resume, json, normalize, bn_steps,
                              WARMUP if warmup is None else warmup)
        if resume or progressive or plan or json or bn_steps or warmup is not None:
            raise OhqError("--resume, --progressive, --plan, --bn-steps, --warmup and --json go with --qat")
        _train_float(model, data, out, epochs, seed, lr or 3e-3, batch_size, force, train_limit, normalize)
    except OhqError:
        if not ddp.is_main():
            sys.exit(2)  # rank 0 prints the one line
        raise
    finally:
        ddp.shutdown()


def _train_float(model, data, out, epochs, seed, lr, batch_size, force, train_limit, normalize) -> None:
    import torch

    from ohq.data import Normalize, load_dataset
    from ohq.io import write_atomic, write_json
    from ohq.train import fit, top1

    if epochs != int(epochs):
        raise OhqError(f"--epochs must be whole for plain training, got {epochs}")
    epochs = int(epochs)
    out_path, card_path, _, _ = _outputs(out, force, False, False)
    norm = Normalize.parse(normalize) if normalize else Normalize.for_data(data)
    train_split = _limit(load_dataset(data, "train", norm), train_limit)
    test_split = load_dataset(data, "test", norm)
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
    write_json(card_path, {
        "model": model, "arch": arch, "data": data, "normalize": norm.to_dict(), "epochs": epochs, "seed": seed, "lr": lr,
        "batch_size": batch_size, "test_top1": round(acc, 4), "test_samples": len(test_split),
        "train_seconds": round(seconds, 1), "torch": torch.__version__,
        "command": _command(f"ohq train --model {model} --data {data} --epochs {epochs} --seed {seed} "
                            f"--lr {lr} --batch-size {batch_size} --out {out}"),
    })
    console.print(f"test top-1 {acc:.2%} on {len(test_split):,} {data} test samples; wrote {out_path} and {card_path}")


def _train_qat(model, data, out, epochs, seed, lr, batch_size, force, bits, plan_file, scheme, method,
               progressive, from_scratch, train_limit, resume, json, normalize, bn_steps=0, warmup=0.0) -> None:
    from ohq.cli._train_qat import run_qat
    from ohq.train import ddp

    paths = _outputs(out, force, resume, True)
    doc = run_qat(model, data, epochs=epochs, seed=seed, lr=lr, batch_size=batch_size, bits=bits,
                  plan_file=plan_file, scheme=scheme, method=method, progressive=progressive,
                  from_scratch=from_scratch, train_limit=train_limit, resume=resume, paths=paths,
                  command=_command(""), untrained=_untrained, limit=_limit, normalize=normalize,
                  bn_steps=bn_steps, warmup=warmup)
    if not ddp.is_main():
        return
    if json:
        print_json(doc)
    else:
        fp32 = "n/a (from scratch)" if doc["top1_fp32"] is None else f"{doc['top1_fp32']:.2%}"
        console.print(f"top-1 FP32 {fp32} → PTQ {doc['top1_ptq']:.2%} → QAT "
                      f"{doc['top1_qat']:.2%} ({method}, {doc['epochs']} epochs, {doc['seconds']:.0f} s); "
                      f"wrote {paths[0]}, {paths[2]} and {paths[1]}")
