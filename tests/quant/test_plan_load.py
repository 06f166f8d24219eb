"""`Plan.load`, the one plan reader: every form, and version-1 files written before configs."""

from __future__ import annotations

import json

import pytest

from ohq.errors import PlanError
from ohq.quant import SP2, FixedPoint, Plan, PowerOfTwo, QuantSpec, RowMix, plan_from

V1 = {"type": "ohq.plan", "version": 1, "first_last_bits": None,
      "default": {"w_bits": 8, "a_bits": 8, "scheme": "uniform", "w_observer": "auto",
                  "a_observer": "auto", "rho": 0.5},
      "layers": {"fc": {"w_bits": 4, "a_bits": 8, "scheme": "sp2", "w_observer": "auto",
                        "a_observer": "auto", "rho": 0.5}}}


@pytest.mark.parametrize("doc", [
    V1,
    {"type": "ohq.run", "version": 1, "plan": V1},
    {"fc": {"w_bits": 4, "scheme": "sp2", "a_bits": 8}, "_default": 8},
    {"layers": {"fc": [4, 8, "sp2"]}, "_default": 8},
    {"plan": {"fc": {"w_bits": 4, "a_bits": 8, "scheme": "sp2"}, "_default": 8}},
])
def test_every_form_reads_to_the_same_plan(doc, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))
    for source in (doc, path):
        plan = Plan.load(source)
        assert plan.spec_for("fc") == QuantSpec(4, 8, "sp2") and plan.spec_for("conv1") == QuantSpec(8, 8)


def test_files_written_before_the_auto_default_keep_their_observers():
    old = json.loads(json.dumps(V1).replace('"auto"', '"minmax"'))  # what ohq wrote before
    spec = Plan.load(old).spec_for("fc")
    assert (spec.w_observer, spec.a_observer) == ("minmax", "minmax")
    assert spec == QuantSpec(4, 8, "sp2", w_observer="minmax", a_observer="minmax")


def test_configs_and_regex_keys_round_trip_through_json(tmp_path):
    plan = plan_from({"_default": FixedPoint(8), "re:layer1\\..*": PowerOfTwo(4), "fc": RowMix(4, rho=0.25)})
    path = tmp_path / "p.json"
    plan.save_json(path)
    back = Plan.load(path)
    assert back == plan and back.spec_for("layer1.0.conv1").scheme == "pot"
    assert back.spec_for("fc").rho == 0.25 and back.spec_for("layer2.0.conv1") == FixedPoint(8).spec()
    assert SP2(4).spec().scheme == "sp2"


@pytest.mark.parametrize("doc, message", [
    ([1, 2], "JSON object"),
    ({"fc": "four"}, "cannot read 'four'"),
    ({"fc": {"bits": 4}}, "expected keys w_bits"),
    ({"type": "ohq.run", "version": 1}, "has no plan"),
    ({"fc": 99}, "bits"),
])
def test_malformed_plans_are_plan_errors(doc, message):
    with pytest.raises(PlanError, match=message):
        Plan.load(doc) if isinstance(doc, dict) else Plan.from_short(doc)


def test_a_regex_that_matches_no_layer_is_an_error():
    plan = plan_from({"re:nothing.*": SP2(4)})
    with pytest.raises(PlanError, match="does not have: re:nothing"):
        plan.resolve(["conv1", "fc"])
