"""`ohq.train.qat` and `ohq.train.finetune`: quantization-aware training that returns a QuantModel.

>>> from ohq.data import load_dataset
>>> from ohq.models import build_shipped
>>> from ohq.quant import Plan
>>> data = load_dataset("digits", "train")
>>> qm = qat(build_shipped("digits_cnn"), Plan.uniform(4), data, epochs=0.2)
>>> type(qm).__name__
'QuantModel'
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from ohq.errors import OhqError
from ohq.io import write_atomic
from ohq.quant import Plan, QuantModel, fold_bn, quantize
from ohq.quant.graphops import LAYERS
from ohq.quant.prune import apply_masks
from ohq.train import ddp
from ohq.train.bn import bn_pairs
from ohq.train.loop import LR, WARMUP, StepCallback, TrainConfig, run_steps, steps_per_epoch
from ohq.train.methods import get_method
from ohq.train.progressive import stage_plans
from ohq.train.qat import QatNet

CKPT_TYPE, CKPT_VERSION = "ohq.qat-checkpoint", 1
CALIB = 256  # training samples that calibrate each stage's activation ranges (as `ohq eval`)


def calibration(data: TensorDataset, n: int = CALIB) -> Tensor:
    """`n` training inputs drawn with seed 0 (the sample `ohq eval` calibrates PTQ on)."""
    x = data.tensors[0]
    return x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:n]]


def layer_names(model: nn.Module) -> list[tuple[str, list[int]]]:
    """(name, weight shape) of every conv/linear: what a checkpoint must match to be resumed."""
    names = [(n, list(m.weight.shape)) for n, m in model.named_modules() if isinstance(m, LAYERS)]
    if not names:
        raise OhqError("the model has no quantizable layer (Conv2d or Linear); nothing to train")
    return names


def qat(model: nn.Module, plan: Plan, data: TensorDataset, *, epochs: float = 1.0, method: str = "ste",
        progressive: list[int] | None = None, calib: Tensor | None = None, lr: float = LR,
        batch_size: int = 128, seed: int = 0, checkpoint: str | Path | None = None,
        resume: bool = False, on_step: StepCallback | None = None,
        on_stage: Callable[[int, int, Plan], None] | None = None,
        masks: dict[str, Tensor] | None = None, bn_steps: int = 0, warmup: float = WARMUP) -> QuantModel:
    """Quantization-aware training of `model` (float, or a PTQ QuantModel to start from) at `plan`.

    `progressive` lists stage bit-widths (LHA, e.g. [8, 6, 4]); the epochs are split evenly over
    the stages; each stage's learning rate warms up linearly over its first `warmup` share of
    steps, then decays to 0 on a cosine. `bn_steps` > 0 trains the first stage with BatchNorm unfolded, on batch statistics,
    for that many steps, then frozen and folded (`ohq.train.bn`); 0 folds it up front (the default,
    see docs/train.md). `checkpoint` is written atomically (rank 0) after every epoch and stage;
    `resume` continues from it. Under torchrun each rank trains its shard (see `ohq.train.ddp`).
    `masks` ({layer: keep-mask}, e.g. from `ohq.quant.prune.prune_model`) prunes the model first
    (BN statistics re-measured on `calib`) and keeps the pruned weights exactly zero in training.
    """
    cfg = TrainConfig(epochs, lr, batch_size, seed, warmup=warmup)
    meth = get_method(method)
    if not isinstance(plan, Plan):
        raise OhqError(f"plan must be an ohq.quant.Plan, got {type(plan).__name__}")
    start_q = model if isinstance(model, QuantModel) else None
    if start_q is not None and progressive:
        raise OhqError("progressive QAT needs the float model, not a QuantModel")
    if bn_steps < 0 or (bn_steps and start_q is not None):
        raise OhqError(f"--bn-steps must be >= 0 and needs the float model (with its BatchNorm), got {bn_steps}")
    names = list(start_q.specs) if start_q is not None else [n for n, _ in layer_names(model)]
    plan.resolve(names)  # a plan naming a missing layer fails here, before any work
    calib = calibration(data) if calib is None else calib
    if masks:  # pruned as `ohq.codesign` prunes for PTQ: BN statistics re-measured on calib
        _check_masks(masks, names)
        model = model if start_q is not None else apply_masks(model, masks, calib)
    plans = stage_plans(plan, progressive, names) if progressive else [plan]
    per_epoch = steps_per_epoch(data, cfg)
    total = max(int(round(epochs * per_epoch)), len(plans))
    bounds = [round(total * k / len(plans)) for k in range(len(plans) + 1)]
    fingerprint = {"layers": [[n, list(s)] for n, s in _shapes(model, start_q)], "plan": plan.to_dict(),
                   "method": method, "stages": [p.to_dict() for p in plans], "steps": total,
                   "train": len(data), "batch_size": batch_size, "seed": seed, "lr": lr, "bn_steps": bn_steps,
                   "warmup": warmup}
    state = load_checkpoint(checkpoint, fingerprint) if resume else None
    folded = None if start_q is not None else fold_bn(model)
    pairs = bn_pairs(model) if bn_steps else None
    first_stage = 0 if state is None else state["stage"]
    net = None
    torch.manual_seed(seed)
    for k in range(first_stage, len(plans)):
        if on_stage is not None:
            on_stage(k, len(plans), plans[k])
        resumed = state if state is not None and state["stage"] == k else None
        if resumed is not None and resumed.get("float") is not None and folded is not None:
            _load_float(folded, resumed["float"])  # a checkpoint taken between two stages
        net = QatNet(start_q if start_q is not None else quantize(folded, plans[k], calib), meth, masks,
                     pairs if k == 0 else None, bn_steps)
        if resumed is not None and resumed.get("net") is not None:
            net.load_state_dict(resumed["net"])
        first = resumed["step"] if resumed is not None else bounds[k]
        if first < bounds[k + 1]:
            run_steps(net, data, cfg, meth, first=first, last=bounds[k + 1], stage_first=bounds[k],
                      state=resumed if resumed is not None and resumed.get("opt") else None,
                      on_step=on_step, on_checkpoint=_saver(checkpoint, fingerprint, k, bounds, net))
        net.fold_bn()  # a no-op unless this stage trained BatchNorm unfolded
        if folded is not None:
            _load_float(folded, net.float_weights())
        state = None
    ddp.barrier()
    qmodel = net.to_quant_model()
    qmodel.qat_state_ = {"method": method, "plan": plan.to_dict(), "state": net.state_dict()}
    return qmodel


def _check_masks(masks: dict[str, Tensor], names: list[str]) -> None:
    unknown = sorted(set(masks) - set(names))
    if unknown:
        raise OhqError(f"pruning masks name layers the model does not have: {', '.join(unknown)}")


def load_trained(model: nn.Module, doc: dict, calib: Tensor) -> QuantModel:
    """The QuantModel a QAT run saved (`qmodel.qat_state_`, what `ohq train --qat` writes) for the
    float `model` it started from; `calib` only needs the right shape (the ranges are loaded)."""
    if not isinstance(doc, dict) or set(doc) != {"method", "plan", "state"}:
        raise OhqError("not a QAT result (expected method, plan and state)")
    plan = Plan.from_dict(doc["plan"])
    net = QatNet(quantize(model, plan, calib), get_method(doc["method"]))
    try:
        net.load_state_dict(doc["state"])
    except RuntimeError:
        raise OhqError("the QAT result does not fit this model (its layers differ)") from None
    return net.to_quant_model()


def _saver(path: str | Path | None, fingerprint: dict, k: int, bounds: list[int], net: QatNet):
    """The per-epoch checkpoint writer of stage k (rank 0 only, atomic)."""
    def save(step: int, st: dict) -> None:
        if path is None or not ddp.is_main():
            return
        doc = {"type": CKPT_TYPE, "version": CKPT_VERSION, "fingerprint": fingerprint,
               "stage": k, "step": step, "float": None, **st}
        if step == bounds[k + 1] and k + 2 < len(bounds):  # between stages: the next starts afresh
            doc.update(stage=k + 1, net=None, opt=None, sched=None, float=_float_state(net))
        write_atomic(path, lambda p: torch.save(doc, p))
    return save


FINETUNE = {"qat": None, "progressive": [8, 6, 4]}  # --finetune → progressive stages


def check_finetune(how: str, data: object, epochs: float) -> None:
    """OhqError unless `ohq quantize --finetune` can run (checked before the pipeline starts)."""
    if how not in FINETUNE:
        raise OhqError(f"--finetune must be {' or '.join(FINETUNE)}, got {how!r}")
    if data is None:
        raise OhqError("--finetune trains on real data: give --data")
    if not epochs > 0:
        raise OhqError(f"--epochs must be positive, got {epochs}")


def finetune(model: nn.Module, plan: Plan, train: TensorDataset | str | None, *, how: str = "qat",
             epochs: float = 1.0, **kwargs) -> QuantModel:
    """The pipeline's hook: QAT of `model` at the ILP's `plan`, one stage ("qat") or LHA's
    8 → 6 → 4 → plan ("progressive"). `train`: a data set or a data set name (its train split)."""
    check_finetune(how, train, epochs)
    if isinstance(train, str):
        from ohq.data import load_dataset

        train = load_dataset(train, "train")
    return qat(model, plan, train, epochs=epochs, progressive=FINETUNE[how], **kwargs)


def _shapes(model: nn.Module, start_q: QuantModel | None) -> list[tuple[str, list[int]]]:
    if start_q is None:
        return layer_names(model)
    return [(n, list(layer.weight.shape)) for n, layer in start_q.layers.items()]


def _float_state(net: QatNet) -> dict[str, list[Tensor]]:
    return {n: [w, b] for n, (w, b) in net.float_weights().items()}


@torch.no_grad()
def _load_float(folded: nn.Module, weights: dict) -> None:
    """Trained folded weights back into the float (BN-folded) model, for the next stage's PTQ."""
    for name, (w, b) in weights.items():
        layer = folded.get_submodule(name)
        layer.weight.copy_(w)
        if layer.bias is not None:
            layer.bias.copy_(b)


def load_checkpoint(path: str | Path | None, fingerprint: dict) -> dict:
    """A QAT checkpoint that matches this run; OhqError naming what differs otherwise."""
    if path is None or not Path(path).is_file():
        raise OhqError(f"--resume: no checkpoint at {path}")
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file: torch's own message, on one line
        raise OhqError(f"--resume: {path} is not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or doc.get("type") != CKPT_TYPE or doc.get("version") != CKPT_VERSION:
        raise OhqError(f"--resume: {path} is not an ohq QAT checkpoint")
    old = doc["fingerprint"]
    if old["layers"] != fingerprint["layers"]:
        raise OhqError(f"--resume: checkpoint {path} is from another model (its layers differ)")
    differ = sorted(k for k in fingerprint if old.get(k) != fingerprint[k])
    if differ:
        raise OhqError(f"--resume: checkpoint {path} was made with other settings: {', '.join(differ)}")
    return doc
