"""Distillation stops on a BN-loss plateau, and the disk cache returns the very same batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ohq.data.distill import Plateau, batchnorm_layers, distill_data
from ohq.data.distill_cache import cached_distill, distill_for, distill_key
from ohq.errors import OhqError


def _bn_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4)).eval()
    for _, bn in batchnorm_layers(net):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    return net


def test_plateau_rule():
    rule = Plateau(window=2, rel=0.1)
    assert not rule.reached([100.0, 50.0])  # not enough steps yet
    assert not rule.reached([100.0, 50.0, 20.0, 10.0])  # the last 2 steps: 10 of the 90 so far
    assert rule.reached([100.0, 50.0, 10.0, 9.0, 8.0])  # 2 of 92
    assert not rule.reached([5.0, 5.0, 5.0, 5.0])  # no progress at all: only the cap stops it
    with pytest.raises(OhqError):
        Plateau(window=0)


def test_distill_stops_on_a_plateau_before_the_cap():
    net = _bn_net()
    full = distill_data(net, 8, (1, 8, 8), steps=300, seed=0)
    early = distill_data(net, 8, (1, 8, 8), steps=300, seed=0, plateau=Plateau(window=10, rel=0.02))
    assert full.steps == 300 and 10 < early.steps < 150
    # most of the drop is made: the remaining 150+ steps lower the loss by less than a fifth more
    assert early.loss_after - full.loss_after < 0.2 * (early.loss_before - full.loss_after)
    # the stopped batch is the prefix of the long run (same seed, same optimiser)
    again = distill_data(net, 8, (1, 8, 8), steps=early.steps, seed=0)
    assert torch.equal(again.x, early.x)


def test_cache_returns_the_same_batch_and_keys_on_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("OHQ_CACHE", str(tmp_path))
    net = _bn_net()
    first, hit1 = cached_distill(net, 3, (1, 8, 8), steps=5, seed=1)
    second, hit2 = cached_distill(net, 3, (1, 8, 8), steps=5, seed=1)
    assert (hit1, hit2) == (False, True)
    assert torch.equal(first.x, second.x) and second.steps == first.steps == 5
    assert second.loss_after == first.loss_after
    key = distill_key(net, 3, (1, 8, 8), steps=5, seed=1)
    with torch.no_grad():
        next(net.parameters()).view(-1)[0] += 1.0  # other weights: another key, a fresh batch
    assert distill_key(net, 3, (1, 8, 8), steps=5, seed=1) != key
    assert not cached_distill(net, 3, (1, 8, 8), steps=5, seed=1)[1]
    _, how = distill_for(net, 3, (1, 8, 8), steps=5, seed=1)
    assert "steps" in how and distill_for(net, 3, (1, 8, 8), steps=5, seed=1)[1] == "cached"


def test_damaged_or_disabled_cache_just_distils(tmp_path, monkeypatch):
    monkeypatch.setenv("OHQ_CACHE", str(tmp_path))
    net = _bn_net()
    data, _ = cached_distill(net, 2, (1, 8, 8), steps=3)
    (entry,) = (tmp_path / "distill").glob("*.npz")
    entry.write_bytes(b"not a zip")
    again, hit = cached_distill(net, 2, (1, 8, 8), steps=3)
    assert not hit and torch.equal(again.x, data.x)
    monkeypatch.setenv("OHQ_CACHE", "off")
    assert not cached_distill(net, 2, (1, 8, 8), steps=3)[1]
