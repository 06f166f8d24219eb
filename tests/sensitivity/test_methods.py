"""Every registered sensitivity method (registry loop), MQE's suffix re-run, Hutchinson."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from ohq.errors import OhqError
from ohq.models import create_model
from ohq.sensitivity import MQE, HessianTrace, Layerwise, analyze, get_method, list_methods
from ohq.sensitivity._suffix import SuffixRunner
from ohq.sensitivity.mqe import graph_module

FAST = {"hessian": {"n_probes": 4}}


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    model = create_model("small_cnn", num_classes=10, in_channels=1).eval()
    return model, torch.randn(12, 1, 8, 8)


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    model = create_model("resnet18", num_classes=10, in_channels=1, small_input=True, width=8).eval()
    return model, torch.randn(6, 1, 16, 16)


def test_registry_has_the_paper_methods():
    assert {"hessian", "layerwise", "mqe"} <= set(list_methods())
    assert isinstance(get_method("mqe"), MQE) and get_method("mqe", n_masks=3).n_masks == 3


@pytest.mark.parametrize("name", list_methods())
def test_every_method_scores_each_layer_finite_nonnegative_deterministic(name, small):
    model, x = small
    a = get_method(name, batch_size=5, **FAST.get(name, {})).fit(model, x)
    b = get_method(name, batch_size=5, **FAST.get(name, {})).fit(model, x)
    assert a.layer_names_ == ["features.0.0", "features.1.0", "features.2.0", "features.3.0", "fc"]
    assert a.scores_.shape == (5,) and np.isfinite(a.scores_).all() and (a.scores_ >= 0).all()
    assert np.array_equal(a.scores_, b.scores_)
    assert a.seconds_ > 0 and list(a.to_dict()) == a.layer_names_
    assert "scores_" not in a.get_params() and not model.training


@pytest.mark.parametrize("name", list_methods())
def test_every_method_rejects_empty_data(name, small):
    with pytest.raises(OhqError, match="N = 0"):
        get_method(name).fit(small[0], small[1][:0])


def test_unknown_method_is_an_error():
    with pytest.raises(OhqError, match="unknown sensitivity method 'nope'; known sensitivity methods: " + list_methods()[0]):
        get_method("nope")


def test_mqe_suffix_rerun_equals_full_masked_forward(resnet):
    model, x = resnet
    mqe = MQE(seed=3).fit(model, x)
    qm = mqe.quant_model_
    runner = SuffixRunner(graph_module(qm))
    cache = runner.run_all(x)
    assert torch.equal(runner.output(cache), qm(x))
    for i, name in enumerate(mqe.layer_names_):
        with mqe._masked(name, i, 0):
            fast, full = runner.rerun(cache, name), qm(x)
        torch.testing.assert_close(fast, full, rtol=0, atol=0)
    assert all(layer.weight_mask is None for layer in qm.layers.values())
    # the suffix sweep costs well under one forward pass per layer (residual model: about L/2)
    assert mqe.forward_equiv_ / mqe.n_masks < 0.75 * len(mqe.layer_names_)


def test_integer_suffix_rerun_is_the_fake_quant_one_bit_for_bit(resnet):
    model, x = resnet
    mqe = MQE(seed=3).fit(model, x)
    fake, codes = SuffixRunner(graph_module(mqe.quant_model_)), SuffixRunner(graph_module(mqe.quant_model_), integer=True)
    cache_f, cache_i = fake.run_all(x), codes.run_all(x)
    assert torch.equal(codes.output(cache_i), fake.output(cache_f))
    for i, name in enumerate(mqe.layer_names_):
        with mqe._masked(name, i, 0):
            assert torch.equal(codes.rerun(cache_i, name), fake.rerun(cache_f, name)), name


def test_mqe_masks_are_exact_seeded_and_averaged(small):
    model, x = small
    mqe = MQE(seed=1, n_masks=2).fit(model, x)
    m = mqe.mask("fc", 4, 0)
    assert m.shape == model.fc.weight.shape and int((m == 0).sum()) == round(0.5 * m.numel())
    assert torch.equal(m, mqe.mask("fc", 4, 0)) and not torch.equal(m, mqe.mask("fc", 4, 1))
    assert set(m.unique().tolist()) == {0.0, 1.0}
    scaled = MQE(seed=1, rescale=True).fit(model, x).mask("fc", 4, 0)
    assert set(scaled.unique().tolist()) == {0.0, 2.0} and torch.equal(scaled == 0, m == 0)
    one = MQE(seed=1, n_masks=1).fit(model, x).scores_
    other = MQE(seed=2, n_masks=1).fit(model, x).scores_
    assert not np.array_equal(one, other)
    acc = mqe.masked_top1(x, torch.zeros(len(x), dtype=torch.long))
    assert acc.shape == (5,) and ((acc >= 0) & (acc <= 1)).all()


def test_mqe_rejects_bad_alpha(small):
    with pytest.raises(OhqError, match="alpha"):
        MQE(alpha=1.5).fit(*small)


def test_layerwise_low_bits_hurt_more_than_high_bits(small):
    model, x = small
    low = Layerwise(bits=2).fit(model, x).scores_
    high = Layerwise(bits=8).fit(model, x).scores_
    assert low.sum() > 10 * high.sum()


def test_hutchinson_matches_the_exact_hessian_trace():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 5, bias=False), nn.Tanh(), nn.Linear(5, 3)).eval()
    x, y = torch.randn(20, 1, 2, 3), torch.randint(0, 3, (20,))
    est = HessianTrace(n_probes=400, bits=8, seed=0).fit(model, x, y)
    params = dict(model.named_parameters())
    for i, key in enumerate(("1.weight", "3.weight")):

        def loss(w, key=key):
            return F.cross_entropy(torch.func.functional_call(model, {**params, key: w}, (x,)), y)

        w0 = params[key].detach()
        exact = torch.autograd.functional.hessian(loss, w0).reshape(w0.numel(), -1).trace()
        assert est.traces_[i] == pytest.approx(float(exact), rel=0.15)
    assert est.scores_.shape == (2,)


def test_analyze_is_fit_of_the_named_method(small):
    m = analyze(*small, method="layerwise", bits=3)
    assert isinstance(m, Layerwise) and m.bits == 3 and len(m.scores_) == 5
