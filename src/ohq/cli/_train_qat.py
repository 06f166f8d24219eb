"""The body of `ohq train --qat`: FP32 and PTQ references, QAT with a progress bar, outputs."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ohq.cli._common import progress
from ohq.data import Normalize, load_dataset
from ohq.errors import OhqError
from ohq.io import write_atomic, write_json
from ohq.models import load_model
from ohq.quant import Plan, QuantModel, quantize
from ohq.train import ddp, top1
from ohq.train.api import calibration, layer_names
from ohq.train.api import qat as run
from ohq.train.loop import TrainConfig
from ohq.train.progressive import parse_stages


def parse_bits(text: str) -> tuple[int, int]:
    """'4/4' or '4' → (weight bits, activation bits)."""
    parts = text.split("/")
    try:
        w = int(parts[0])
        a = int(parts[1]) if len(parts) == 2 else w
    except (ValueError, IndexError):
        raise OhqError(f"--bits takes W/A like 4/4 (or one number), got {text!r}") from None
    if len(parts) > 2:
        raise OhqError(f"--bits takes W/A like 4/4 (or one number), got {text!r}")
    return w, a


def _top1(net, test) -> float:
    return top1(net.fastest() if isinstance(net, QuantModel) else net, test)


def run_qat(model: str, data: str, *, epochs: float, seed: int, lr: float, batch_size: int, bits: str,
            plan_file: str | None, scheme: str, method: str, progressive: str | None, from_scratch: bool,
            train_limit: int | None, resume: bool, paths: tuple, command: str, untrained, limit,
            normalize: str | None = None, bn_steps: int = 0, warmup: float = 0.0) -> dict:
    out_path, card_path, plan_path, ckpt = paths
    if bn_steps < 0:
        raise OhqError(f"--bn-steps must be >= 0, got {bn_steps}")
    TrainConfig(epochs, lr, batch_size, seed, warmup=warmup)  # bad hyper-parameters fail before any work
    stages = parse_stages(progressive) if progressive else None
    if plan_file is not None:
        plan = Plan.load_json(plan_file)
    else:
        w, a = parse_bits(bits)
        plan = Plan.uniform(w, a, scheme)
    loaded = None if from_scratch else load_model(model, normalize=normalize)
    norm = (loaded and loaded.normalize) or (Normalize.parse(normalize) if normalize else Normalize.for_data(data))
    train, test = limit(load_dataset(data, "train", norm), train_limit), load_dataset(data, "test", norm)
    torch.manual_seed(seed)
    net = untrained(model, train)[0] if loaded is None else loaded.model
    plan.resolve([n for n, _ in layer_names(net)])
    main = ddp.is_main()
    calib = calibration(train)
    fp32 = top1(net, test) if main and not from_scratch else None
    ptq = _top1(quantize(net, plan, calib), test) if main else None
    start = time.perf_counter()
    with progress() as bar:
        task = bar.add_task(f"QAT {model} ({method})", total=None, info="") if main else None

        def on_step(step: int, total: int, loss: float, acc: float) -> None:
            if task is not None:
                bar.update(task, completed=step, total=total, info=f"loss {loss:.3f} acc {acc:.1%}")

        def on_stage(k: int, n: int, p: Plan) -> None:
            if task is not None and n > 1:
                label = "target" if k == n - 1 else f"{p.default.w_bits}-bit"
                bar.update(task, description=f"QAT {model} stage {k + 1}/{n} ({label})")

        try:
            qmodel = run(net, plan, train, epochs=epochs, method=method, progressive=stages, calib=calib,
                         lr=lr, batch_size=batch_size, seed=seed, checkpoint=ckpt, resume=resume,
                         on_step=on_step, on_stage=on_stage, bn_steps=bn_steps, warmup=warmup)
        except KeyboardInterrupt:
            raise OhqError(f"interrupted; the last checkpoint {ckpt} is intact: rerun with --resume") from None
    seconds = time.perf_counter() - start
    if not main:
        return {}
    acc = _top1(qmodel, test)
    val = _top1(qmodel, load_dataset(data, "val", norm))  # choose recipes here, not on the test split
    doc = {"top1_fp32": fp32, "top1_ptq": ptq, "top1_qat": acc, "top1_qat_val": val, "epochs": epochs,
           "seconds": round(seconds, 1), "plan": plan.to_dict()}
    write_atomic(out_path, lambda p: torch.save(qmodel.qat_state_, p))
    write_atomic(plan_path, lambda p: plan.save_json(p))
    write_json(card_path, {
        "model": model, "data": data, "qat": True, "method": method, "progressive": stages,
        "from_scratch": from_scratch, "bn_steps": bn_steps, "epochs": epochs, "seed": seed, "lr": lr, "warmup": warmup,
        "batch_size": batch_size, "train_samples": len(train), "processes": ddp.world_size(), **{k: doc[k] for k in
        ("top1_fp32", "top1_ptq", "top1_qat", "top1_qat_val", "seconds")}, "size_mib": qmodel.size_mib(),
        "test_samples": len(test), "torch": torch.__version__, "command": command,
    })
    Path(ckpt).unlink(missing_ok=True)  # the run finished: its outputs replace the checkpoint
    return doc
