"""BatchNorm trained on batch statistics, then frozen and folded (`bn_steps`), against folding up front."""

import pytest
import torch

from ohq.errors import OhqError
from ohq.quant import Plan, fold_bn, quantize
from ohq.train import qat
from ohq.train.api import calibration, load_trained
from ohq.train.bn import BnTrainLayer, bn_pairs
from ohq.train.methods import get_method
from ohq.train.qat import QatNet, TrainLayer


def test_unfolded_pair_with_frozen_statistics_is_the_folded_layer(cnn, digits):
    train, _ = digits
    pairs = bn_pairs(cnn)
    assert pairs and all(isinstance(bn, torch.nn.BatchNorm2d) for _, bn in pairs.values())
    qm = quantize(fold_bn(cnn), Plan.uniform(4), calibration(train))
    unfolded = QatNet(qm, get_method("ste"), bn=pairs, bn_steps=3).eval()
    folded = QatNet(qm, get_method("ste")).eval()
    assert sum(isinstance(m, BnTrainLayer) for m in unfolded.modules()) == len(pairs)
    x = train.x[:32]
    with torch.no_grad():
        torch.testing.assert_close(unfolded(x), folded(x), rtol=0, atol=1e-5)
    unfolded.fold_bn()
    assert not any(isinstance(m, BnTrainLayer) for m in unfolded.modules())
    assert sum(isinstance(m, TrainLayer) for m in unfolded.modules()) == len(qm.specs)


def test_bn_steps_trains_batch_statistics_and_stays_bit_exact(cnn, digits):
    train, test = digits
    plan = Plan.uniform(3, 4)
    qm = qat(cnn, plan, train, epochs=0.5, bn_steps=3)  # frozen after 3 of 5 steps
    ref = qat(cnn, plan, train, epochs=0.5)
    with torch.no_grad():
        assert torch.equal(qm(test.x), qm.to_integer()(test.x))
        assert not torch.equal(qm(test.x), ref(test.x))
        again = load_trained(cnn, qm.qat_state_, train.x[:4])  # saved in the folded form
        assert torch.equal(again(test.x), qm(test.x))


def test_bn_steps_bad_input(cnn, digits):
    train, _ = digits
    with pytest.raises(OhqError, match="bn-steps"):
        qat(cnn, Plan.uniform(4), train, epochs=0.2, bn_steps=-1)
    start = quantize(cnn, Plan.uniform(4), calibration(train))
    with pytest.raises(OhqError, match="bn-steps"):
        qat(start, Plan.uniform(4), train, epochs=0.2, bn_steps=2)


def test_bn_steps_keeps_pruned_zeros(cnn, digits):
    from ohq.quant.prune import prune_model

    train, test = digits
    names = [n for n, m in cnn.named_modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    masks = {n: m.mask for n, m in prune_model(cnn, dict.fromkeys(names, 0.5))[1].items()}
    qm = qat(cnn, Plan.uniform(4, 8), train, epochs=0.3, masks=masks, bn_steps=2)
    for name, layer in qm.layers.items():
        assert torch.all(layer.weight[~masks[name]] == 0)
    with torch.no_grad():
        assert torch.equal(qm(test.x), qm.to_integer()(test.x))
