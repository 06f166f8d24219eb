"""QAT on digits: every method × scheme gives a QuantModel that is bit-exact with its integer
engine, improves on PTQ where PTQ breaks, round-trips through its saved form and exports."""

import numpy as np
import pytest
import torch

from ohq.errors import OhqError
from ohq.quant import Plan, QuantModel, QuantSpec, list_schemes, quantize
from ohq.train import list_methods, qat, top1
from ohq.train.api import calibration, load_trained


@pytest.mark.parametrize("method", list_methods())
@pytest.mark.parametrize("scheme", list_schemes())
def test_every_method_and_scheme_stays_bit_exact(method, scheme, cnn, digits):
    train, test = digits
    plan = Plan.uniform(3, 4, scheme)
    qm = qat(cnn, plan, train, epochs=0.2, method=method, lr=1e-3)
    assert isinstance(qm, QuantModel)
    ptq = quantize(cnn, plan, calibration(train))
    moved = [not torch.equal(a.weight, b.weight) for a, b in zip(qm.layers.values(), ptq.layers.values(), strict=True)]
    assert any(moved)
    with torch.no_grad():
        assert torch.equal(qm(test.x), qm.to_integer()(test.x))


def test_qat_recovers_what_ptq_breaks(cnn, digits):
    train, test = digits
    plan = Plan.uniform(2, 4)
    ptq = top1(quantize(cnn, plan, calibration(train)).to_integer(), test)
    acc = top1(qat(cnn, plan, train, epochs=2, lr=1e-3).to_integer(), test)
    assert ptq < 0.4 and acc > ptq + 0.4


def test_saved_result_reloads_to_the_same_model(cnn, digits, tmp_path):
    train, test = digits
    qm = qat(cnn, Plan.uniform(4, 4), train, epochs=0.2, method="lsq")
    torch.save(qm.qat_state_, tmp_path / "q.pt")
    doc = torch.load(tmp_path / "q.pt", weights_only=True)
    again = load_trained(cnn, doc, test.x[:2])
    with torch.no_grad():
        assert torch.equal(again.to_integer()(test.x), qm.to_integer()(test.x))


def test_qat_model_exports_and_onnxruntime_agrees(cnn, digits):
    from ohq.export.check import ort_logits
    from ohq.export.onnx_qdq import to_qdq

    train, test = digits
    qm = qat(cnn, Plan(QuantSpec(4, 8), first_last_bits=8), train, epochs=0.2, method="lsq")
    with torch.no_grad():
        ref = qm.to_integer()(test.x)
    got = ort_logits(to_qdq(qm, (1, 1, 8, 8)), test.x)
    agree = np.mean(np.asarray(got).argmax(1) == ref.numpy().argmax(1))
    assert agree >= 0.99


def test_bad_input(cnn, digits):
    train, _ = digits
    with pytest.raises(OhqError, match="does not have: nope"):
        qat(cnn, Plan(QuantSpec(4, 4), {"nope": QuantSpec(8, 8)}), train, epochs=0.1)
    with pytest.raises(OhqError, match="no quantizable layer"):
        qat(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.ReLU()), Plan.uniform(4), train, epochs=0.1)
    with pytest.raises(OhqError, match="strictly decrease"):
        qat(cnn, Plan.uniform(4), train, epochs=0.1, progressive=[4, 6])
    with pytest.raises(OhqError, match="unknown trainer"):
        qat(cnn, Plan.uniform(4), train, epochs=0.1, method="magic")
