"""The Python examples of docs/train.md run."""

import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "train.md"


def test_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})
