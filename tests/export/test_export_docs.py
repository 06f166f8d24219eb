"""docs/export.md's examples run: its ```python blocks execute in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import needs_mnist_cnn

DOC = Path(__file__).resolve().parents[2] / "docs" / "export.md"


@needs_mnist_cnn
def test_export_doc_examples_run(tmp_path, monkeypatch):
    pytest.importorskip("hls4ml")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 4  # onnx-qdq, qonnx, hls4ml, FINN
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), ns)  # noqa: S102 (our own documentation)
