"""Magnitude pruning and sparse storage (bitmask / run-length), counted in bits."""

from __future__ import annotations

import pytest
import torch

from ohq.errors import OhqError
from ohq.quant.prune import GRANULARITIES, prune_mask, prune_model, storage_bits


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.9])
def test_unstructured_mask_removes_smallest(sparsity):
    w = torch.randn(16, 8, 3, 3, generator=torch.Generator().manual_seed(0))
    m = prune_mask(w, sparsity)
    assert abs(1 - m.float().mean().item() - sparsity) < 1e-3
    if 0 < sparsity:
        assert w[~m].abs().max() <= w[m].abs().min()


def test_channel_mask_drops_whole_filters():
    w = torch.randn(10, 4, 3, 3)
    w[3] *= 0.01
    m = prune_mask(w, 0.2, "channel")
    per = m.reshape(10, -1)
    assert (per.all(1) | ~per.any(1)).all() and not per[3].any() and int(per.any(1).sum()) == 8


def test_storage_formats_and_their_indices():
    m = torch.zeros(1000, dtype=torch.bool)
    assert storage_bits(~m, 8) == ("dense", 8000)
    half = torch.arange(1000) % 2 == 0
    assert storage_bits(half, 8) == ("bitmask", 1000 + 500 * 8)
    sparse = torch.arange(1000) % 10 == 0  # runs of 9 zeros fit a 4-bit run length
    assert storage_bits(sparse, 8) == ("rle", 100 * (8 + 4))
    far = torch.arange(1000) % 40 == 0  # runs of 39: two filler entries each (39 // 16)
    fmt, bits = storage_bits(far, 8)
    assert fmt == "rle" and bits == (25 + 24 * 2) * 12
    ch = prune_mask(torch.randn(8, 4), 0.5, "channel")
    assert storage_bits(ch, 4, "channel") == ("channel", 4 * 4 * 4 + 8)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5])
def test_bad_sparsity(bad):
    with pytest.raises(OhqError, match=r"\[0, 1\)"):
        prune_mask(torch.randn(4, 4), bad)


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_prune_model_is_a_copy(granularity):
    net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    pruned, masks = prune_model(net, {"0": 0.5}, granularity)
    assert (pruned[0].weight == 0).float().mean() == 0.5 and (net[0].weight != 0).all()
    with pytest.raises(OhqError, match="no such layer"):
        prune_model(net, {"nope": 0.5})


def test_calib_reestimates_batchnorm_after_pruning():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.BatchNorm2d(4)).eval()
    x = torch.randn(200, 2, 6, 6)  # one batch: the statistics are those of x exactly
    pruned, masks = prune_model(net, {"0": 0.5}, calib=x)
    with torch.no_grad():
        y = pruned[0](x)  # the pruned conv's output: what BN now normalises
    assert torch.allclose(pruned[1].running_mean, y.mean(dim=(0, 2, 3)), atol=1e-5)
    assert not pruned.training and pruned[1].momentum == net[1].momentum
    assert torch.equal(net[1].running_mean, torch.zeros(4))  # the original is untouched
    assert torch.equal(pruned[0].weight[~masks["0"].mask], torch.zeros(int((~masks["0"].mask).sum())))
