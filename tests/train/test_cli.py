"""`ohq train --qat` end to end, and its bad input: one line, exit 2, nothing written."""

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parents[1]))
from clitools import assert_one_line_error, run_cli  # noqa: E402

QAT = ("train", "--model", "digits_cnn", "--data", "digits", "--qat")


def _error(capsys, *args: str) -> str:
    """Run the CLI in this process (fast); assert a one-line user error and return it."""
    from ohq.cli import main

    argv = sys.argv
    sys.argv = ["ohq", *args]
    try:
        with pytest.raises(SystemExit) as exit_:
            main()
    finally:
        sys.argv = argv
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1, err
    return err[0]


def test_qat_json_reports_fp32_ptq_qat_and_writes_three_files(tmp_path):
    out = tmp_path / "q.pt"
    proc = run_cli(*QAT, "--bits", "2/4", "--epochs", "1", "--lr", "1e-3", "--train-limit", "640",
                   "--out", str(out), "--json")
    doc = json.loads(proc.stdout)
    assert set(doc) == {"top1_fp32", "top1_ptq", "top1_qat", "top1_qat_val", "epochs", "seconds", "plan"}
    assert doc["top1_qat_val"] > doc["top1_ptq"]  # QAT helps on the held-out validation split too
    assert json.loads(out.with_suffix(".json").read_text())["top1_qat_val"] == doc["top1_qat_val"]
    assert doc["top1_fp32"] > 0.95 and doc["top1_qat"] > doc["top1_ptq"]
    assert doc["plan"]["default"]["w_bits"] == 2
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["train_samples"] == 640 and card["method"] == "ste"
    assert json.loads(out.with_suffix(".plan.json").read_text())["type"] == "ohq.plan"
    assert set(torch.load(out, weights_only=True)) == {"method", "plan", "state"}
    assert not out.with_suffix(".ckpt").exists()  # finished: the checkpoint is gone
    assert_one_line_error(run_cli(*QAT, "--epochs", "1", "--out", str(out), expect=2), "--force")


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "q.pt"
    cases = [
        (("--progressive", "4,6"), "strictly decrease"),
        (("--plan", str(_plan(tmp_path))), "does not have: nope"),
        (("--method", "magic"), "unknown trainer"),
        (("--bits", "4/x"), "--bits"),
        (("--resume",), "no checkpoint"),
        (("--bn-steps", "-1"), "--bn-steps must be >= 0"),
        (("--warmup", "1.5"), "--warmup must be in [0, 1)"),
    ]
    for args, message in cases:
        assert message in _error(capsys, *QAT, "--epochs", "1", "--out", str(out), *args)
    assert "go with --qat" in _error(capsys, "train", "--model", "digits_cnn", "--data", "digits", "--bn-steps", "3",
                                     "--out", str(out))
    assert "does not exist" in _error(capsys, *QAT, "--out", str(tmp_path / "no" / "q.pt"))
    empty = tmp_path / "empty.py"
    empty.write_text("import torch\ndef net():\n    return torch.nn.Sequential(torch.nn.Flatten())\n")
    assert "no quantizable layer" in _error(capsys, "train", "--model", f"{empty}:net", "--data", "digits",
                                            "--qat", "--out", str(out))
    assert list(tmp_path.glob("q.*")) == []


def test_resume_of_another_models_checkpoint_is_refused(tmp_path, capsys):
    from ohq.data import load_dataset
    from ohq.quant import Plan
    from ohq.train import qat

    other = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(144, 10))
    out = tmp_path / "q.pt"
    qat(other, Plan.uniform(8), load_dataset("digits", "train"), epochs=1, checkpoint=out.with_suffix(".ckpt"))
    assert "another model" in _error(capsys, *QAT, "--epochs", "1", "--out", str(out), "--resume")
    assert not out.exists()


def _plan(tmp_path: Path) -> Path:
    from ohq.quant import Plan, QuantSpec

    path = tmp_path / "plan.json"
    Plan(QuantSpec(4, 4), {"nope": QuantSpec(8, 8)}).save_json(path)
    return path
