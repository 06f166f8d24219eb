"""A corpus of real bad inputs, each handed to the real CLI entry point: every one must exit 2 with
at most three lines on stderr, no traceback, and no file changed (run in-process, so the corpus
costs seconds, not a torch import per case)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ohq.cli import main

MODELS = '''
import torch
from torch import nn

def net():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

def not_a_module():
    return "a string"

def broken():
    raise RuntimeError("the builder failed")
'''


class Payload:
    """A pickled object whose unpickling would run code: weights_only loading must refuse it."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _build(root: Path) -> None:
    (root / "models.py").write_text(MODELS)
    (root / "syntax.py").write_text("def net(:\n")
    (root / "badimport.py").write_text("import no_such_module_for_ohq\n")
    (root / "garbage.pt").write_bytes(b"\x00\x01not a checkpoint" * 10)
    (root / "empty.pt").write_bytes(b"")
    torch.save({"payload": Payload()}, root / "pickled.pt")
    torch.save([1, 2, 3], root / "list.pt")
    torch.save({"0.weight": torch.zeros(3, 3)}, root / "wrong.pt")
    nan_state = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)).state_dict()
    nan_state["1.weight"][0, 0] = float("nan")
    torch.save(nan_state, root / "nan_weights.pt")
    rng = np.random.default_rng(0)
    x = rng.random((16, 1, 8, 8), dtype=np.float32)
    np.savez(root / "labels12.npz", x=x, y=np.full(16, 12))
    np.savez(root / "nan.npz", x=np.full_like(x, np.nan), y=np.zeros(16, int))
    np.savez(root / "noy.npz", x=x)
    np.savez(root / "rgb.npz", x=rng.random((16, 3, 8, 8), dtype=np.float32), y=np.zeros(16, int))
    np.savez(root / "floaty.npz", x=x, y=np.full(16, 0.5))
    (root / "garbage.npz").write_bytes(b"PK\x03\x04 but not really a zip")
    (root / "plan_garbage.json").write_text("{not json")
    (root / "plan_list.json").write_text("[4, 8]")
    (root / "plan_word.json").write_text(json.dumps({"fc": "four", "_default": 8}))
    (root / "plan_v9.json").write_text(json.dumps({"type": "ohq.plan", "version": 9}))
    (root / "plan_layer.json").write_text(json.dumps({"no_such_layer": 4, "_default": 8}))
    (root / "plan_bits.json").write_text(json.dumps({"_default": 99}))
    (root / "exists.txt").write_text("user data\n")
    (root / "userdir").mkdir()
    (root / "userdir" / "notes.txt").write_text("mine\n")
    (root / "run_empty").mkdir()
    (root / "run_badjson").mkdir()
    (root / "run_badjson" / "config.json").write_text("{oops")
    (root / "run_type").mkdir()
    (root / "run_type" / "config.json").write_text(json.dumps({"type": "something.else"}))
    (root / "run_nocalib").mkdir()
    (root / "run_nocalib" / "config.json").write_text(json.dumps(
        {"type": "ohq.run", "version": 1, "model": "digits_cnn", "weights": None, "input_shape": [1, 1, 8, 8],
         "data": "digits", "plan": {"type": "ohq.plan", "version": 1, "default": None, "layers": {}}}))


M = ("--model", "models.py:net", "--input", "1,1,8,8")
Q = ("quantize", "--model", "digits_cnn", "--data", "digits", "--sensitivity", "layerwise", "--samples", "4",
     "--calib", "16")
