"""`ohq hw --dataflow/--fit-bram/--pr` and `ohq quantize --search bo/--sparsity/--fit-bram/--pr`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from clitools import assert_one_line_error, run_cli, run_json

from ohq.io import write_dir_atomic
from ohq.rundir import load_run

# The real CLI with xc7z020's profile stripped of its PR port (every shipped device has one).
NO_PR_CLI = ("import dataclasses; from ohq.hw import device as d; r = d._registry(); p = 'xc7z020clg400-1'; "
             "r[p] = dataclasses.replace(r[p], pr_port='none'); from ohq.cli import main; main()")


def run_without_pr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_PR_CLI, *args], capture_output=True, text=True, timeout=600)


def test_hw_dataflow_json():
    doc = run_json("hw", "--model", "digits_cnn", "--dataflow", "auto", "--pr", "--bits", "4")
    assert doc["total"]["dram_bytes"] <= doc["img2col_total"]["dram_bytes"]
    assert {c["dataflow"] for c in doc["layers"]} <= {"img2col", "row", "frame"}
    assert doc["pr"]["reconfigurations"] == 0


@pytest.mark.slow
def test_quantize_bo_writes_a_run_that_reloads_pruned(tmp_path):
    out = tmp_path / "run"
    doc = run_json("quantize", "--model", "digits_cnn", "--data", "digits", "--search", "bo", "--trials", "3",
                   "--val", "64", "--sparsity", "0.5", "--fit-bram", "--calib", "64", "--samples", "8",
                   "--out", str(out))
    cd = doc["codesign"]
    assert cd["bo"]["trials_complete"] == 3 and cd["totals"]["weight_dram_bytes"] == 0
    assert cd["totals"]["bram18k_left"] >= 0
    run = load_run(out)
    config = json.loads((out / "config.json").read_text())
    pruned = {k for k, v in config["results"]["codesign"]["sparsity"].items() if v > 0}
    modules = dict(run.model.named_modules())
    for name in pruned:
        assert (modules[name].weight == 0).any()


def _old_run(path):
    """A run directory ohq marked as its own, as an earlier `ohq quantize` leaves it."""
    write_dir_atomic(path, lambda tmp: (tmp / "config.json").write_text('{"old": true}'), kind="run")
    return (path / "config.json").read_text()


@pytest.mark.parametrize("args, fragment", [
    (["hw", "--model", "digits_cnn", "--fit-bram", "--bram18k", "2"], "smallest reachable"),
    (["hw", "--model", "digits_cnn", "--sparsity", "1.0"], "[0, 1)"),
    (["quantize", "--model", "digits_cnn", "--data", "digits", "--search", "bo", "--trials", "0"], "--trials"),
    (["quantize", "--model", "digits_cnn", "--data", "digits", "--search", "bo", "--storage",
      "sqlite:////nonexistent-dir/x.db"], "--storage"),
    (["quantize", "--model", "digits_cnn", "--data", "digits", "--size-ratio", "0.5", "--fit-bram",
      "--bram18k", "3", "--samples", "8", "--calib", "32"], "smallest reachable"),
    (["quantize", "--model", "digits_cnn", "--data", "digits", "--sparsity", "-0.1"], "[0, 1)"),
])
def test_bad_input_is_one_line(tmp_path, args, fragment):
    """One line, exit 2, and even with --force an earlier run is left as it was (the unreachable
    BRAM budget is found only after the pipeline started)."""
    out = tmp_path / "old-run"
    before = _old_run(out)
    extra = ["--out", str(out), "--force"] if args[0] == "quantize" else []
    proc = run_cli(*args, *extra, expect=2)
    assert_one_line_error(proc, fragment)
    assert (out / "config.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["old-run"]  # no temporary folder left beside it


@pytest.mark.parametrize("command", ["hw", "quantize"])
def test_pr_on_a_device_without_pr_is_one_line(tmp_path, command):
    out = tmp_path / "old-run"
    before = _old_run(out)
    args = ["hw", "--model", "digits_cnn", "--pr"] if command == "hw" else [
        "quantize", "--model", "digits_cnn", "--data", "digits", "--pr", "--out", str(out), "--force"]
    assert_one_line_error(run_without_pr(*args), "partial-reconfiguration")
    assert (out / "config.json").read_text() == before


@pytest.mark.slow
def test_quantize_ilp_with_pr_and_channel_pruning(tmp_path):
    doc = run_json("quantize", "--model", "digits_cnn", "--data", "digits", "--size-ratio", "0.5", "--pr",
                   "--sparsity", "0.25", "--prune", "channel", "--calib", "64", "--samples", "8",
                   "--out", str(tmp_path / "run"))
    cd = doc["codesign"]
    assert cd["granularity"] == "channel" and set(cd["sparsity"].values()) == {0.25}
    assert set(cd["formats"].values()) <= {"channel", "dense"}
    pr = cd["pr"]
    assert pr["latency_pr_ms"] > 0 and pr["reconfigurations"] >= 0
    assert cd["size_mib_sparse"] == pytest.approx(doc["size_mib"])
