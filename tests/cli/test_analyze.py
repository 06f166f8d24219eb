"""`ohq distill` and `ohq analyze` end to end: files, JSON keys, one-line errors with exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clitools import assert_one_line_error, run_cli, run_json  # noqa: E402

NO_BN = """
from torch import nn

def net():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10))
"""
SMALL = ("--model", "small_cnn", "--input", "1,1,8,8")


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the subprocesses share two cores with others


@pytest.fixture
def no_bn_model(tmp_path) -> str:
    path = tmp_path / "nobn.py"
    path.write_text(NO_BN)
    return f"{path}:net"


def test_distill_writes_nchw_npz(tmp_path):
    out = tmp_path / "d.npz"
    doc = run_json("distill", *SMALL, "--n", "5", "--steps", "10", "--batch", "4", "--out", str(out))
    assert doc["shape"] == [5, 1, 8, 8] and doc["loss_after"] < doc["loss_before"]
    with np.load(out) as npz:
        assert npz[npz.files[0]].shape == (5, 1, 8, 8)
    assert_one_line_error(
        run_cli("distill", *SMALL, "--n", "5", "--out", str(out), expect=2), "exists"
    )


def test_analyze_json_keys_on_real_data(tmp_path):
    plot = tmp_path / "s.png"
    doc = run_json(
        "analyze", *SMALL, "--data", "digits", "--samples", "16", "--test-samples", "50",
        "--plot", str(plot),
    )
    assert {"model", "method", "samples", "seconds", "layers"} <= set(doc)
    assert doc["method"] == "mqe" and doc["samples"] == 16 and len(doc["layers"]) == 5
    for layer in doc["layers"]:
        assert set(layer) == {"name", "sensitivity", "masked_top1"}
        assert layer["sensitivity"] >= 0 and 0 <= layer["masked_top1"] <= 1
    assert plot.stat().st_size > 0


def test_analyze_distilled_file_has_no_top1(tmp_path):
    out = tmp_path / "d.npz"
    run_cli("distill", *SMALL, "--n", "6", "--steps", "5", "--out", str(out))
    doc = run_json("analyze", *SMALL, "--distilled", str(out), "--method", "hessian", "--samples", "6")
    assert doc["method"] == "hessian" and doc["samples"] == 6
    assert all(layer["masked_top1"] is None for layer in doc["layers"])


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("--samples", "0"), "--samples"),
        (("--method", "nope"), "unknown sensitivity method"),
        (("--data", "digits", "--distilled", "x.npz"), "either --data or --distilled"),
        (("--data", "digits", "--bits", "1"), "bits"),
    ],
)
def test_analyze_bad_input_is_one_line_exit_2(args, fragment):
    assert_one_line_error(run_cli("analyze", *SMALL, *args, expect=2), fragment)


def test_no_batchnorm_and_no_data_is_one_line_exit_2(no_bn_model, tmp_path):
    shape = ("--input", "1,1,8,8")
    proc = run_cli("analyze", "--model", no_bn_model, *shape, expect=2)
    assert_one_line_error(proc, "no BatchNorm", "--data")
    proc = run_cli("distill", "--model", no_bn_model, *shape, "--out", str(tmp_path / "d.npz"), expect=2)
    assert_one_line_error(proc, "no BatchNorm", "--data")
    assert_one_line_error(
        run_cli("distill", *SMALL, "--n", "0", "--out", str(tmp_path / "e.npz"), expect=2), "--n"
    )


def test_masked_top1_is_opt_in():
    doc = run_json("analyze", *SMALL, "--data", "digits", "--samples", "8", "--method", "layerwise")
    assert all(layer["masked_top1"] is None for layer in doc["layers"])
