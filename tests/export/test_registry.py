"""The format registry: every registered format writes mnist_cnn (tests loop over the registry)."""

from __future__ import annotations

import pytest
from conftest import MNIST_SHAPE, needs_mnist_cnn

from ohq.errors import OhqError
from ohq.export import export, get_format, list_formats


def test_formats_listed():
    assert list_formats() and all(get_format(f).name == f for f in list_formats())
    with pytest.raises(OhqError, match="unknown export format 'tflite'; known formats: " + list_formats()[0]):
        get_format("tflite")


@needs_mnist_cnn
@pytest.mark.parametrize("fmt", list_formats())
def test_every_format_writes_and_refuses_to_overwrite(fmt, q48, tmp_path):
    out = tmp_path / f"model.{fmt}"
    facts = export(q48, fmt, out, input_shape=MNIST_SHAPE)
    assert facts["format"] == fmt and out.exists()
    assert out.is_dir() == (get_format(fmt).kind == "dir")
    with pytest.raises(OhqError, match="exists; pass --force"):
        export(q48, fmt, out, input_shape=MNIST_SHAPE)
    export(q48, fmt, out, input_shape=MNIST_SHAPE, force=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
