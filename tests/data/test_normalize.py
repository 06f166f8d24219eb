"""The model's input transform: every loader applies it, so MNIST digits as PNGs score as MNIST."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from clitools import run_json

from ohq.data import Normalize, load_dataset, mismatch_warning
from ohq.errors import OhqError
from ohq.models import load_model
from ohq.train import top1


@pytest.fixture(scope="module")
def mnist_pngs(tmp_path_factory):
    """The first 300 MNIST test digits as PNG files, one folder per class."""
    from PIL import Image

    from ohq.data import datasets

    root = tmp_path_factory.mktemp("pngs")
    x, y, splits = datasets._mnist()
    idx = splits["test"][:300]
    for i in idx:
        folder = root / str(int(y[i]))
        folder.mkdir(exist_ok=True)
        Image.fromarray(np.round(x[i, 0] * 255).astype(np.uint8)).save(folder / f"{i:05d}.png")
    return root


def test_parse_and_apply():
    assert Normalize.parse("0.5,0.25") == Normalize((0.5,), (0.25,))
    rgb = Normalize.parse("0.4,0.5,0.6,0.2,0.2,0.2")
    out = rgb.apply(np.full((1, 3, 2, 2), 0.5, np.float32))
    assert out[0, :, 0, 0].tolist() == pytest.approx([0.5, 0.0, -0.5])
    for bad in ("0.5", "a,b", "0.5,0", "1,2,3"):
        with pytest.raises(OhqError, match="--normalize"):
            Normalize.parse(bad)


def test_shipped_cards_record_their_transform():
    assert load_model("mnist_cnn").normalize == Normalize((0.1307,), (0.3081,))
    assert load_model("digits_cnn").normalize == Normalize((0.5,), (0.5,))
    assert load_model("mnist_cnn", normalize="0.5,0.5").normalize == Normalize((0.5,), (0.5,))


def test_png_folder_gets_the_models_transform(mnist_pngs):
    loaded = load_model("mnist_cnn")
    folder = load_dataset(str(mnist_pngs), "train", loaded.normalize)
    mnist = load_dataset("mnist", "test", loaded.normalize)
    # Each PNG gives exactly the tensor MNIST itself gives for that digit (the first 300 test digits).
    same = folder.x[:20].flatten(1)[:, None].eq(mnist.x[:300].flatten(1)[None]).all(2).any(1)
    assert bool(same.all())
    acc = top1(loaded.model, folder)
    assert acc > 0.95, acc  # was 35 % when folders were normalised as (x − 0.5)/0.5
    assert mismatch_warning(acc, 10, 0.9936) is None
    wrong = load_dataset(str(mnist_pngs), "train", Normalize.parse("0.5,0.5"))
    bad = top1(loaded.model, wrong)
    assert bad < acc - 0.2
    assert "may not match the model" in mismatch_warning(bad, 10, 0.9936)


def test_npz_pixels_and_normalised_arrays(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    pixels = rng.integers(0, 256, (40, 1, 4, 4)).astype(np.uint8)
    np.savez(tmp_path / "u8.npz", x=pixels, y=y)
    np.savez(tmp_path / "f01.npz", x=pixels / np.float32(255), y=y)
    np.savez(tmp_path / "ready.npz", x=rng.normal(size=(40, 1, 4, 4)).astype(np.float32), y=y)
    norm = Normalize.parse("0.1307,0.3081")
    a = load_dataset(str(tmp_path / "u8.npz"), "test", norm).x
    b = load_dataset(str(tmp_path / "f01.npz"), "test", norm).x
    assert torch.allclose(a, b, atol=1e-6) and a.min() < 0
    ready = load_dataset(str(tmp_path / "ready.npz"), "test", norm)
    assert torch.equal(ready.x, load_dataset(str(tmp_path / "ready.npz"), "test").x)  # used as it is


def test_cli_eval_on_pngs_and_a_wrong_transform_warns(mnist_pngs):
    doc = run_json("eval", "--model", "mnist_cnn", "--data", str(mnist_pngs), "--calib", "64",
                   "--engine", "integer")
    assert doc["top1_fp32"] > 0.95 and doc["warnings"] == []
    doc = run_json("eval", "--model", "mnist_cnn", "--data", str(mnist_pngs), "--calib", "64",
                   "--engine", "integer", "--normalize", "0.5,0.5")
    assert doc["top1_fp32"] < 0.8 and "may not match the model" in doc["warnings"][0]
