"""QuantSpec / Plan: validation, JSON round trip, layer names, first/last policy."""

from __future__ import annotations

import json

import pytest
import torch

from ohq.errors import OhqError
from ohq.models import create_model
from ohq.quant import Plan, QuantSpec, model_size_mib, quantize


def test_spec_defaults_and_validation():
    s = QuantSpec()
    assert (s.w_bits, s.a_bits, s.scheme) == (8, 8, "uniform")
    assert QuantSpec(None, None).is_float
    with pytest.raises(OhqError, match="unknown scheme"):
        QuantSpec(scheme="nope")
    with pytest.raises(OhqError, match="activations cannot have 1 bits"):
        QuantSpec(a_bits=1)
    with pytest.raises(OhqError, match="unknown observer"):
        QuantSpec(w_observer="max")
    with pytest.raises(OhqError, match="rho"):
        QuantSpec(scheme="rowmix", rho=1.5)


def test_plan_json_round_trip(tmp_path):
    plan = Plan(QuantSpec(4, 8, "sp2", w_observer="mse"),
                {"fc": QuantSpec(8, 8), "features.0": None, "conv1": QuantSpec(4, 4, "rowmix", rho=0.25)},
                first_last_bits=8)
    path = tmp_path / "plan.json"
    plan.save_json(path)
    data = json.loads(path.read_text())
    assert data["type"] == "ohq.plan" and data["version"] == 1
    assert Plan.load_json(path) == plan
    assert Plan.from_dict(plan.to_dict()) == plan
    assert Plan.from_dict({"type": "ohq.plan", "version": 1, "default": None}).default is None


@pytest.mark.parametrize("doc,msg", [
    ({"type": "other", "version": 1}, "not an ohq plan"),
    ({"type": "ohq.plan", "version": 7}, "unsupported plan version"),
    ({"type": "ohq.plan", "version": 1, "defaults": {}}, "unknown key"),
    ({"type": "ohq.plan", "version": 1, "default": {"w_bit": 4}}, "unknown key"),
    ({"type": "ohq.plan", "version": 1, "default": {"w_bits": "4"}}, "w_bits must be an integer"),
    ({"type": "ohq.plan", "version": 1, "default": {"w_bits": 1, "scheme": "sp2"}}, "cannot have 1 bits"),
    ({"type": "ohq.plan", "version": 1, "layers": []}, "layers"),
    ([], "JSON object"),
])
def test_plan_errors(doc, msg):
    with pytest.raises(OhqError, match=msg):
        Plan.from_dict(doc)


def test_plan_file_errors(tmp_path):
    with pytest.raises(OhqError, match="does not exist"):
        Plan.load_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(OhqError, match="not valid JSON"):
        Plan.load_json(bad)


def test_unknown_layer_name_is_an_error():
    model = create_model("small_cnn", num_classes=10, in_channels=1)
    plan = Plan(QuantSpec(), {"no.such.layer": QuantSpec(4)})
    with pytest.raises(OhqError, match="no.such.layer"):
        quantize(model, plan, torch.randn(2, 1, 16, 16))


def test_first_last_policy_and_resolve():
    names = ["a", "b", "c", "d"]
    plan = Plan(QuantSpec(4, 4, "pot"), {"d": QuantSpec(2, 8)}, first_last_bits=8)
    specs = plan.resolve(names)
    assert specs["a"] == QuantSpec(8, 8, "uniform")  # policy
    assert specs["b"] == QuantSpec(4, 4, "pot")  # default
    assert specs["d"] == QuantSpec(2, 8)  # named explicitly: the plan wins over the policy
    with pytest.raises(OhqError):
        Plan(first_last_bits=1)


def test_model_size_mib():
    model = create_model("small_cnn", num_classes=10, in_channels=1)
    fp = model_size_mib(model)
    w8 = model_size_mib(model, Plan(QuantSpec(8)))
    w4 = model_size_mib(model, Plan(QuantSpec(4)))
    assert fp > w8 > w4 > 0
    q = quantize(model, Plan(QuantSpec(4)), torch.randn(4, 1, 16, 16))
    assert q.size_mib() == pytest.approx(w4)
