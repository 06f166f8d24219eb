"""Shared fixtures: the shipped mnist_cnn quantized at W8A8 and at a mixed 4/8 plan."""

from __future__ import annotations

import pytest
import torch

from ohq.models.shipped import weights_dir

MNIST_SHAPE = (1, 1, 28, 28)
needs_mnist_cnn = pytest.mark.skipif(not (weights_dir() / "mnist_cnn.pt").exists(),
                                     reason="mnist_cnn not trained")


@pytest.fixture(scope="session")
def mnist():
    from ohq.data import load_dataset

    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    calib = train.x[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:256]]
    return calib, test


def _quantize(mnist, plan):
    from ohq.models import load_model
    from ohq.quant import quantize

    return quantize(load_model("mnist_cnn").model.eval(), plan, mnist[0])


@pytest.fixture(scope="session")
def q8(mnist):
    from ohq.quant import Plan, QuantSpec

    return _quantize(mnist, Plan(QuantSpec(8, 8)))


@pytest.fixture(scope="session")
def q48(mnist):
    """Mixed: 4-bit weights and activations inside, first and last layer at 8 bits."""
    from ohq.quant import Plan, QuantSpec

    return _quantize(mnist, Plan(QuantSpec(4, 4), first_last_bits=8))


@pytest.fixture(params=["q8", "q48"])
def qmodel(request):
    return request.getfixturevalue(request.param)
