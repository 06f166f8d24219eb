import json

from clitools import assert_one_line_error, run_cli

from ohq.data import load_dataset
from ohq.models import create_model, load_model
from ohq.train import top1


def test_training_improves_accuracy_and_writes_a_card(tmp_path):
    out = tmp_path / "cnn.pt"
    test = load_dataset("digits", "test")
    untrained = top1(create_model("small_cnn"), test)
    proc = run_cli("train", "--model", "small_cnn", "--data", "digits", "--epochs", "3", "--lr", "0.01",
                   "--out", str(out))
    assert "test top-1" in proc.stdout
    # stdout is a pipe here: one line per epoch, as it happens
    epochs = [line for line in proc.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    card = json.loads(out.with_suffix(".json").read_text())
    assert {"data", "epochs", "seed", "test_top1", "command"} <= set(card)
    assert card["command"].startswith("ohq train --model small_cnn --data digits")
    trained = top1(load_model("small_cnn", weights=out).model, test)
    assert trained == card["test_top1"] or abs(trained - card["test_top1"]) < 1e-3
    assert trained > untrained + 0.5


def test_train_refuses_to_overwrite(tmp_path):
    out = tmp_path / "cnn.pt"
    out.write_bytes(b"precious")
    proc = run_cli("train", "--model", "small_cnn", "--data", "digits", "--out", str(out), expect=2)
    assert_one_line_error(proc, "--force")
    assert out.read_bytes() == b"precious"


def test_train_bad_input():
    assert_one_line_error(run_cli("train", "--model", "small_cnn", "--data", "nope", "--out", "x.pt", expect=2),
                          "unknown data set")
    assert_one_line_error(run_cli("train", "--model", "small_cnn", "--data", "digits", "--out", "x.bin",
                                  expect=2), ".pt")
