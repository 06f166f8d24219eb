"""`ohq eval` end to end on digits, and its bad-input cases (one line, exit code 2)."""

from __future__ import annotations

import json

import pytest
import torch
from clitools import assert_one_line_error, run_cli, run_json

from ohq.models.shipped import build_shipped, weights_dir

pytestmark = pytest.mark.skipif(not (weights_dir() / "digits_cnn.pt").exists(), reason="digits_cnn not trained")


def test_eval_json_bitexact_on_digits():
    doc = run_json("eval", "--model", "digits_cnn", "--data", "digits", "--bits", "4", "--scheme", "sp2",
                   "--calib", "128")
    keys = {"model", "data", "top1_fp32", "top1_quant", "top1_integer", "size_mib", "bitexact",
            "max_abs_diff", "layers"}
    assert keys <= set(doc)
    assert doc["bitexact"] is True and doc["max_abs_diff"] == 0.0
    assert doc["top1_quant"] == doc["top1_integer"]
    assert doc["top1_fp32"] > 0.9 and doc["top1_quant"] > 0.85
    assert all(layer["w_bits"] == 4 and layer["scheme"] == "sp2" for layer in doc["layers"])
    assert {"name", "w_bits", "a_bits", "scheme"} == set(doc["layers"][0])


def test_eval_config_file_fake_engine(tmp_path):
    plan = {"type": "ohq.plan", "version": 1, "default": {"w_bits": 8, "a_bits": 8},
            "layers": {"fc": {"w_bits": 4, "a_bits": 8, "scheme": "pot"}}}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    doc = run_json("eval", "--model", "digits_cnn", "--data", "digits", "--config", str(path),
                   "--engine", "fake")
    assert doc["top1_integer"] is None and doc["bitexact"] is None
    fc = next(layer for layer in doc["layers"] if layer["name"] == "fc")
    assert (fc["w_bits"], fc["scheme"]) == (4, "pot")


@pytest.mark.parametrize("args,fragment", [
    (["--scheme", "int5"], "unknown scheme 'int5'"),
    (["--scheme", "sp2", "--bits", "1"], "cannot have 1 bits"),
    (["--calib", "0"], "empty calibration data"),
])
def test_eval_bad_options(args, fragment):
    proc = run_cli("eval", "--model", "digits_cnn", "--data", "digits", *args, expect=2)
    assert_one_line_error(proc, fragment)


def test_eval_bad_plan_and_weights(tmp_path):
    plan = {"type": "ohq.plan", "version": 1, "default": {"w_bits": 8}, "layers": {"no_such": {"w_bits": 4}}}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    proc = run_cli("eval", "--model", "digits_cnn", "--data", "digits", "--config", str(path), expect=2)
    assert_one_line_error(proc, "no_such")
    state = build_shipped("digits_cnn").state_dict()
    key = next(k for k in state if k.endswith("weight") and state[k].dim() == 4)
    state[key][0, 0, 0, 0] = float("nan")
    wpath = tmp_path / "nan.pt"
    torch.save(state, wpath)
    proc = run_cli("eval", "--model", "digits_cnn", "--weights", str(wpath), "--data", "digits", expect=2)
    assert_one_line_error(proc, "NaN or Inf")
