"""Training: supervised `fit`, `top1`, and quantization-aware training (`qat`, `finetune`).

QAT methods (`list_methods()`): ste (every scheme), lsq (learned steps), nbq (n-BQ-NN's
reconstructed gradient for power-of-two weights); LHA's progressive stages with `progressive=`;
torchrun/DDP through `ohq.train.ddp`. See docs/train.md.
"""

from ohq.train.api import check_finetune, finetune, load_trained, qat
from ohq.train.evaluate import predict, top1
from ohq.train.fit import fit
from ohq.train.loop import TrainConfig
from ohq.train.methods import Method, get_method, list_methods
from ohq.train.progressive import stage_plans
from ohq.train.qat import QatNet

__all__ = ["Method", "QatNet", "TrainConfig", "check_finetune", "finetune", "fit", "get_method", "list_methods",
           "load_trained", "predict", "qat", "stage_plans", "top1"]