CASES = {
    # model files that do not import or do not return a module
    "model file missing": ("graph", "--model", "nope.py:net"),
    "model syntax error": ("graph", "--model", "syntax.py:net"),
    "model import error": ("graph", "--model", "badimport.py:net"),
    "model no such function": ("graph", "--model", "models.py:missing"),
    "model returns a string": ("graph", "--model", "models.py:not_a_module"),
    "model builder raises": ("graph", "--model", "models.py:broken"),
    "unknown model name": ("graph", "--model", "resnet_9000"),
    "model spec without function": ("graph", "--model", "models.py:"),
    "model package missing": ("graph", "--model", "no_such_pkg.mod:fn"),
    # checkpoints
    "weights missing": ("graph", *M, "--weights", "nope.pt"),
    "weights garbage bytes": ("graph", *M, "--weights", "garbage.pt"),
    "weights empty file": ("graph", *M, "--weights", "empty.pt"),
    "weights pickled code": ("graph", *M, "--weights", "pickled.pt"),
    "weights not a state dict": ("graph", *M, "--weights", "list.pt"),
    "weights of another model": ("graph", *M, "--weights", "wrong.pt"),
    "weights with NaN": ("eval", "--model", "models.py:net", "--weights", "nan_weights.pt", "--data", "labels12.npz"),
    # shapes
    "input shape wrong for model": ("graph", "--model", "models.py:net", "--input", "1,3,8,8"),
    "input shape not numbers": ("graph", "--model", "digits_cnn", "--input", "one,two"),
    "input shape zero": ("graph", "--model", "digits_cnn", "--input", "0,1,8,8"),
    # data
    "unknown data set": ("eval", "--model", "digits_cnn", "--data", "imagenet_full"),
    "npz labels beyond classes": ("eval", "--model", "models.py:net", "--data", "labels12.npz"),
    "npz NaN inputs": ("eval", "--model", "models.py:net", "--data", "nan.npz"),
    "npz without labels": ("eval", "--model", "models.py:net", "--data", "noy.npz"),
    "npz wrong channels": ("eval", "--model", "models.py:net", "--data", "rgb.npz"),
    "npz float labels": ("eval", "--model", "models.py:net", "--data", "floaty.npz"),
    "npz garbage bytes": ("eval", "--model", "models.py:net", "--data", "garbage.npz"),
    "npz missing": ("eval", "--model", "models.py:net", "--data", "nope.npz"),
    # budgets
    "no budget": (*Q, "--objective", "min-sensitivity", "--out", "r1"),
    "two size budgets": (*Q, "--size-mib", "1", "--size-ratio", "0.5", "--out", "r1"),
    "size ratio above one": (*Q, "--size-ratio", "1.5", "--out", "r1"),
    "impossible size": (*Q, "--size-mib", "0.000001", "--out", "r1"),
    "impossible latency": (*Q, "--objective", "min-sensitivity", "--latency-ms", "0.0000001", "--out", "r1"),
    "unknown objective": (*Q, "--size-ratio", "0.5", "--objective", "nope", "--out", "r1"),
    "repeated bits": (*Q, "--size-ratio", "0.5", "--bits", "4,4", "--out", "r1"),
    "bits not numbers": (*Q, "--size-ratio", "0.5", "--bits", "four", "--out", "r1"),
    # outputs
    "run dir unwritable": (*Q, "--size-ratio", "0.5", "--out", "/proc/ohq-run"),
    "run dir holds user files": (*Q, "--size-ratio", "0.5", "--out", "userdir"),
    "run dir is a file": (*Q, "--size-ratio", "0.5", "--out", "exists.txt", "--force"),
    "distill output unwritable": ("distill", "--model", "digits_cnn", "--out", "/proc/ohq.npz"),
    "distill output exists": ("distill", "--model", "digits_cnn", "--out", "exists.txt"),
    # plans
    "plan not json": ("hw", "--model", "digits_cnn", "--config", "plan_garbage.json"),
    "plan missing": ("hw", "--model", "digits_cnn", "--config", "nope.json"),
    "plan a list": ("hw", "--model", "digits_cnn", "--config", "plan_list.json"),
    "plan bits a word": ("hw", "--model", "digits_cnn", "--config", "plan_word.json"),
    "plan version 9": ("hw", "--model", "digits_cnn", "--config", "plan_v9.json"),
    "plan unknown layer": ("hw", "--model", "digits_cnn", "--config", "plan_layer.json"),
    "plan impossible bits": ("hw", "--model", "digits_cnn", "--config", "plan_bits.json"),
    "hw bits impossible": ("hw", "--model", "digits_cnn", "--bits", "99"),
    # run directories
    "run dir missing": ("export", "--format", "c", "--out", "o", "--run", "nope"),
    "run dir empty": ("export", "--format", "c", "--out", "o", "--run", "run_empty"),
    "run config not json": ("export", "--format", "c", "--out", "o", "--run", "run_badjson"),
    "run config wrong type": ("export", "--format", "c", "--out", "o", "--run", "run_type"),
    "run without calibration": ("export", "--format", "c", "--out", "o", "--run", "run_nocalib"),
    # devices and probes
    "unknown device": ("hw", "--model", "digits_cnn", "--device", "xc9z999"),
    "unknown probe": ("hw", "--model", "digits_cnn", "--probe", "gpu"),
    "probe file missing": ("hw", "--model", "digits_cnn", "--probe", "file", "--probe-file", "nope.csv"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_inputs")
    _build(root)
    return root


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def test_the_corpus_is_large():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_exits_2_with_one_short_message(name, corpus, monkeypatch, capsys):
    monkeypatch.chdir(corpus)
    monkeypatch.setattr(sys, "argv", ["ohq", *CASES[name]])
    before = _snapshot(corpus)
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert exit_info.value.code == 2, err
    assert 1 <= len(lines) <= 3 and "Traceback" not in err and "ohq bug" not in err, err
    assert _snapshot(corpus) == before, "a bad input changed files"
