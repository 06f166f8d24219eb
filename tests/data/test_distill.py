"""Distilled data (Eq. 2): the BN-statistics loss falls, the file holds (N, C, H, W), bad input is an OhqError."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ohq.data.distill import (
    batchnorm_layers,
    bn_statistics_loss,
    distill_data,
    load_inputs,
    save_distilled,
)
from ohq.errors import OhqError
from ohq.models import create_model


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models on shared cores run faster on one thread
    yield
    torch.set_num_threads(threads)


def _bn_net() -> nn.Module:
    torch.manual_seed(0)
    net = create_model("small_cnn", num_classes=10, in_channels=1).eval()
    for _, bn in batchnorm_layers(net):  # statistics that N(0, 1) noise does not already match
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    return net


def test_distill_reduces_bn_loss_and_writes_nchw(tmp_path):
    net = _bn_net()
    calls = []
    data = distill_data(net, 10, (1, 8, 8), steps=40, batch_size=4, seed=1, callback=lambda *a: calls.append(a))
    assert data.x.shape == (10, 1, 8, 8)
    assert data.loss_after < 0.5 * data.loss_before
    assert data.steps == 3 * 40 and len(calls) == 120 and calls[-1][:2] == (120, 120)
    assert bn_statistics_loss(net, data.x[:4]) == pytest.approx(
        bn_statistics_loss(net, data.x[:4]), rel=1e-6
    )
    path = save_distilled(tmp_path / "d.npz", data)
    with np.load(path) as npz:
        assert npz.files[0] == "x" and npz["x"].shape == (10, 1, 8, 8)
        assert float(npz["loss_after"]) == pytest.approx(data.loss_after)
    assert torch.equal(load_inputs(path), data.x)
    assert all(p.requires_grad for p in net.parameters())  # restored after distilling


def test_distill_is_deterministic_for_a_seed():
    net = _bn_net()
    a = distill_data(net, 3, (1, 8, 8), steps=5, seed=7).x
    b = distill_data(net, 3, (1, 8, 8), steps=5, seed=7).x
    c = distill_data(net, 3, (1, 8, 8), steps=5, seed=8).x
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_no_batchnorm_is_a_clear_error():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10))
    with pytest.raises(OhqError, match="no BatchNorm.*--data"):
        distill_data(net, 4, (1, 8, 8), steps=1)


@pytest.mark.parametrize("n, shape", [(0, (1, 8, 8)), (-3, (1, 8, 8)), (4, (1, 0, 8))])
def test_bad_sizes_are_errors(n, shape):
    with pytest.raises(OhqError):
        distill_data(_bn_net(), n, shape, steps=1)


def test_load_inputs_rejects_missing_and_flat_files(tmp_path):
    with pytest.raises(OhqError, match="does not exist"):
        load_inputs(tmp_path / "nope.npz")
    np.savez(tmp_path / "flat.npz", x=np.zeros(3))
    with pytest.raises(OhqError, match="N, C, H, W"):
        load_inputs(tmp_path / "flat.npz")


def test_wrong_sample_shape_is_an_error():
    with pytest.raises(OhqError, match="cannot take inputs of shape"):
        distill_data(_bn_net(), 2, (3, 8, 8), steps=1)
