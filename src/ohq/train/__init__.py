"""Training and evaluation: supervised `fit`, `top1` accuracy (QAT/progressive come with the pipeline)."""

from ohq.train.evaluate import predict, top1
from ohq.train.fit import fit

__all__ = ["fit", "predict", "top1"]
