"""`ohq export` end to end, and its bad-input cases (one line, exit code 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from clitools import assert_one_line_error, run_cli, run_json

from ohq.models.shipped import weights_dir

pytestmark = pytest.mark.skipif(not (weights_dir() / "mnist_cnn.pt").exists(), reason="mnist_cnn not trained")

MIXED = {"type": "ohq.plan", "version": 1, "default": {"w_bits": 4, "a_bits": 4}, "layers": {},
         "first_last_bits": 8}


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(MIXED))
    return path


def _run_dir(tmp_path, plan: dict | None):
    from ohq.rundir import run_config

    run = tmp_path / "run"
    run.mkdir()
    config = run_config("mnist_cnn", None, (1, 1, 28, 28), "mnist", _Plan(plan))
    if plan is None:
        del config["plan"]
    (run / "config.json").write_text(json.dumps(config))
    np.savez(run / "calib.npz", x=torch.rand(32, 1, 28, 28).numpy())
    return run


class _Plan:
    def __init__(self, doc):
        self.doc = doc

    def to_dict(self):
        return self.doc


def test_model_and_config_to_onnx_qdq_runs_in_onnxruntime(tmp_path, plan_file):
    import onnxruntime as ort

    out = tmp_path / "model.onnx"
    doc = run_json("export", "--model", "mnist_cnn", "--config", str(plan_file), "--format", "onnx-qdq",
                   "--out", str(out))
    assert doc["format"] == "onnx-qdq" and doc["out"] == str(out)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"x": np.zeros((3, 1, 28, 28), np.float32)})[0]
    assert logits.shape == (3, 10)


def test_run_dir_to_hls4ml(tmp_path):
    run = _run_dir(tmp_path, MIXED)
    out = tmp_path / "hls"
    proc = run_cli("export", "--run", str(run), "--format", "hls4ml", "--out", str(out))
    assert "wrote hls4ml" in proc.stdout
    cfg = json.loads((out / "hls4ml_config.json").read_text())
    assert cfg["LayerName"]["features_1_0"]["Precision"]["weight"].startswith("ap_int<")  # weight codes
    assert {"model.pt", "convert.py"} <= {p.name for p in out.iterdir()}
    assert "Defaults" in json.loads((out / "finn_folding.json").read_text())
    proc = run_cli("export", "--run", str(run), "--format", "hls4ml", "--out", str(out), expect=2)
    assert_one_line_error(proc, "exists; pass --force")
    run_cli("export", "--run", str(run), "--format", "hls4ml", "--out", str(out), "--force")


def test_force_never_deletes_a_users_file(tmp_path):
    run = _run_dir(tmp_path, MIXED)
    out = tmp_path / "c"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = run_cli("export", "--run", str(run), "--format", "c", "--out", str(out), "--force", expect=2)
    assert_one_line_error(proc, "keep.txt", "nothing was touched")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    (out / "keep.txt").unlink()  # an empty folder is fine; then --force replaces ohq's own export
    run_cli("export", "--run", str(run), "--format", "c", "--out", str(out))
    (out / "keep.txt").write_text("mine")  # a file added to ohq's export stops --force too
    proc = run_cli("export", "--run", str(run), "--format", "c", "--out", str(out), "--force", expect=2)
    assert_one_line_error(proc, "keep.txt")
    assert (out / "keep.txt").read_text() == "mine"


def test_unknown_format(tmp_path):
    proc = run_cli("export", "--run", str(tmp_path), "--format", "tflite", "--out", str(tmp_path / "x"), expect=2)
    assert_one_line_error(proc, "unknown export format 'tflite'", "onnx-qdq")


def test_run_dir_without_plan(tmp_path):
    run = _run_dir(tmp_path, None)
    proc = run_cli("export", "--run", str(run), "--format", "c", "--out", str(tmp_path / "c"), expect=2)
    assert_one_line_error(proc, "has no plan")


def test_scheme_the_format_cannot_express(tmp_path):
    plan = dict(MIXED, layers={"features.2.0": {"w_bits": 4, "a_bits": 4, "scheme": "sp2"}})
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    proc = run_cli("export", "--model", "mnist_cnn", "--config", str(path), "--format", "qonnx",
                   "--out", str(tmp_path / "m.onnx"), expect=2)
    assert_one_line_error(proc, "qonnx cannot express layer 'features.2.0'", "'sp2'", "uniform grid")
    assert not (tmp_path / "m.onnx").exists()


def test_needs_run_or_model(tmp_path, plan_file):
    proc = run_cli("export", "--format", "c", "--out", str(tmp_path / "c"), expect=2)
    assert_one_line_error(proc, "--run DIR or --model M --config PLAN")
    proc = run_cli("export", "--model", "mnist_cnn", "--format", "c", "--out", str(tmp_path / "c"), expect=2)
    assert_one_line_error(proc, "--model needs --config")


def test_hls4ml_refuses_what_it_cannot_express(tmp_path):
    """sp2 weights, and a residual add: one line naming the layer and what to use instead."""
    sp2 = dict(MIXED, layers={"features.1.0": {"w_bits": 4, "a_bits": 4, "scheme": "sp2"}})
    (tmp_path / "sp2.json").write_text(json.dumps(sp2))
    proc = run_cli("export", "--model", "mnist_cnn", "--config", str(tmp_path / "sp2.json"), "--calib", "32",
                   "--format", "hls4ml", "--out", str(tmp_path / "h1"), expect=2)
    assert_one_line_error(proc, "hls4ml cannot express layer 'features.1.0'", "sp2", "use scheme uniform")
    if not (weights_dir() / "mnist_resnet.pt").exists():
        return
    (tmp_path / "w8.json").write_text(json.dumps(dict(MIXED, default={"w_bits": 8, "a_bits": 8})))
    proc = run_cli("export", "--model", "mnist_resnet", "--config", str(tmp_path / "w8.json"), "--calib", "32",
                   "--format", "hls4ml", "--out", str(tmp_path / "h2"), expect=2)
    assert_one_line_error(proc, "hls4ml export cannot express 'add", "onnx-qdq or qonnx")
    assert not (tmp_path / "h1").exists() and not (tmp_path / "h2").exists()
